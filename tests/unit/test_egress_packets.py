"""HOST-04 egress, in a real kernel: a host's own rendered ruleset, loaded in a private network namespace, lets
out exactly the role's flows, and lets only root fetch from the metadata service.

The namespace has one veth pair; its far end sits in a second namespace that owns every destination address
and listens on nothing. So a probe the output chain lets through meets a closed port ("refused" for TCP, the
datagram "sent"), and one it drops fails inside the host ("dropped": EPERM, or a SYN that is never answered).
Nothing leaves the two namespaces. The expectations are written from the role model's documented flows for the
dev stack (README's flow table), not read from the code under test.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import renderoracle as oracle
import renderparsers as rp
from hostkeys import identity

from ccsec.infra.stackfile import load_stack_config
from tests.hosts import test_firewall as firewall_host_tests

# Runs in the host's namespace as the uid given: one probe per line of argv[1] (JSON), one outcome per line.
PROBE = """
import errno, json, select, socket, sys, time
outcomes, pending = {}, {}
for name, family, kind, address, port in json.loads(sys.argv[1]):
    s = socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET,
                      socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    target = (address, port, 0, socket.if_nametoindex("host0")) if family == 6 else (address, port)
    if kind == "udp":
        try:
            s.sendto(b"x", target)
            outcomes[name] = "sent"
        except OSError as e:
            outcomes[name] = "dropped" if e.errno == errno.EPERM else errno.errorcode[e.errno]
        continue
    s.setblocking(False)
    code = s.connect_ex(target)
    if code == errno.EINPROGRESS:
        pending[s] = name
    else:
        outcomes[name] = "dropped" if code == errno.EPERM else errno.errorcode.get(code, str(code))
deadline = time.monotonic() + 2.0  # every connect at once: a dropped SYN is retried, never answered
while pending and time.monotonic() < deadline:
    _, ready, _ = select.select([], list(pending), [], max(0.0, deadline - time.monotonic()))
    for s in ready:
        code = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        outcomes[pending.pop(s)] = {0: "connected", errno.ECONNREFUSED: "refused", errno.EPERM: "dropped"}.get(
            code, errno.errorcode.get(code, str(code)))
for name in pending.values():
    outcomes[name] = "dropped"
for name, outcome in outcomes.items():
    print(name, outcome)
"""

# The far namespace: every address a probe aims at, on its end of the veth pair; a route back to the host.
FAR_ADDRESSES = ["10.20.250.53", "10.20.250.123", "10.20.250.10", "10.20.20.5", "10.20.30.5", "10.20.40.5",
                 "203.0.113.7", "169.254.169.254"]  # fmt: skip
SETUP = """
set -e
ip link set lo up
unshare --net sleep 120 & far=$!
sleep 0.2
ip link add host0 type veth peer name far0
ip link set far0 netns $far
ip addr add 10.99.0.1/32 dev host0
ip -6 addr add fe80::1/64 dev host0 nodad
ip link set host0 up
ip route add default dev host0
in_far() { nsenter -t $far -n "$@"; }
in_far ip link set lo up
for a in $FAR; do in_far ip addr add $a/32 dev far0; done
in_far ip -6 addr add fe80::a9fe:a9fe/64 dev far0 nodad
in_far ip link set far0 up
in_far ip route add 10.99.0.1/32 dev far0
nft -f "$1"
for uid in 0 65534; do
  echo "uid $uid"
  setpriv --reuid=$uid --regid=$uid --clear-groups "$2" -c "$3" "$4"
