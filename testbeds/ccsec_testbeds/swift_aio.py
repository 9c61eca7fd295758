"""A real all-in-one OpenStack Swift on 127.0.0.1, from Debian's swift packages.

One memcached, one account/container/object server each, one proxy with tempauth and the
s3api middleware, serving HTTPS with a locally generated CA (so restic and pgBackRest verify
TLS for real). Rings have one replica on one device: a plain directory (``mount_check =
false``), owned by user ``swift`` because the servers drop privileges to it.

Everything lives under one base directory::

    <base>/etc        proxy/account/container/object configs, rings, credentials (0600)
    <base>/tls        ca.pem, proxy.pem, proxy.key
    <base>/srv/node/d1  the device
    <base>/run        pid files
    <base>/log        one log per server

Usage (root)::

    python -m ccsec_testbeds.swift_aio start [--base DIR] [--port N]
    python -m ccsec_testbeds.swift_aio status|stop|env

Swift itself reads ``/etc/swift/swift.conf`` (hash prefix/suffix, storage policies) from a
hard-coded path; the Debian package ships one, and :meth:`SwiftAIO.setup` only writes it
when it is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ccsec.backup.private_files import write_private

DEFAULT_BASE = Path("/var/lib/ccsec-swift")
SWIFT_CONF = Path("/etc/swift/swift.conf")
SERVICES = ("memcached", "account", "container", "object", "proxy")
SWIFT_USER = "swift"
MEMCACHED_USER = "memcache"
# QEMU's user-mode network (the lab) shows the host's 127.0.0.1 to its guests as 10.0.2.2: the lab's
# VMs back up to this Swift through that address, so the proxy certificate names it too.
GUEST_GATEWAY = "10.0.2.2"


class SwiftAIOError(RuntimeError):
    """The all-in-one Swift could not be set up, started or reached; the message says why."""


@dataclass(frozen=True)
class Ports:
    """TCP ports of the all-in-one (all bound to 127.0.0.1)."""

    proxy: int = 8443
    account: int = 6202
    container: int = 6201
    obj: int = 6200
    memcached: int = 11222

    def by_service(self) -> dict[str, int]:
        """Port per service name (as used in :data:`SERVICES`)."""
        return {
            "memcached": self.memcached,
            "account": self.account,
            "container": self.container,
            "object": self.obj,
            "proxy": self.proxy,
        }


@dataclass(frozen=True)
class SwiftCredentials:
    """Tempauth credentials of one Swift user; ``key`` is a secret (never print it)."""

    auth_url: str
    user: str  # "account:user"
    key: str
    storage_url: str
    ca_file: Path

    def restic_env(self) -> dict[str, str]:
        """Environment for restic's swift backend (v1 auth, i.e. tempauth)."""
        return {"ST_AUTH": self.auth_url, "ST_USER": self.user, "ST_KEY": self.key}

    def __repr__(self) -> str:  # keep the key out of logs and tracebacks
        return f"SwiftCredentials(auth_url={self.auth_url!r}, user={self.user!r}, key=***)"


