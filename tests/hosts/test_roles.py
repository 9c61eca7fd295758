"""Role services: HOST-16 (app TLS), HOST-17 (PostgreSQL), HOST-18 (LUKS2 data volumes), HOST-20, HOST-01."""

from __future__ import annotations

import gzip

import pytest

from .volumes import luks2_data_volume_under

# This suite's own expectation (not read from the role model it checks): the units only one role runs.
ROLE_SERVICES = {
    "app": ("nginx.service",),
    "db": ("postgresql.service", "postgresql@15-main.service"),
    "loghost": ("ccaas-log-receiver.service", "ccaas-log-seal.timer"),
}


@pytest.mark.control("HOST-01")
def test_cloud_init_applied_the_baseline_without_errors(host) -> None:
    status = host.run("cloud-init status --long")
    assert "status: done" in status.stdout, status.stdout + status.stderr
    with host.sudo():
        raw = host.file("/var/lib/cloud/instance/user-data.txt").content  # as delivered: gzip-compressed
    user_data = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    assert "# ccaas-baseline host baseline v1" in user_data.splitlines()[1]
    with host.sudo():
        schema = host.run("cloud-init schema --system")
    assert schema.rc == 0, f"the shipped cloud-config is invalid: {schema.stdout}{schema.stderr}"


@pytest.mark.control("HOST-16")
@pytest.mark.roles("app")
def test_app_serves_tls_12_and_13_only_with_hsts(host) -> None:
    assert host.service("nginx").is_running
    assert host.socket("tcp://0.0.0.0:443").is_listening
    connect = "openssl s_client -connect 127.0.0.1:443 -servername localhost </dev/null"
    assert host.run(f"{connect} -tls1_2").rc == 0
    assert host.run(f"{connect} -tls1_3").rc == 0
    assert host.run(f"{connect} -tls1_1").rc != 0
    headers = host.check_output("curl -sk -D - -o /dev/null https://127.0.0.1/")
    assert "strict-transport-security: max-age=" in headers.lower()
    assert "server: nginx/" not in headers.lower(), "server_tokens must be off"


@pytest.mark.control("HOST-17")
@pytest.mark.roles("db")
def test_postgres_listens_only_on_the_data_subnet_with_scram_and_tls(host) -> None:
    assert host.service("postgresql@15-main").is_running, "the cluster itself, not the umbrella unit"
    listening = [s for s in host.socket.get_listening_sockets() if s.endswith(":5432")]
    assert listening and not any(s.startswith(("tcp://0.0.0.0", "tcp://:::")) for s in listening), listening
    with host.sudo("postgres"):
        settings = host.check_output(
            "psql -Atc \"select name||'='||setting from pg_settings where name in "
            "('ssl','password_encryption','ssl_min_protocol_version')\""
        )
    assert set(settings.splitlines()) == {
        "ssl=on",
        "password_encryption=scram-sha-256",
        "ssl_min_protocol_version=TLSv1.2",
    }
    with host.sudo():
        hba = host.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    remote = [line.split() for line in hba.splitlines() if line.startswith(("host", "hostssl"))]
    assert all(r[0] == "hostssl" and r[-1] == "scram-sha-256" for r in remote if r[-1] != "reject")


@pytest.mark.control("HOST-18")
@pytest.mark.roles("recordings")
def test_recordings_live_on_an_open_luks2_volume(host) -> None:
    assert host.mount_point("/srv/recordings").exists, "the volume is mounted at /srv/recordings itself"
    assert luks2_data_volume_under(host, "/srv/recordings") == "recordings"


@pytest.mark.control("HOST-18")
@pytest.mark.roles("db")
def test_postgres_data_and_wal_live_on_the_encrypted_data_volume(host) -> None:
    with host.sudo("postgres"):
        data_directory = host.check_output("psql -Atc 'show data_directory'")
        wal = host.check_output(f"readlink -f {data_directory}/pg_wal")  # a symlink if initdb was given --waldir
        tablespaces = host.check_output('psql -Atc "select pg_tablespace_location(oid) from pg_tablespace"')
    for path in (data_directory, wal, *filter(None, tablespaces.splitlines())):
        luks2_data_volume_under(host, path)
    # the unit cannot start on the boot volume's empty directory when the volume is not mounted
    with host.sudo():
        mount = host.check_output(f"findmnt -n -o TARGET --target {data_directory}")
    requires = host.check_output("systemctl show -p RequiresMountsFor --value postgresql@15-main.service")
    assert mount in requires.split(), f"postgresql@15-main must require {mount}: {requires!r}"


@pytest.mark.control("HOST-20")
def test_services_of_other_roles_are_masked_and_stopped(host, role: str) -> None:
    foreign = [unit for owner, units in ROLE_SERVICES.items() if owner != role for unit in units]
    for unit in foreign:
        state = host.run(f"systemctl is-enabled {unit}").stdout.strip()
        assert state == "masked", f"{unit} must be masked on a {role} host (is {state!r})"
        assert not host.service(unit).is_running, f"{unit} runs on a {role} host"
