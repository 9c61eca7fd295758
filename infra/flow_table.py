"""The README's flow table, generated from the role model (infra/roles.py).

The table sits between ``<!-- flows:begin -->`` and ``<!-- flows:end -->`` in README.md; a unit
test fails when it differs from :func:`render`. Rewrite it with
``python -m ccsec.infra.flow_table README.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from ccsec.infra import roles as model

BEGIN, END = "<!-- flows:begin -->", "<!-- flows:end -->"
INDENT = "  "  # the table sits inside the README's "Firewall" list item
_PEERS = {
    model.ADMINS: "`network.adminCidrs`",
    model.ANYWHERE: "anywhere",
    model.SERVICES: "`network.servicesCidr`",
}


_CONFIG_PORTS = {model.LOG_PORT: "`logging.port`", model.KEYSTONE_PORT: "port of `backup.swiftAuthUrl`"}


def _name(peers: list[str], host_roles: tuple[str, ...]) -> str:
    if len(peers) > 1 and tuple(peers) == host_roles:
        return "every host"
    return ", ".join(_PEERS.get(p, f"`{p}`") for p in peers)


def _port(flow: model.Flow) -> str:
    port = _CONFIG_PORTS.get(flow.port, str(flow.port))
    return f"{flow.protocol} {port}"


def _purpose(flow: model.Flow) -> str:
    return flow.purpose + (f" (only with `{flow.when}`)" if flow.when else "")


def rows(roles: Iterable[model.Role] | None = None) -> list[tuple[str, str, str, str, str]]:
    """(from, to, port, purpose, control) per flow; a flow shared by several roles is one row."""
    catalogue = list(model.MODEL if roles is None else roles)
    host_roles = tuple(r.name for r in catalogue if r.hosts)
    groups: dict[tuple, list[model.Link]] = {}
    for link in model.links(catalogue):
        f = link.flow
        key = (link.inbound, link.source if link.inbound else link.target, f.protocol, f.port, f.purpose, f.control)
        groups.setdefault(key, []).append(link)
    out = []
    for (inbound, _, _, _, _, _), members in groups.items():
        flow = members[0].flow
        if inbound:  # one source, the roles that accept it
            source, targets = [members[0].source], [m.target for m in members]
        else:  # the roles that send, one destination
            source, targets = [m.source for m in members], [members[0].target]
        out.append((_name(source, host_roles), _name(targets, host_roles), _port(flow), _purpose(flow), flow.control))
    return out


def render(roles: Iterable[model.Role] | None = None, indent: str = INDENT) -> str:
    """The Markdown table, each line indented, ending with a newline."""
    lines = ["| From | To | Port | Purpose | Control |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(roles)]
    return "".join(f"{indent}{line}\n" for line in lines)


def between_markers(text: str) -> str:
    """What README.md holds between the markers (the lines after BEGIN up to the END line)."""
    head, _, rest = text.partition(BEGIN + "\n")
    body, found, _ = rest.partition(END)
    if not head or not found:
        raise ValueError(f"README: markers {BEGIN} ... {END} not found")
    return body.rstrip(" ")  # the END marker's own indentation


def update(path: Path) -> bool:
    """Rewrite the table in ``path``; True when it changed."""
    text = path.read_text(encoding="utf-8")
    current = between_markers(text)
    head, _, rest = text.partition(BEGIN + "\n")
    tail = rest[rest.index(END) :]
    new = f"{head}{BEGIN}\n{render()}{INDENT}{tail}"
    if current == render():
        return False
    path.write_text(new, encoding="utf-8")
    return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print(f"{target}: {'updated' if update(target) else 'already current'}")