done
kill $far
"""

# (name, family, kind, address, port)
PROBES = [
    ("dns-udp", 4, "udp", "10.20.250.53", 53),
    ("dns-tcp", 4, "tcp", "10.20.250.53", 53),
    ("ntp", 4, "udp", "10.20.250.123", 123),
    ("swift-443", 4, "tcp", "10.20.250.10", 443),
    ("keystone-5000", 4, "tcp", "10.20.250.10", 5000),
    ("services-8080", 4, "tcp", "10.20.250.10", 8080),
    ("services-udp-5353", 4, "udp", "10.20.250.53", 5353),
    ("postgres-data-zone", 4, "tcp", "10.20.20.5", 5432),
    ("payment-api", 4, "tcp", "10.20.30.5", 8443),
    ("loghost-6514", 4, "tcp", "10.20.40.5", 6514),
    ("ssh-mgmt-zone", 4, "tcp", "10.20.40.5", 22),
    ("internet-https", 4, "tcp", "203.0.113.7", 443),
    ("internet-dns", 4, "udp", "203.0.113.7", 53),
    ("metadata-http", 4, "tcp", "169.254.169.254", 80),
    ("metadata-ssh", 4, "tcp", "169.254.169.254", 22),
    ("metadata-udp", 4, "udp", "169.254.169.254", 80),
    ("metadata6-http", 6, "tcp", "fe80::a9fe:a9fe", 80),
]
PASSED = {"sent", "refused", "connected"}
# What each role may reach (dev stack: services 10.20.250.0/24, zones app .10, data .20, pci .30, mgmt .40;
# Keystone on 5000 per backup.swiftAuthUrl), for any uid. Root alone adds the metadata service over HTTP.
EVERY_HOST = {"dns-udp", "dns-tcp", "ntp", "swift-443"}
ALLOWED = {
    "app": EVERY_HOST | {"postgres-data-zone", "payment-api", "loghost-6514"},
    "db": EVERY_HOST | {"keystone-5000", "loghost-6514"},
    "bastion": EVERY_HOST | {"loghost-6514", "ssh-mgmt-zone"},
}
ROOT_ONLY = {"metadata-http", "metadata6-http"}


def _nftables(role: str, tmp_path: Path) -> str:
    _, files, _ = oracle.render_host(load_stack_config("dev"), role, f"dev-{role}-1", identity(), tmp_path)
    (text,) = [f["content"] for f in files if f["path"] == "/etc/nftables.conf"]
    return text


def _passed(text: str, tmp_path: Path) -> dict[str, set[str]]:
    """uid -> the probes that got past the output chain, with the ruleset ``text`` loaded."""
    ruleset = tmp_path / "probe.nft"
    ruleset.write_text(text)
    python = os.path.realpath(sys.executable)  # the system's, which uid 65534 may run (unlike this tmp dir)
    out = subprocess.run(
        [rp.tool("unshare"), "--net", "sh", "-c", SETUP, "sh", str(ruleset), python, PROBE, json.dumps(PROBES)],
        env={**os.environ, "FAR": " ".join(FAR_ADDRESSES)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result = {}
    for block in out.stdout.split("uid ")[1:]:
        uid, *lines = block.strip().split("\n")
        outcomes = dict(line.split() for line in lines)
        assert set(outcomes) == {name for name, *_ in PROBES}, out.stdout
        unexpected = {name: o for name, o in outcomes.items() if o not in PASSED and o != "dropped"}
        assert not unexpected, f"uid {uid}: outcomes neither passed nor dropped: {unexpected}"
        result[uid] = {name for name, outcome in outcomes.items() if outcome in PASSED}
    assert sorted(result) == ["0", "65534"], out.stdout
    return result


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_only_the_role_egress_leaves_the_host(role: str, tmp_path: Path) -> None:
    passed = _passed(_nftables(role, tmp_path), tmp_path)
    for uid, allowed in (("0", ALLOWED[role] | ROOT_ONLY), ("65534", ALLOWED[role])):
        assert passed[uid] == allowed, (
            f"uid {uid} on {role}: let out {sorted(passed[uid] - allowed)}, held back {sorted(allowed - passed[uid])}"
        )


def test_the_probe_sees_an_output_chain_that_lets_everything_out(tmp_path: Path) -> None:
    """The probe's own control: with the output chain's policy accept and its final drop gone (the chain as it
    was before default-deny), every probe but the metadata service gets out for a non-root process."""
    text = _nftables("app", tmp_path)
    weakened = text.replace("hook output priority filter; policy drop;", "hook output priority filter; policy accept;")
    weakened = weakened.replace("level info\n    counter drop\n  }\n}", "level info\n    counter\n  }\n}")
    assert weakened.count("policy accept;") == 1 and weakened.count("counter drop") == text.count("counter drop") - 1
    passed = _passed(weakened, tmp_path)
    metadata = {name for name, *_ in PROBES if name.startswith("metadata")}
    assert passed["65534"] == {name for name, *_ in PROBES} - metadata


class _NamespaceHost:
    """Just enough of testinfra's host for the HOST-04 host check: the ruleset as a kernel loaded it."""

    def __init__(self, text: str, tmp_path: Path) -> None:
        self.path = tmp_path / "loaded.nft"
        self.path.write_text(text)

    @contextlib.contextmanager
    def sudo(self):
        yield

    def check_output(self, command: str) -> str:
        assert command == "nft -j list ruleset"
        script = 'nft -f "$1" && nft -j list ruleset'
        out = subprocess.run(
            [rp.tool("unshare"), "--net", "sh", "-c", script, "sh", str(self.path)],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return out.stdout


RUNTIME_EDITS = [  # what an intruder with root, or a hurried operator, would add to a running host
    "add rule inet ccaas_filter output accept",
    "add rule inet ccaas_filter output tcp dport 443 accept",
    "add rule inet ccaas_filter output ip daddr 203.0.113.7 accept",
    "insert rule inet ccaas_filter output ct state new accept",
    "insert rule inet ccaas_filter output meta skuid 0 accept",
    "insert rule inet ccaas_filter output udp sport 68 accept",
    "chain inet ccaas_filter output { policy accept; }",
]


def test_the_host_check_passes_the_rendered_chain(tmp_path: Path) -> None:
    firewall_host_tests.test_the_output_chain_denies_what_no_rule_names(
        _NamespaceHost(_nftables("db", tmp_path), tmp_path)
    )


@pytest.mark.parametrize("edit", RUNTIME_EDITS)
def test_the_host_check_fails_a_chain_opened_at_runtime(edit: str, tmp_path: Path) -> None:
    text = _nftables("db", tmp_path) + edit + "\n"
    with pytest.raises(AssertionError):
        firewall_host_tests.test_the_output_chain_denies_what_no_rule_names(_NamespaceHost(text, tmp_path))
