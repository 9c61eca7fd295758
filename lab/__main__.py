"""``python -m ccsec.lab ACTION ...``: an alias of ``ccsec lab ACTION ...`` (same options, same exit codes)."""

from __future__ import annotations

import sys

from ccsec.cli import main

if __name__ == "__main__":
    sys.exit(main(["lab", *sys.argv[1:]]))