@dataclass
class SwiftAIO:
    """Set up, start, stop and query an all-in-one Swift rooted at ``base``."""

    base: Path = DEFAULT_BASE
    ports: Ports = field(default_factory=Ports)
    host: str = "127.0.0.1"
    part_power: int = 8
    start_timeout: float = 45.0

    # ----------------------------------------------------------------- paths
    @property
    def etc(self) -> Path:
        """Directory holding configs, rings and credentials."""
        return self.base / "etc"

    @property
    def tls_dir(self) -> Path:
        """Directory holding the CA and the proxy's certificate."""
        return self.base / "tls"

    @property
    def ca_file(self) -> Path:
        """CA certificate clients use to verify the proxy."""
        return self.tls_dir / "ca.pem"

    @property
    def device_root(self) -> Path:
        """Swift ``devices`` directory (contains the one device ``d1``)."""
        return self.base / "srv" / "node"

    @property
    def auth_url(self) -> str:
        """Tempauth v1 endpoint."""
        return f"https://{self.host}:{self.ports.proxy}/auth/v1.0"

    @property
    def endpoint(self) -> str:
        """Proxy base URL (S3 API endpoint as well)."""
        return f"https://{self.host}:{self.ports.proxy}"

    def _pidfile(self, service: str) -> Path:
        return self.base / "run" / f"{service}.pid"

    def _logfile(self, service: str) -> Path:
        return self.base / "log" / f"{service}.log"

    def _conf(self, service: str) -> Path:
        return self.etc / f"{service}-server.conf"

    # ----------------------------------------------------------------- setup
    def setup(self) -> None:
        """Create dirs, TLS material, credentials, configs and rings. Idempotent."""
        _require_root()
        for tool in ("swift-ring-builder", "swift-proxy-server", "memcached", "openssl"):
            if shutil.which(tool) is None:
                raise SwiftAIOError(f"{tool} not found: run scripts/backup-deps.sh first")
        try:
            swift_pw = pwd.getpwnam(SWIFT_USER)
        except KeyError as exc:
            raise SwiftAIOError("user 'swift' missing: install the swift package") from exc
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)  # noqa: S103 - user swift must traverse it
        _check_traversable(self.base)
        for sub in ("etc", "tls", "run", "log", "cache", "srv", "srv/node"):
            (self.base / sub).mkdir(exist_ok=True)
        device = self.device_root / "d1"
        device.mkdir(exist_ok=True)
        for path in (self.device_root, device, self.base / "cache"):
            os.chown(path, swift_pw.pw_uid, swift_pw.pw_gid)
        os.chmod(self.etc, 0o755)  # noqa: S103 - workers (user swift) read rings
        _ensure_swift_conf()
        self._ensure_tls()
        self._ensure_credentials()
        self._write_configs()
        self._ensure_rings()

    @property
    def subject_alt_names(self) -> str:
        """SANs of the proxy certificate (DNS entries for IPs too: pgBackRest matches DNS SANs only)."""
        return f"IP:{self.host},DNS:{self.host},DNS:localhost,IP:{GUEST_GATEWAY},DNS:{GUEST_GATEWAY}"

    def _ensure_tls(self) -> None:
        key, cert = self.tls_dir / "proxy.key", self.tls_dir / "proxy.pem"
        sans = self.tls_dir / "proxy.sans"
        current = sans.read_text() if sans.exists() else ""
        if self.ca_file.exists() and key.exists() and cert.exists() and current == self.subject_alt_names:
            return
        ca_key = self.tls_dir / "ca.key"
        for secret_file in (ca_key, key):  # created 0600 (empty) before openssl writes the private keys into them
            write_private(secret_file, b"")
        _run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-subj",
                "/CN=ccsec local swift CA",
                "-keyout",
                str(ca_key),
                "-out",
                str(self.ca_file),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]
        )
        csr = self.tls_dir / "proxy.csr"
        _run(
            [
                "openssl",
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                f"/CN={self.host}",
                "-keyout",
                str(key),
                "-out",
                str(csr),
            ]
        )
        ext = self.tls_dir / "proxy.ext"
        ext.write_text(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage=serverAuth\nsubjectAltName={self.subject_alt_names}\n"
        )
        _run(
            [
                "openssl",
                "x509",
                "-req",
                "-in",
                str(csr),
                "-CA",
                str(self.ca_file),
                "-CAkey",
                str(ca_key),
                "-CAcreateserial",
                "-days",
                "3650",
                "-extfile",
                str(ext),
                "-out",
                str(cert),
            ]
        )
        os.chmod(self.ca_file, 0o644)
        sans.write_text(self.subject_alt_names)

    def _credentials_file(self) -> Path:
        return self.etc / "credentials.json"

    def _ensure_credentials(self) -> None:
        path = self._credentials_file()
        if path.exists():
            return
        data = {
            "test:tester": secrets.token_urlsafe(24),  # main (admin of AUTH_test)
            "offsite:copier": secrets.token_urlsafe(24),  # second account for the off-site copy
        }
        write_private(path, json.dumps(data))

    def _users(self) -> dict[str, str]:
        try:
            return json.loads(self._credentials_file().read_text())
        except (OSError, ValueError) as exc:
            raise SwiftAIOError(f"cannot read {self._credentials_file()}: run setup") from exc

    def credentials(self, user: str = "test:tester") -> SwiftCredentials:
        """Credentials of a tempauth user (``test:tester`` or ``offsite:copier``)."""
        users = self._users()
        if user not in users:
            raise SwiftAIOError(f"no tempauth user {user!r} in this all-in-one")
        account = user.split(":", 1)[0]
        return SwiftCredentials(
            auth_url=self.auth_url,
            user=user,
            key=users[user],
            storage_url=f"{self.endpoint}/v1/AUTH_{account}",
            ca_file=self.ca_file,
        )

    def _write_configs(self) -> None:
        common = (
            "[DEFAULT]\n"
            f"bind_ip = {self.host}\n"
            f"user = {SWIFT_USER}\n"
            f"swift_dir = {self.etc}\n"
            f"devices = {self.device_root}\n"
            "mount_check = false\n"
            "workers = 1\n"  # the worker is forked and drops to user swift; the parent stays root
            "log_level = INFO\n"
            f"recon_cache_path = {self.base / 'cache'}\n"
        )
        for kind, port in (
            ("account", self.ports.account),
            ("container", self.ports.container),
            ("object", self.ports.obj),
        ):
            text = (
                common + f"bind_port = {port}\n\n"
                f"[pipeline:main]\npipeline = healthcheck recon {kind}-server\n\n"
                f"[app:{kind}-server]\nuse = egg:swift#{kind}\n\n"
                "[filter:healthcheck]\nuse = egg:swift#healthcheck\n\n"
                "[filter:recon]\nuse = egg:swift#recon\n"
            )
            if kind == "container":
                text += "\n[container-sync]\n"
            _write_if_changed(self._conf(kind), text, 0o644)
        users = "".join(f"user_{u.split(':')[0]}_{u.split(':')[1]} = {k} .admin\n" for u, k in self._users().items())
        proxy = (
            common.replace(f"devices = {self.device_root}\nmount_check = false\n", "")
            + f"bind_port = {self.ports.proxy}\n"
            f"cert_file = {self.tls_dir / 'proxy.pem'}\n"
            f"key_file = {self.tls_dir / 'proxy.key'}\n\n"
            "[pipeline:main]\n"
            "pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk "
            "tempurl ratelimit s3api tempauth copy container-quotas account-quotas slo dlo "
            "versioned_writes symlink proxy-logging proxy-server\n\n"
            "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\n"
            "[filter:tempauth]\nuse = egg:swift#tempauth\nstorage_url_scheme = https\n" + users + "\n"
            "[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n\n"
            f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = {self.host}:{self.ports.memcached}\n\n"
        )
        for name in (
            "catch_errors",
            "gatekeeper",
            "healthcheck",
            "proxy-logging",
            "listing_formats",
            "bulk",
            "tempurl",
            "ratelimit",
            "copy",
            "container-quotas",
            "account-quotas",
            "slo",
            "dlo",
            "versioned_writes",
            "symlink",
        ):
            proxy += f"[filter:{name}]\nuse = egg:swift#{name.replace('-', '_')}\n\n"
        # holds tempauth keys: readable by root and the swift workers only
        _write_if_changed(self._conf("proxy"), proxy, 0o640, (0, pwd.getpwnam(SWIFT_USER).pw_gid))

    def _ensure_rings(self) -> None:
        stamp = self.etc / "rings.stamp"
        want = json.dumps({"ports": self.ports.by_service(), "host": self.host, "pp": self.part_power})
        rings = [self.etc / f"{k}.ring.gz" for k in ("account", "container", "object")]
        if stamp.exists() and stamp.read_text() == want and all(r.exists() for r in rings):
            return
        for kind, port in (
            ("account", self.ports.account),
            ("container", self.ports.container),
            ("object", self.ports.obj),
        ):
            builder = self.etc / f"{kind}.builder"
            for old in (builder, self.etc / f"{kind}.ring.gz"):
                old.unlink(missing_ok=True)
            _run(["swift-ring-builder", str(builder), "create", str(self.part_power), "1", "1"])
            _run(
                [
                    "swift-ring-builder",
                    str(builder),
                    "add",
                    "--region",
                    "1",
                    "--zone",
                    "1",
                    "--ip",
                    self.host,
                    "--port",
                    str(port),
                    "--device",
                    "d1",
                    "--weight",
                    "100",
                ]
            )
            # rebalance exits 1 for warnings (e.g. a single device); the ring file is what matters.
            subprocess.run(["swift-ring-builder", str(builder), "rebalance"], capture_output=True, check=False)
            if not (self.etc / f"{kind}.ring.gz").exists():
                raise SwiftAIOError(f"swift-ring-builder did not produce {kind}.ring.gz")
        stamp.write_text(want)

    # ----------------------------------------------------------------- processes
    def _command(self, service: str) -> list[str]:
        if service == "memcached":
            return [
                "memcached",
                "-u",
                MEMCACHED_USER,
                "-l",
                self.host,
                "-p",
                str(self.ports.memcached),
                "-U",
                "0",
                "-m",
                "64",
            ]
        return [f"swift-{service}-server", str(self._conf(service)), "--verbose"]

    def pid(self, service: str) -> int | None:
        """PID of a running service, or None (stale pid files are ignored)."""
        try:
            pid = int(self._pidfile(service).read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid, self._command(service)[0]) else None

    def workers(self, service: str) -> list[int]:
        """PIDs of the processes forked by a running service (Swift workers run as user swift)."""
        parent = self.pid(service)
        if parent is None:
            return []
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(stat.parent.name))
        return found

    def status(self) -> dict[str, int | None]:
        """PID per service (None when not running)."""
        return {s: self.pid(s) for s in SERVICES}

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        """Set up (idempotently) and start ``services``; wait until Swift answers authenticated requests.

        Raises :class:`SwiftAIOError` with the tail of the failing server's log when it cannot start.
        """
        self.setup()
        for service in SERVICES:
            if service not in services or self.pid(service) is not None:
                continue
            port = self.ports.by_service()[service]
            if _port_open(self.host, port):
                raise SwiftAIOError(f"cannot start {service}: {self.host}:{port} is already in use by another process")
            log = self._logfile(service)
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    self._command(service),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    close_fds=True,
                )
            self._pidfile(service).write_text(f"{proc.pid}\n")
        self.wait_ready(services)

    def wait_ready(self, services: tuple[str, ...] = SERVICES) -> None:
        """Block until every service listens and (if the proxy runs) tempauth + account HEAD work."""
        deadline = time.monotonic() + self.start_timeout
        ports = self.ports.by_service()
        pending = list(services)
        while pending:
            service = pending[0]
            if self.pid(service) is None:
                raise SwiftAIOError(f"swift all-in-one: {service} exited during start-up\n{self._tail(service)}")
            if _port_open(self.host, ports[service]):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise SwiftAIOError(
                    f"swift all-in-one: {service} not listening on {ports[service]} "
                    f"after {self.start_timeout}s\n{self._tail(service)}"
                )
            time.sleep(0.2)
        if "proxy" in services:
            last: Exception | None = None
            while time.monotonic() < deadline:
                try:
                    self.probe()
                    return
                except SwiftAIOError as exc:
                    last = exc
                    time.sleep(0.3)
            raise SwiftAIOError(f"swift all-in-one not answering: {last}\n{self._tail('proxy')}")

    def probe(self) -> None:
        """Authenticate with tempauth and HEAD the account; raise :class:`SwiftAIOError` on failure."""
        creds = self.credentials()
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        req = urllib.request.Request(  # noqa: S310 - https URL built here
            creds.auth_url, headers={"X-Auth-User": creds.user, "X-Auth-Key": creds.key}
        )
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:  # noqa: S310 - https only
                token = resp.headers["X-Auth-Token"]
                storage = resp.headers["X-Storage-Url"]
            head = urllib.request.Request(storage, method="HEAD", headers={"X-Auth-Token": token})  # noqa: S310
            with urllib.request.urlopen(head, context=ctx, timeout=5) as resp:  # noqa: S310
                if resp.status not in (200, 204):
                    raise SwiftAIOError(f"account HEAD returned {resp.status}")
        except (urllib.error.URLError, OSError, KeyError) as exc:
            raise SwiftAIOError(f"{type(exc).__name__}: {exc}") from exc

    def _token(self, user: str = "test:tester") -> tuple[str, str, ssl.SSLContext]:
        creds = self.credentials(user)
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        req = urllib.request.Request(  # noqa: S310 - fixed https URL
            creds.auth_url, headers={"X-Auth-User": creds.user, "X-Auth-Key": creds.key}
        )
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:  # noqa: S310
            return resp.headers["X-Auth-Token"], resp.headers["X-Storage-Url"], ctx

    def ensure_container(self, name: str, user: str = "test:tester") -> None:
        """Create container (S3: bucket) ``name`` in the user's account if missing."""
        token, storage, ctx = self._token(user)
        req = urllib.request.Request(  # noqa: S310
            f"{storage}/{urllib.parse.quote(name)}", method="PUT", headers={"X-Auth-Token": token}
        )
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:  # noqa: S310
            if resp.status not in (201, 202, 204):
                raise SwiftAIOError(f"creating container {name} returned {resp.status}")

    def objects(self, container: str, user: str = "test:tester") -> list[str]:
        """Object names in ``container`` (first 10,000)."""
        token, storage, ctx = self._token(user)
        req = urllib.request.Request(  # noqa: S310
            f"{storage}/{urllib.parse.quote(container)}?format=json", headers={"X-Auth-Token": token}
        )
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:  # noqa: S310
            return [o["name"] for o in json.loads(resp.read() or b"[]")]

    def object_files(self, container: str, prefix: str = "", account: str = "AUTH_test") -> dict[str, Path]:
        """On-disk ``.data`` file per object name in ``container`` (tests use it to corrupt objects).

        Reads the object name from Swift's pickled xattr metadata by its length prefix
        (protocol 2 ``BINUNICODE``: ``X`` + 4-byte little-endian length), without unpickling.
        """
        found: dict[str, Path] = {}
        head = f"/{account}/{container}/".encode()
        for data in (self.device_root / "d1").glob("objects/*/*/*/*.data"):
            try:
                meta = os.getxattr(data, "user.swift.metadata")
            except OSError:
                continue
            start = meta.find(head)
            if start < 5 or meta[start - 5 : start - 4] != b"X":
                continue
            length = struct.unpack("<I", meta[start - 4 : start])[0]
            name = meta[start + len(head) : start + length].decode(errors="replace")
            if name.startswith(prefix):
                found[name] = data
        return found

    def stop(self, services: tuple[str, ...] = SERVICES, timeout: float = 10.0) -> None:
        """Stop ``services`` (SIGTERM, then SIGKILL after ``timeout``). Idempotent."""
        for service in reversed(SERVICES):
            if service not in services:
                continue
            pid = self.pid(service)
            if pid is not None:
                _terminate(pid, timeout)
            self._pidfile(service).unlink(missing_ok=True)

    def _tail(self, service: str, lines: int = 25) -> str:
        try:
            text = self._logfile(service).read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {self._logfile(service)})"
        return f"--- last lines of {self._logfile(service)} ---\n" + "\n".join(text[-lines:])


