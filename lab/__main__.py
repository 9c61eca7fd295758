"""``python -m lab up ROLE... [--stack S] | down | status`` — a thin wrapper for development."""

from __future__ import annotations

import argparse
import sys

from ccsec.lab.api import LabError, down, status, up


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m lab")
    sub = p.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="boot one VM per role")
    p_up.add_argument("roles", nargs="+")
    p_up.add_argument("--stack", default="lab")
    sub.add_parser("down", help="stop VMs and remove lab files")
    sub.add_parser("status", help="print the lab state as JSON")
    args = p.parse_args(argv)
    if args.cmd == "up":
        try:
            up(args.roles, stack=args.stack, progress=print)
        except LabError as exc:
            print(f"lab up failed: {exc}", file=sys.stderr)
            return 1
    elif args.cmd == "down":
        down(progress=print)
    else:
        lab = status()
        print(lab.to_json() if lab else "{}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
