"""The child side of `ccsec plan`: run one Pulumi program under the mock engine and stream what it registered.

``ccsec plan`` never runs the program under review in its own process: a program could end with
``raise SystemExit(0)``, replace the evaluator, or print into the JSON on stdout. Here, in a child,
every registration is written as one JSON line to a private pipe (the fd number comes on the command
line); the program's own stdout and stderr stay the program's. Only after the program and the engine
finished does a ``done`` line follow, so a parent that sees no ``done`` knows the run did not complete.

Limit, documented: the child runs the program's code, so a program written to forge this channel could
still do so; the guarantee is that evaluation and output happen in the parent, and that early exits,
exceptions and stray prints cannot produce a clean verdict.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from ccsec.mockrun import ProgramError, run_in_this_process
from ccsec.policies.resources import RegisteredResource


def _plain(value: Any) -> Any:
    """JSON for what the engine can carry: assets and other objects become a typed marker, not a crash."""
    return {"__unserialisable__": type(value).__name__}


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message, default=_plain, allow_nan=True) + "\n")
    channel.flush()


def _record(resource: RegisteredResource) -> dict[str, Any]:
    data = asdict(resource)
    data["secret_inputs"] = sorted(resource.secret_inputs)
    data["dependencies"] = list(resource.dependencies)
    return data


def main(argv: list[str]) -> int:
    """``python -m ccsec.mockchild FD`` with the request (program, stack, config, secret keys) as JSON on stdin."""
    channel = os.fdopen(int(argv[0]), "w", encoding="utf-8", closefd=True)
    request = json.loads(sys.stdin.read())
    try:
        run = run_in_this_process(
            Path(request["program"]),
            request["stack"],
            request["config"],
            request["secret_keys"],
            request.get("project", "ccaas-baseline"),
            on_record=lambda resource: _send(channel, {"t": "resource", "resource": _record(resource)}),
            preview=bool(request.get("preview", False)),
        )
    except ProgramError as error:
        _send(channel, {"t": "error", "message": str(error)})
        return 3
    _send(channel, {"t": "outputs", "outputs": run.outputs, "secret": sorted(run.secret_outputs)})
    _send(channel, {"t": "done", "count": len(run.resources)})
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