# --------------------------------------------------------------------- helpers
def _require_root() -> None:
    if os.geteuid() != 0:
        raise SwiftAIOError("the all-in-one Swift must be started as root (servers drop to user 'swift')")


def _check_traversable(path: Path) -> None:
    """Every ancestor must be world-executable, or user ``swift`` cannot reach its device."""
    for parent in [path, *path.parents]:
        if not os.stat(parent).st_mode & 0o001:
            raise SwiftAIOError(f"{parent} is not traversable by user 'swift' (mode lacks o+x); choose another base")


def _ensure_swift_conf() -> None:
    if SWIFT_CONF.exists():
        return
    SWIFT_CONF.parent.mkdir(parents=True, exist_ok=True)
    write_private(
        SWIFT_CONF,
        "[swift-hash]\n"
        f"swift_hash_path_suffix = {secrets.token_hex(16)}\n"
        f"swift_hash_path_prefix = {secrets.token_hex(16)}\n\n"
        "[storage-policy:0]\nname = Policy-0\ndefault = yes\n",
        0o644,  # every swift worker reads it
    )


def _write_if_changed(path: Path, text: str, mode: int, owner: tuple[int, int] | None = None) -> None:
    current = path.lstat() if os.path.lexists(path) else None
    same_meta = (
        current is not None
        and (current.st_mode & 0o7777) == mode
        and (owner is None or (current.st_uid, current.st_gid) == owner)
    )
    if not (same_meta and path.is_file() and not path.is_symlink() and path.read_text() == text):
        write_private(path, text, mode, owner)


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SwiftAIOError(f"{cmd[0]} {cmd[1] if len(cmd) > 1 else ''} failed: {res.stderr.strip()[-800:]}")


