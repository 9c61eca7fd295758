"""``python -m ccsec.drill ARGS``: an alias of ``ccsec drill ARGS`` (the command lives in ccsec.commands.drill)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """``ccsec drill`` with ``argv`` (default: this process's arguments)."""
    from ccsec.cli import main as ccsec_main

    return ccsec_main(["drill", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
