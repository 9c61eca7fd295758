"""``python -m backup`` → :func:`backup.cli.main`."""

import sys

from backup.cli import main

sys.exit(main())