def _alive(pid: int, exe_hint: str) -> bool:
    """True if ``pid`` runs (not a zombie) and its command line mentions ``exe_hint``."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap our own dead children
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    # A process still inside execve() has an empty cmdline for a moment (its new argv is not mapped yet);
    # Popen can return in that window, so an empty cmdline counts as "ours, starting".
    return state not in ("Z", "X") and (not cmdline.strip() or exe_hint.rsplit("/", 1)[-1] in cmdline)


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM the service's process group (server + forked workers), SIGKILL after ``timeout``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive(pid, ""):
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on 127.0.0.1 right now (for tests)."""
    socks, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in socks:
            sock.close()
    return ports


def fresh(prefix: str = "ccsec-swift-", parent: Path = Path("/var/tmp")) -> SwiftAIO:  # noqa: S108
    """An all-in-one (not started yet) in a new directory under ``parent`` (traversable by user swift), free ports."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    base.chmod(0o755)
    p = free_ports(5)
    return SwiftAIO(base=base, ports=Ports(proxy=p[0], account=p[1], container=p[2], obj=p[3], memcached=p[4]))


def remove(aio: SwiftAIO) -> None:
    """Stop ``aio`` and delete its directory (objects, keys, CA): for throwaway all-in-ones only."""
    try:
        aio.stop()
    finally:
        shutil.rmtree(aio.base, ignore_errors=True)


@contextlib.contextmanager
def temporary(prefix: str = "ccsec-swift-") -> Iterator[SwiftAIO]:
    """A started throwaway all-in-one (tests, the lab test); stopped and removed afterwards.

    Raises :class:`SwiftAIOError` (with the failing server's log tail) if it cannot start: never skips.
    """
    aio = fresh(prefix)
    try:
        aio.start()
        yield aio
    finally:
        remove(aio)


# --------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    """``python -m ccsec_testbeds.swift_aio start|stop|status|env``."""
    parser = argparse.ArgumentParser(prog="python -m ccsec_testbeds.swift_aio", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("start", "stop", "status", "env"))
    parser.add_argument("--base", type=Path, default=DEFAULT_BASE)
    parser.add_argument("--port", type=int, default=Ports.proxy, help="proxy (HTTPS) port")
    args = parser.parse_args(argv)
    aio = SwiftAIO(base=args.base, ports=Ports(proxy=args.port))
    try:
        if args.action == "start":
            aio.start()
            print(f"swift all-in-one up: {aio.auth_url} (CA {aio.ca_file})")
        elif args.action == "stop":
            aio.stop()
            print("swift all-in-one stopped")
        elif args.action == "status":
            st = aio.status()
            for service, pid in st.items():
                print(f"{service:10s} {'running pid ' + str(pid) if pid else 'stopped'}")
            return 0 if all(st.values()) else 3
        else:  # env: names only point at files; the key is read from the credentials file
            creds = aio.credentials()
            print(
                f"ST_AUTH={creds.auth_url}\nST_USER={creds.user}\n"
                f"# ST_KEY: see {aio._credentials_file()} (0600)\nCA_FILE={aio.ca_file}"
            )
    except SwiftAIOError as exc:
        print(f"swift_aio: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
