"""The all-in-one Swift itself: running, idempotent, TLS-verified, tempauth and s3api wired."""

from __future__ import annotations

import pwd
import ssl
import urllib.error
import urllib.request

import pytest

from ccsec_testbeds.swift_aio import SERVICES, SwiftAIO, SwiftAIOError

pytestmark = pytest.mark.swift


def _uid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return int(next(line for line in fh if line.startswith("Uid:")).split()[2])  # effective uid


def test_all_services_run_as_expected_users(swift: SwiftAIO) -> None:
    status = swift.status()
    assert set(status) == set(SERVICES) and all(status.values())
    assert pwd.getpwuid(_uid(status["memcached"])).pw_name == "memcache"
    for service in ("account", "container", "object", "proxy"):
        workers = swift.workers(service)
        assert workers, f"{service} has no worker process"
        assert {pwd.getpwuid(_uid(w)).pw_name for w in workers} == {"swift"}, service
    device = swift.device_root / "d1"
    assert device.stat().st_uid == pwd.getpwnam("swift").pw_uid


def test_start_is_idempotent(swift: SwiftAIO) -> None:
    before = swift.status()
    swift.start()
    assert swift.status() == before


def test_tls_is_verified_and_wrong_key_rejected(swift: SwiftAIO) -> None:
    creds = swift.credentials()
    with pytest.raises(urllib.error.URLError) as info:  # default trust store does not know our CA
        urllib.request.urlopen(f"{swift.endpoint}/healthcheck", timeout=5)  # noqa: S310
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    ctx = ssl.create_default_context(cafile=str(swift.ca_file))
    req = urllib.request.Request(  # noqa: S310
        creds.auth_url, headers={"X-Auth-User": creds.user, "X-Auth-Key": "wrong"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, context=ctx, timeout=5)  # noqa: S310
    assert err.value.code == 401
    assert "***" in repr(creds) and creds.key not in repr(creds)


def test_s3api_answers_in_pipeline(swift: SwiftAIO) -> None:
    ctx = ssl.create_default_context(cafile=str(swift.ca_file))
    # an unsigned S3 request gets an S3-style XML error from s3api, not a Swift 401 page
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(  # noqa: S310 - https to the local test Swift
            urllib.request.Request(  # noqa: S310
                f"{swift.endpoint}/somebucket", headers={"Authorization": "AWS test:tester:bogus", "Date": "x"}
            ),
            context=ctx,
            timeout=5,
        )
    body = err.value.read().decode()
    assert "<Error>" in body and "<Code>" in body


def test_port_in_use_is_a_clear_error(swift: SwiftAIO, tmp_path_factory: pytest.TempPathFactory) -> None:
    import tempfile
    from pathlib import Path

    from ccsec_testbeds.swift_aio import Ports

    base = Path(tempfile.mkdtemp(prefix="ccsec-swift-clash-", dir="/var/tmp"))
    base.chmod(0o755)
    other = SwiftAIO(
        base=base, ports=Ports(proxy=swift.ports.proxy, account=1, container=2, obj=3, memcached=swift.ports.memcached)
    )
    try:
        with pytest.raises(SwiftAIOError) as info:
            other.start()
        assert "already in use" in str(info.value)
    finally:
        other.stop()
        import shutil

        shutil.rmtree(base, ignore_errors=True)
