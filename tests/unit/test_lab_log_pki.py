"""The lab's log certificates (HOST-15), judged by openssl, not by the code that made them."""

from __future__ import annotations

import datetime
import stat
import subprocess
from pathlib import Path

import pytest

from ccsec.lab import api, log_pki
from ccsec.lab.paths import work_dir_override


def verify(tmp_path: Path, ca: log_pki.Issued, leaf: log_pki.Issued, purpose: str) -> subprocess.CompletedProcess:
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    (tmp_path / "leaf.pem").write_text(leaf.cert_pem)
    return subprocess.run(
        ["openssl", "verify", "-CAfile", tmp_path / "ca.pem", "-purpose", purpose, tmp_path / "leaf.pem"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_senders_are_clients_only_and_the_log_host_also_a_server(tmp_path: Path) -> None:
    ca = log_pki.new_ca("lab log CA")
    sender = log_pki.issue(ca, "lab-app-1.lab.logs.ccaas.internal")
    log_host = log_pki.issue(ca, "lab-loghost-1.lab.logs.ccaas.internal", server=True)
    assert verify(tmp_path, ca, sender, "sslclient").returncode == 0
    assert verify(tmp_path, ca, sender, "sslserver").returncode != 0, "a sender could pose as the log host"
    assert verify(tmp_path, ca, log_host, "sslserver").returncode == 0
    assert verify(tmp_path, ca, log_host, "sslclient").returncode == 0
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName"], input=sender.cert_pem, capture_output=True, text=True
    ).stdout
    assert "DNS:lab-app-1.lab.logs.ccaas.internal" in text
    assert "PRIVATE KEY" not in repr(sender)


def test_another_ca_or_an_expired_certificate_does_not_verify(tmp_path: Path) -> None:
    ca, stranger = log_pki.new_ca("lab log CA"), log_pki.new_ca("lab log CA")  # same name, other key
    assert verify(tmp_path, ca, log_pki.issue(stranger, "lab-app-1.lab.logs.ccaas.internal"), "sslclient").returncode
    ended = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    expired = log_pki.issue(
        ca, "x.lab.logs.ccaas.internal", not_before=ended - datetime.timedelta(days=1), not_after=ended
    )
    result = verify(tmp_path, ca, expired, "sslclient")
    assert result.returncode != 0 and "expired" in (result.stdout + result.stderr)


@pytest.mark.parametrize(
    ("pairs", "target"),
    [
        ([("app", "lab-app-1"), ("loghost", "lab-loghost-1")], "lab-loghost-1.lab.logs.ccaas.internal"),
        # the backup lab has no log host: its hosts still point at the stack's first one (and queue)
        ([("db", "lab-db-1"), ("recordings", "lab-recordings-1")], "lab-loghost-1.lab.logs.ccaas.internal"),
    ],
)
def test_each_lab_host_gets_its_own_certificate_and_the_lab_log_host_as_target(
    pairs: list[tuple[str, str]], target: str, tmp_path: Path
) -> None:
    with work_dir_override(tmp_path / "lab") as directory:
        directory.mkdir(mode=0o700)
        paths = api._log_paths(directory, "lab", pairs)
        assert stat.S_IMODE((directory / api.LOG_CA_KEY).stat().st_mode) == 0o600
        ca = log_pki.Issued((directory / api.LOG_CA_CERT).read_text(), (directory / api.LOG_CA_KEY).read_text())
    assert sorted(paths) == sorted(name for _, name in pairs)
    assert len({p.key for p in paths.values()}) == len(pairs)
    for role, name in pairs:
        path = paths[name]
        assert [(t.address, t.name) for t in path.targets] == [("10.0.2.2", target)]
        assert path.ca_cert == ca.cert_pem
        purpose = "sslserver" if role == "loghost" else "sslclient"
        assert verify(tmp_path, ca, log_pki.Issued(path.cert, path.key), purpose).returncode == 0


def test_a_taken_log_port_is_refused_before_any_vm_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two labs with a log host (or anything on 127.0.0.1:6514): one clear error, QEMU never started."""
    import socket

    from ccsec.lab import vm
    from ccsec.lab.state import HostState

    started: list[object] = []
    monkeypatch.setattr(vm, "start", lambda spec: started.append(spec) or 1)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert not vm.port_is_free(port)
        spec = vm.VmSpec(
            "lab-loghost-1", tmp_path, tmp_path / "b", tmp_path / "k", tmp_path / "i", tmp_path / "s", 1024, 0, None,
            "tcg", log_port=port,
        )  # fmt: skip
        host = HostState(
            "lab-loghost-1", "loghost", "127.0.0.1", 0, "ccadmin", "id", str(tmp_path / "kh"), None, 0,
            str(tmp_path), "console", 1024, "ssh-ed25519 AAAA",
        )  # fmt: skip
        with pytest.raises(api.LabError, match=rf"127\.0\.0\.1:{port} \(logging\.port\) is in use"):
            api._start(host, spec)
    assert started == []
    assert vm.port_is_free(port)
    assert f"hostfwd=tcp:127.0.0.1:{port}-:{port}" in " ".join(vm.qemu_argv(spec))
