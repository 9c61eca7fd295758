"""``python -m backup`` → :func:`backup.cli.main`."""

import sys

from .cli import main

sys.exit(main())
