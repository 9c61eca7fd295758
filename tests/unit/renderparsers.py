"""The real programs that read each rendered host file, wrapped to parse a file and return its directives.

Each ``parse_*`` function writes the rendered text to a private work dir, runs the program that reads that
file on a host (``nft``, ``sshd``, ``chronyd``, ``rsyslogd``, ``visudo``/``cvtsudoers``, ``cloud-init``,
``systemd-analyze``, ``nginx``, ``postgres``, ``sh``, ``apt-config``), raises :class:`ParserRefused` with the
program's stderr when it refuses the file, and returns what the program says the file means (effective
settings, the loaded ruleset, the parsed objects) so tests can compare that with an expected directive set.

A parser that is not installed is a test FAILURE naming the install script, never a skip.
Where a program offers no dump of what it parsed, a small Python reader faithful to the program's lexer
extracts the directives (``nginx_directives``, ``pg_conf_names``, ``hba_rows``), and the real program
still validates the file.
"""

from __future__ import annotations

import atexit
import base64
import gzip
import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

INSTALL = "sudo scripts/render-deps.sh (scripts/system-deps.sh runs it)"
_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
DEBIAN_SSHD_CONFIG = Path("/usr/share/openssh/sshd_config")  # the package's pristine main config
CLOUD_CONFIG_SCHEMA = Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json")
POSTGRES = "/usr/lib/postgresql/15/bin/postgres"


class ParserRefused(AssertionError):
    """The real program refused a rendered file; the message holds its exit status and stderr."""


def tool(name: str) -> str:
    """Absolute path of a parser binary; a missing one FAILS the test with the install command."""
    found = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name, path=_SEARCH)
    if not found:
        pytest.fail(f"{name} is not installed: the rendering tests need the real parser; run {INSTALL}", pytrace=False)
    return found


def run(argv: list[str], what: str, *, env: dict[str, str] | None = None, ok_codes=(0,)) -> subprocess.CompletedProcess:
    res = subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False)
    res.stdout = res.stdout.decode(errors="replace")
    res.stderr = res.stderr.decode(errors="replace")
    if res.returncode not in ok_codes:
        detail = (res.stderr.strip() or res.stdout.strip()[-4000:]).strip()
        raise ParserRefused(f"{Path(argv[0]).name} refused {what} (exit {res.returncode}):\n{detail}")
    return res


