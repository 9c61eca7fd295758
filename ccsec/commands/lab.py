"""``ccsec lab up|backup|down|status``: the local QEMU lab booted from the stack's own cloud-init."""

from __future__ import annotations

import argparse
import json
import sys

from ccsec.commands import Parents
from ccsec.errors import EXIT_OK, CcsecError
from ccsec.infra.roles import BACKUP_ROLES


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def register(subparsers: argparse._SubParsersAction, parents: Parents) -> None:
    """Add ``lab`` and its actions."""
    lab = subparsers.add_parser(
        "lab",
        help="boot, list or remove the local QEMU lab (Debian 12 hosts from the stack's own cloud-init)",
        description=(
            "The local lab boots one Debian 12 VM per role in QEMU (KVM when usable, else TCG), hands it the "
            "exact user-data the Pulumi program renders for that role (NoCloud seed), forwards SSH (and 443 "
            "for app) to 127.0.0.1 and pins each host key it generated. Needs ~1-1.5 GiB RAM per host."
        ),
        epilog="Exit codes: 0 done, 2 could not run (nothing left running after a failed `up`).",
    )
    actions = lab.add_subparsers(dest="lab_command", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up",
        parents=[
            parents.stack(required=False, default="lab", note="; its cloud-init is what the VMs boot"),
            parents.format("text", "json", what=" when the lab is ready"),
        ],
        help="build/cache the image and boot one VM per role; waits for cloud-init",
        description="Build (or reuse) the golden image and boot one VM per role; waits until each host is ready.",
    )
    up.add_argument("roles_arg", nargs="*", metavar="ROLE", help="roles to boot (the same as --roles)")
    up.add_argument("--roles", default=None, help="comma-separated roles (default: bastion,app,loghost)")
    up.set_defaults(handler=run_up)
    backup = actions.add_parser(
        "backup",
        help="run a differential backup on every db/recordings VM now and wait for its success",
        description="The timers back up every 5 minutes; this runs one now (to the lab's local Swift), e.g. "
        "before `ccsec drill --lab`. --seed first writes sample data: 500 rows into table calls on db, a 2 MiB "
        "recording on recordings.",
    )
    backup.add_argument("--seed", action="store_true", help="write sample data first")
    backup.set_defaults(handler=run_backup)
    down = actions.add_parser(
        "down",
        help="stop the VMs and remove everything but the cached image",
        description="Stop every lab VM (and the lab's own Swift) and remove their files; the image cache stays.",
    )
    down.set_defaults(handler=run_down)
    status = actions.add_parser(
        "status",
        parents=[parents.format("text", "json")],
        help="list lab hosts and how to reach them (keys pinned)",
        description="List the lab's hosts, whether each runs, and the ssh command that reaches them.",
    )
    status.set_defaults(handler=run_status)


def _hosts_json(lab) -> dict:
    keys = ("name", "role", "ssh_host", "ssh_port", "user", "identity_file", "known_hosts_file", "https_port")
    return {
        "stack": lab.stack,
        "accel": lab.accel,
        "ssh_config": lab.ssh_config_file,
        "hosts": [{**{k: getattr(h, k) for k in keys}, "running": h.running} for h in lab.hosts],
    }


def run_up(args: argparse.Namespace) -> int:
    """Boot the lab (LabError: everything it started is removed, exit 2)."""
    from ccsec.lab import api as lab_api  # the lab pulls in QEMU helpers; plan/verify users need not load it

    if args.roles is not None and args.roles_arg:
        raise CcsecError("give the roles either as arguments or as --roles, not both")
    roles = args.roles_arg or [r for r in (args.roles or "bastion,app,loghost").split(",") if r]
    try:
        lab = lab_api.up(roles, stack=args.stack, progress=_progress)
    except lab_api.LabError as error:
        raise lab_api.LabError("lab up failed (nothing left running):", [error.message, *error.problems]) from None
    print(
        json.dumps(_hosts_json(lab), indent=2) if args.format == "json" else f"lab up: {len(lab.hosts)} host(s) ready"
    )
    return EXIT_OK


def run_backup(args: argparse.Namespace) -> int:
    """One backup on every data host now."""
    from ccsec.lab import api as lab_api
    from ccsec.lab.backups import backup_lab

    lab = lab_api.status()
    if lab is None or not all(h.running for h in lab.hosts):
        raise CcsecError("no lab is running: start one with `ccsec lab up --roles db,recordings`")
    backup_lab(lab, args.seed, _progress)
    print(f"lab backup: {sum(h.role in BACKUP_ROLES for h in lab.hosts)} host(s) backed up")
    return EXIT_OK


def run_down(_args: argparse.Namespace) -> int:
    """Remove the lab."""
    from ccsec.lab import api as lab_api

    lab_api.down(progress=_progress)
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    """List the hosts."""
    from ccsec.lab import api as lab_api

    lab = lab_api.status()
    if lab is None:
        print(
            json.dumps({"hosts": []})
            if args.format == "json"
            else "no lab is running (ccsec lab up --roles bastion,app)"
        )
        return EXIT_OK
    if args.format == "json":
        print(json.dumps(_hosts_json(lab), indent=2))
        return EXIT_OK
    for h in lab.hosts:
        state = "running" if h.running else "STOPPED"
        https = f" https=127.0.0.1:{h.https_port}" if h.https_port else ""
        print(f"{h.name:<20} {h.role:<11} {state:<8} ssh {h.user}@{h.ssh_host}:{h.ssh_port}{https}")
    print(f"ssh -F {lab.ssh_config_file} <name>   # host keys pinned, StrictHostKeyChecking yes")
    return EXIT_OK