@cache
def _scratch() -> Path:
    """One private dir per process for throwaway keys/certs (removed at exit)."""
    path = Path(tempfile.mkdtemp(prefix="ccsec-render-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def _write(work: Path, name: str, text: str, mode: int = 0o600) -> Path:
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


# --- sshd -------------------------------------------------------------------------------------------

PROBE_USER = "ccsecprobe"  # a user in groups sshusers and totp, visible only inside a private mount namespace


@cache
def sshd_host_key() -> str:
    key = _scratch() / "ssh_host_ed25519_key"
    run([tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(key)], "a throwaway host key")
    return str(key)


def _sshd_main(work: Path, dropin: str) -> Path:
    """Debian's pristine sshd_config with its Include pointing at the rendered drop-in (first match wins)."""
    if not DEBIAN_SSHD_CONFIG.is_file():
        pytest.fail(f"{DEBIAN_SSHD_CONFIG} missing (openssh-server): run {INSTALL}", pytrace=False)
    path = _write(work, "sshd-dropin.conf", dropin)
    main = DEBIAN_SSHD_CONFIG.read_text()
    include = "Include /etc/ssh/sshd_config.d/*.conf"
    assert main.count(include) == 1, f"{DEBIAN_SSHD_CONFIG}: expected one '{include}' line"
    return _write(work, "sshd_config", main.replace(include, f"Include {path}"))


def _ensure_privsep_dir() -> None:
    """sshd -t/-T refuse to run without /run/sshd (ssh.service's RuntimeDirectory); create it like the unit does."""
    if not os.path.isdir("/run/sshd"):
        try:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        except PermissionError:
            pytest.fail("sshd -t needs /run/sshd: create it (mkdir -m 0755 /run/sshd) or run the tests as root")


def _settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip():
            key, _, value = line.partition(" ")
            out.setdefault(key.lower(), []).append(value)
    return out


def sshd_settings(dropin: str, work: Path, *, totp_member: bool = False) -> dict[str, list[str]]:
    """``sshd -t`` then ``sshd -T``: the effective settings, keyword -> values (lower-case keywords).

    ``totp_member``: the settings for a connecting user in groups ``sshusers`` and ``totp`` (evaluates
    ``Match Group totp``): the probe user exists only in a private mount namespace's /etc/passwd and /etc/group.
    """
    _ensure_privsep_dir()
    main = _sshd_main(work, dropin)
    sshd, key = tool("sshd"), sshd_host_key()
    run([sshd, "-t", "-f", str(main), "-h", key], "the sshd_config drop-in")
    if not totp_member:
        return _settings(run([sshd, "-T", "-f", str(main), "-h", key], "the sshd_config drop-in").stdout)
    passwd = _write(work, "passwd", Path("/etc/passwd").read_text() + f"{PROBE_USER}:x:64100:64100::/:/bin/false\n")
    group = Path("/etc/group").read_text()
    group = "".join(line + "\n" for line in group.splitlines() if line.split(":")[0] not in ("totp", "sshusers"))
    group += f"{PROBE_USER}:x:64100:\ntotp:x:64101:{PROBE_USER}\nsshusers:x:64102:{PROBE_USER}\n"
    group_file = _write(work, "group", group, 0o644)
    passwd.chmod(0o644)
    script = 'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && exec "$@"'
    argv = [tool("unshare"), "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(passwd)]
    argv += [str(group_file), sshd, "-T", "-f", str(main), "-h", key]
    argv += ["-C", f"user={PROBE_USER},host=probe.invalid,addr=192.0.2.10"]
    return _settings(run(argv, "the sshd_config drop-in (Match Group totp)").stdout)


def sshd_keywords(dropin: str) -> list[tuple[str, str]]:
    """(section, keyword) for every directive line of the file, in order (section '' or the Match line)."""
    section, out = "", []
    for raw in dropin.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword = re.split(r"[\s=]", line, maxsplit=1)[0].lower()
        if keyword == "match":
            section = line
        out.append((section, keyword))
    return out


# --- nftables ---------------------------------------------------------------------------------------


@dataclass
class NftRule:
    chain: str
    matches: dict[str, frozenset[str]]  # "tcp dport" -> values ("=" / "in"), "!tcp dport" for "!="
    statements: tuple[str, ...]
    verdict: str
    comment: str = ""

    def canon(self) -> str:
        parts = [f"{k}={{{','.join(sorted(v))}}}" for k, v in sorted(self.matches.items())]
        return " ".join([*parts, *self.statements, self.verdict]).strip()


@dataclass
class NftRuleset:
    tables: list[tuple[str, str]]
    sets: dict[str, dict[str, Any]]
    chains: dict[str, dict[str, Any]]
    rules: dict[str, list[NftRule]] = field(default_factory=dict)


def _norm_elem(value: Any) -> str:
    if isinstance(value, dict) and "prefix" in value:
        value = f"{value['prefix']['addr']}/{value['prefix']['len']}"
    elif isinstance(value, dict) and "range" in value:
        return "-".join(_norm_elem(v) for v in value["range"])
    elif isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    text = str(value)
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def _values(right: Any, sets: dict[str, dict[str, Any]]) -> frozenset[str]:
    if isinstance(right, str) and right.startswith("@"):
        return frozenset(sets[right[1:]]["elems"])
    if isinstance(right, dict) and "set" in right:
        right = right["set"]
    if isinstance(right, list):
        return frozenset(_norm_elem(v) for v in right)
    return frozenset({_norm_elem(right)})


def _left(left: dict[str, Any]) -> str:
    if "payload" in left:
        return f"{left['payload'].get('protocol', '?')} {left['payload'].get('field', '?')}"
    if "meta" in left:
        return f"meta {left['meta']['key']}"
    if "ct" in left:
        return f"ct {left['ct']['key']}"
    return json.dumps(left, sort_keys=True)


VERDICTS = ("accept", "drop", "reject", "return", "jump", "goto", "continue", "queue")


def _rule(item: dict[str, Any], sets: dict[str, dict[str, Any]]) -> NftRule:
    matches: dict[str, frozenset[str]] = {}
    statements: list[str] = []
    verdict = ""
    for expr in item["expr"]:
        (kind, body), *_ = expr.items()
        if kind == "match":
            key = _left(body["left"])
            key = key if body["op"] in ("==", "in") else f"{body['op']}{key}"
            if key in matches:  # the same field matched twice: keep both visible
                key = f"{key}#2"
            matches[key] = _values(body["right"], sets)
        elif kind in VERDICTS:
            verdict = kind if body is None else f"{kind} {json.dumps(body, sort_keys=True)}"
        elif kind == "counter":
            statements.append("counter")
        elif kind == "limit":
            statements.append(f"limit {body['rate']}/{body.get('per', 'second')} burst {body.get('burst', 5)}")
        elif kind == "log":
            statements.append(f"log prefix={body.get('prefix', '')!r} level={body.get('level', 'warn')}")
        else:
            statements.append(json.dumps(expr, sort_keys=True))
    return NftRule(item["chain"], matches, tuple(statements), verdict, item.get("comment", ""))


def parse_nftables(text: str, work: Path) -> NftRuleset:
    """``nft -c -f`` then load into a private network namespace and read back ``nft -j list ruleset``."""
    path = _write(work, "nftables.conf", text)
    nft = tool("nft")
    run([nft, "-c", "-f", str(path)], "nftables.conf")
    script = 'nft -f "$1" && nft -j list ruleset'
    env = {**os.environ, "PATH": f"{Path(nft).parent}:{os.environ.get('PATH', '')}"}
    out = run([tool("unshare"), "--net", "sh", "-c", script, "sh", str(path)], "nftables.conf (loaded)", env=env)
    items = json.loads(out.stdout)["nftables"]
    tables, sets, chains, raw_rules = [], {}, {}, []
    for item in items:
        (kind, body), *_ = item.items()
        if kind == "table":
            tables.append((body["family"], body["name"]))
        elif kind == "set":
            sets[body["name"]] = {
                "type": body["type"],
                "flags": sorted(body.get("flags", [])),
                "elems": frozenset(_norm_elem(e) for e in body.get("elem", [])),
            }
        elif kind == "chain":
            chains[body["name"]] = {k: body.get(k) for k in ("table", "type", "hook", "prio", "policy")}
        elif kind == "rule":
            raw_rules.append(body)
    ruleset = NftRuleset(tables, sets, chains, {name: [] for name in chains})
    for body in raw_rules:
        ruleset.rules.setdefault(body["chain"], []).append(_rule(body, sets))
    return ruleset


# --- chrony -----------------------------------------------------------------------------------------


def parse_chrony_conf(text: str, work: Path) -> list[str]:
    """``chronyd -p``: the configuration as chronyd parses it (includes and non-empty conf dirs expanded).

    A directive chronyd -p leaves out or expands (``confdir`` of a directory missing here, ``include``) would
    make its output differ from the file's own lines: that is refused, so the check sees what a host reads.
    """
    conf = _write(work, "chrony.conf", text, 0o644)
    out = run([tool("chronyd"), "-p", "-f", str(conf)], "chrony.conf").stdout
    printed = [line.strip() for line in out.splitlines() if line.strip()]
    written = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith(("#", "!"))]
    if printed != [" ".join(line.split()) for line in written]:
        raise ParserRefused(f"chronyd -p printed {printed}, the file holds {written}: a directive it expands or drops")
    return printed


# --- rsyslog ----------------------------------------------------------------------------------------


@dataclass
class RsyslogConfig:
    statements: list[str]  # config objects and script statements in file order: "obj global", "script"
    ruleset: list[str]  # the default ruleset after optimization, one line per statement (ACTION/IF/...)
    action_count: int
    params: dict[str, list[dict[str, str]]]  # "glbl" / "action" / "omfwd" / "queue" -> set parameters


_DBG = re.compile(r"^\d+\.\d+:[^:]*: (.*)$")
_PARAM = re.compile(r"^rainerscript\.c: ([A-Za-z0-9_.]+):\s+(.*)$")


def _block_name(header: str) -> str | None:
    if "glbl param blk" in header:
        return "glbl"
    if "action param blk after actionNewInst" in header:
        return "action"
    match = re.search(r"action param blk in (\w+)", header)
    if match:
        return match.group(1)
    if "queue param blk" in header:
        return "queue"
    if "param blk" in header:
        return header.split(":")[0]
    return None


# Host paths an rsyslog config names that ``rsyslogd -N1`` opens (certificates, key, work directory): the
# check runs on stand-ins under the scratch dir, and parameters are reported with the host paths again.
RSYSLOG_HOST_PATHS = {
    "/etc/ssl/ccaas/": "file",
    "/run/credentials/ccaas-log-receiver.service/": "file",
    "/var/lib/ccaas-log-receiver": "dir",
}


def _rsyslog_standins(text: str, work: Path) -> dict[str, str]:
    """host path prefix -> stand-in prefix, with a stand-in file or dir for each path the text names."""
    standins: dict[str, str] = {}
    for index, (prefix, kind) in enumerate(RSYSLOG_HOST_PATHS.items()):
        if prefix not in text:
            continue
        local = work / f"rsyslog-standin-{index}"
        if kind == "dir":
            local.mkdir(exist_ok=True)
            standins[prefix] = str(local)
            continue
        local.mkdir(exist_ok=True)
        for name in re.findall(re.escape(prefix) + r"([A-Za-z0-9._-]+)", text):
            (local / name).write_text("stand-in\n")
        standins[prefix] = f"{local}/"
    return standins


def rainerscript_actions(text: str) -> list[dict[str, str | list[str]]]:
    """Each ``action(...)`` block's parameters as written (lower-cased names): for omrelp, whose own parser
    leaves no parameter trace in ``rsyslogd -d``. ``rsyslogd -N1`` has accepted the same text first."""
    actions = []
    for body in re.findall(r"(?s)\baction\((.*?)\)\s*(?:\n|$)", text):
        params: dict[str, str | list[str]] = {}
        for name, scalar, array in re.findall(r'([A-Za-z.]+)\s*=\s*(?:"([^"]*)"|\[([^\]]*)\])', body):
            params[name.lower()] = re.findall(r'"([^"]*)"', array) if array else scalar
        actions.append(params)
    return actions


def parse_rsyslog(text: str, work: Path) -> RsyslogConfig:
    """``rsyslogd -N1`` validates; its debug trace of the same run gives the objects, ruleset and parameters."""
    standins = _rsyslog_standins(text, work)
    for prefix, local in standins.items():
        text = text.replace(prefix, local)
    path = _write(work, "rsyslog.conf", text, 0o644)
    rsyslogd = tool("rsyslogd")
    run([rsyslogd, "-N1", "-f", str(path)], "the rsyslog drop-in")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSYSLOG_")}
    out = run([rsyslogd, "-d", "-N1", "-f", str(path)], "the rsyslog drop-in (debug)", env=env).stdout
    statements: list[str] = []
    ruleset: list[str] = []
    params: dict[str, list[dict[str, str]]] = {}
    count = -1
    block: dict[str, str] | None = None
    last_key = ""
    in_ruleset = False
    for raw in out.splitlines():
        match = _DBG.match(raw)
        if not match:
            continue
        line = match.group(1)
        param = _PARAM.match(line)
        element = re.match(r"^rainerscript\.c:\s+string '(.*)'$", line)
        if block is not None and last_key and element:  # an array parameter's elements follow "ARRAY:"
            block[last_key] = f"{block[last_key]}{'' if block[last_key].endswith(':') else ','}{element.group(1)}"
            continue
        if block is not None and line.strip() == "rainerscript.c:":
            continue
        relp_peer = re.match(r"^omrelp\.c: librelp: CLT permitted peer added: '(.*)'$", line)
        if relp_peer:  # omrelp parses its action itself: librelp reports the peers it was given
            params.setdefault("omrelp peers", []).append({"peer": relp_peer.group(1)})
            continue
        if block is not None and param and param.group(1) != "nvlstGetParam":
            name, value = param.groups()
            if value != "(unset)":
                value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == "'" else value
                for prefix, local in standins.items():
                    value = value.replace(local, prefix)
                block[name.lower()] = value
                last_key = name.lower()
            continue
        block = None
        name = _block_name(line)
        if name:
            block = {}
            params.setdefault(name, []).append(block)
            continue
        cnf = re.match(r"^rsconf\.c: cnf:global:(\w+)(?:: obj: '([^']*)')?", line)
        if cnf:
            statements.append(" ".join(p for p in (cnf.group(1), cnf.group(2)) if p))
        elif re.search(r"ruleset '.*' after optimization:", line):
            in_ruleset = True
        elif "ruleset optimization phase finished" in line:
            in_ruleset = False
        elif in_ruleset and line.startswith("rainerscript.c: "):
            ruleset.append(line.removeprefix("rainerscript.c: ").strip())
        elif line.startswith("rsconf.c: Number of actions in this configuration: "):
            count = int(line.rsplit(" ", 1)[1])
    return RsyslogConfig(statements, ruleset, count, params)


# --- sudoers, cloud-init, systemd -------------------------------------------------------------------


def parse_sudoers(text: str, work: Path) -> dict[str, Any]:
    """``visudo -c -f`` validates; ``cvtsudoers -f json`` (sudo's own parser) returns what the rules mean."""
    path = _write(work, "sudoers", text, 0o440)
    run([tool("visudo"), "-c", "-q", "-f", str(path)], "the sudoers drop-in")
    return json.loads(run([tool("cvtsudoers"), "-f", "json", str(path)], "the sudoers drop-in").stdout)


def parse_cloud_config(text: str, work: Path) -> dict[str, Any]:
    """``cloud-init schema --config-file`` validates; the document as cloud-init loads it (yaml.safe_load)."""
    path = _write(work, "user-data", text)
    run([tool("cloud-init"), "schema", "--config-file", str(path)], "the cloud-config")
    return yaml.safe_load(text)


_SCHEMA_BATCH = """
import json, sys
from cloudinit.config.schema import get_schema, validate_cloudconfig_file
schema, out = get_schema(), {}
for path in sys.argv[1:]:
    try:
        validate_cloudconfig_file(path, schema, annotate=False)
        out[path] = ""
    except Exception as exc:  # SchemaValidationError and friends: report, as the CLI does
        out[path] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def cloud_init_schema_batch(texts: dict[str, str], work: Path) -> dict[str, str]:
    """What ``cloud-init schema --config-file`` decides for each text (name -> "" if valid, else its error).

    One interpreter for many files: the function the CLI calls (validate_cloudconfig_file with cloud-init's
    schema), in the interpreter the cloud-init command runs under; importing cloud-init costs ~1 s a process.
    """
    cli = Path(tool("cloud-init"))
    interpreter = cli.read_text().splitlines()[0].removeprefix("#!").split()[0]
    paths = {name: _write(work, f"user-data-{i}", text) for i, (name, text) in enumerate(sorted(texts.items()))}
    res = run([interpreter, "-c", _SCHEMA_BATCH, *map(str, paths.values())], "the cloud-configs (cloud-init schema)")
    verdicts = json.loads(res.stdout.strip().splitlines()[-1])
    return {name: verdicts[str(path)] for name, path in paths.items()}


@cache
def _cloud_config_validator():
    import jsonschema

    if not CLOUD_CONFIG_SCHEMA.is_file():
        pytest.fail(f"{CLOUD_CONFIG_SCHEMA} missing (cloud-init): run {INSTALL}", pytrace=False)
    schema = json.loads(CLOUD_CONFIG_SCHEMA.read_text())
    return jsonschema.Draft4Validator(schema)


def check_cloud_config_fast(text: str) -> dict[str, Any]:
    """Parser-faithful and in-process (for the property test): a YAML safe load and cloud-init's own JSON schema."""
    if not text.startswith("#cloud-config\n"):
        raise ParserRefused("cloud-config: the first line must be '#cloud-config'")
    try:  # libyaml with PyYAML's SafeConstructor: the same documents as cloud-init's SafeLoader, ~10x faster
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        raise ParserRefused(f"cloud-config is not YAML: {exc}") from None
    errors = sorted(_cloud_config_validator().iter_errors(document), key=lambda e: list(e.path))
    if errors:
        raise ParserRefused("cloud-config schema: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]))
    return document


def decode_write_file(entry: dict[str, Any]) -> bytes:
    content = entry.get("content", "")
    if entry.get("encoding") in ("gz+b64", "gzip+base64"):
        return gzip.decompress(base64.b64decode(content))
    if entry.get("encoding") in ("b64", "base64"):
        return base64.b64decode(content)
    return content.encode()


def verify_units(units: dict[str, bytes], work: Path, instances: list[str]) -> None:
    """``systemd-analyze verify`` of the units (and drop-ins) as installed; any warning on stderr is a failure.

    ``units`` maps a path under /etc/systemd/system/ to its bytes; ``instances`` are the unit names to verify
    (template instances such as ``ccsec-backup-diff@postgres.timer``, plus plain units).
    """
    root = work / "units"
    for path, data in units.items():
        rel = Path(path).relative_to("/etc/systemd/system")
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    analyze = tool("systemd-analyze")
    for name in instances:
        # a template instance is verified through a link named like the instance (drop-ins of the template apply)
        template = re.sub(r"@[^.]+\.", "@.", name)
        link = root / name
        if name != template and not link.exists():
            link.symlink_to(root / template)
        res = run([analyze, "verify", "--man=no", "--recursive-errors=no", str(link)], f"unit {name}", ok_codes=(0, 1))
        noise = [line for line in res.stderr.splitlines() if line.strip()]
        if res.returncode != 0 or noise:
            raise ParserRefused(f"systemd-analyze verify refused {name} (exit {res.returncode}):\n" + "\n".join(noise))


def unit_security(text: str, name: str, work: Path) -> tuple[dict[str, bool], float]:
    """``systemd-analyze security --offline``: (check name -> passed, overall exposure) for one unit file."""
    root = work / "security"
    root.mkdir(exist_ok=True)
    path = root / name
    path.write_text(text)
    analyze = tool("systemd-analyze")
    report = run([analyze, "security", "--offline=yes", "--json=short", str(path)], f"unit {name} (security)")
    passed = {item["name"]: bool(item["set"]) for item in json.loads(report.stdout)}
    summary = run([analyze, "security", "--offline=yes", "--no-pager", str(path)], f"unit {name} (exposure)").stdout
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", summary)
    if not match:
        raise ParserRefused(f"systemd-analyze security printed no exposure for {name}")
    return passed, float(match.group(1))


# --- nginx ------------------------------------------------------------------------------------------


@cache
def _nginx_cert() -> tuple[str, str]:
    key, crt = _scratch() / "app.key", _scratch() / "app.crt"
    run(
        [
            tool("openssl"),
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=render-test",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        "a throwaway certificate",
    )
    return str(crt), str(key)


NGINX_CERT_PATHS = ("/etc/ssl/ccaas/app.crt", "/etc/ssl/ccaas/app.key")


def parse_nginx_site(text: str, work: Path) -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    """``nginx -t`` on a minimal main config that includes the site; directives from nginx's lexer rules.

    The site's certificate paths are pointed at a throwaway certificate (each path must occur exactly once).
    """
    crt, key = _nginx_cert()
    site = text
    for original, replacement in zip(NGINX_CERT_PATHS, (crt, key), strict=True):
        if site.count(original) != 1:
            raise ParserRefused(f"nginx site: expected {original} exactly once")
        site = site.replace(original, replacement)
    site_path = _write(work, "nginx/site.conf", site, 0o644)
    temp = work / "nginx"
    main = (
        f"pid {temp}/nginx.pid;\nerror_log {temp}/error.log;\nevents {{}}\nhttp {{\n    access_log off;\n"
        + "".join(
            f"    {kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"    include {site_path};\n}}\n"
    )
    main_path = _write(work, "nginx/nginx.conf", main, 0o644)
    run([tool("nginx"), "-t", "-q", "-c", str(main_path), "-e", str(temp / "error.log")], "the nginx site")
    return nginx_directives(text)


def _nginx_tokens(text: str):
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in ";{}":
            yield c, True
            i += 1
        elif c in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            yield "".join(buf), False
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in ";{}\"'":
                j += 1
            yield text[i:j], False
            i = j


def nginx_directives(text: str) -> list[tuple[tuple[str, ...], str, tuple[str, ...]]]:
    """(enclosing blocks, name, args) for every directive, following nginx's tokenizer (quotes, ';', '{', '}')."""
    out, stack, words = [], [], []
    for token, special in _nginx_tokens(text):
        if special and token == ";":
            out.append((tuple(stack), words[0], tuple(words[1:])))
            words = []
        elif special and token == "{":
            out.append((tuple(stack), words[0], tuple(words[1:])))
            stack.append(" ".join(words))
            words = []
        elif special and token == "}":
            stack.pop()
        else:
            words.append(token)
    if words or stack:
        raise ParserRefused("nginx site: unterminated directive or block")
    return out


# --- PostgreSQL -------------------------------------------------------------------------------------

_PG_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*('(?:[^'\\]|''|\\.)*'|[^\s#']+)\s*(#.*)?$")


def pg_conf_names(text: str) -> list[str]:
    """Parameter names set by a postgresql.conf, by the grammar of PostgreSQL's guc-file lexer."""
    names = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _PG_LINE.match(line)
        if not match:
            raise ParserRefused(f"postgresql.conf line {number}: not 'name = value'")
        names.append(match.group(1).lower())
    return names


def postgres_settings(text: str, names: list[str]) -> dict[str, str]:
    """``postgres -C name`` for each name, with the rendered file as the only configuration (no cluster needed).

    PostgreSQL parses the whole file on every call, so any syntax error or unknown parameter fails it.
    """
    work = Path(tempfile.mkdtemp(prefix="ccsec-render-pg-"))
    try:
        (work / "conf.d").mkdir()
        (work / "conf.d" / "10-ccaas-baseline.conf").write_text(text)
        (work / "postgresql.conf").write_text("include_dir 'conf.d'\n")
        shutil.chown(work, "postgres")
        for path in work.rglob("*"):
            shutil.chown(path, "postgres")
        runuser, postgres = tool("runuser"), tool(POSTGRES)
        out = {}
        for name in names:
            res = run([runuser, "-u", "postgres", "--", postgres, "-D", str(work), "-C", name], "postgresql.conf")
            out[name] = res.stdout.rstrip("\n")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def hba_rows(text: str) -> list[tuple[str, ...]]:
    """pg_hba.conf records as PostgreSQL tokenizes them (whitespace-separated, '#' comments, quoted tokens)."""
    rows = []
    for line in text.splitlines():
        tokens = re.findall(r'"[^"]*"|[^\s#"]+|#.*', line)
        tokens = [t for t in tokens if not t.startswith("#")]
        if tokens:
            rows.append(tuple(tokens))
    return rows


# --- shell, apt -------------------------------------------------------------------------------------


def check_shell(text: str, work: Path, shells: tuple[str, ...] = ("sh",)) -> None:
    """``sh -n`` (dash, /bin/sh on Debian): the script parses."""
    path = _write(work, "script.sh", text, 0o700)
    for shell in shells:
        run([tool(shell), "-n", str(path)], f"the script ({shell} -n)")


def parse_apt_conf(text: str, work: Path) -> list[str]:
    """``apt-config -c FILE dump``: apt's own parser; the lines it sets from this file's scopes."""
    path = _write(work, "apt.conf", text, 0o644)
    (work / "apt-parts").mkdir(exist_ok=True)
    # only this file: no apt.conf.d parts, no main apt.conf of the machine running the tests
    isolated = _write(work, "apt-isolated.conf", f'Dir::Etc::Parts "{work}/apt-parts";\nDir::Etc::Main "/dev/null";\n')
    env = {**os.environ, "APT_CONFIG": str(isolated)}
    out = run([tool("apt-config"), "-c", str(path), "dump"], "the apt.conf snippet", env=env).stdout
    scopes = ("APT::Periodic", "Unattended-Upgrade::", "APT::ExtractTemplates")
    return [line for line in out.splitlines() if line.startswith(scopes)]
