"""Hostile stack values: refused with an error naming the key, or rendered as data and nothing more.

Every stack config key that reaches a rendered host file (or the backup agent's files) gets hostile values:
line breaks of every kind (\\n, \\r, U+2028, U+2029, NEL), NUL and other controls, quotes, '#', ';', braces,
IPv6 scope ids ('fe80::1%eth0" #'), '${}', jinja syntax, YAML specials and directive payloads. Each value
goes into the dev stack file (YAML), is read back through ccsec.infra.stackfile (the CLI's path) and must:

- raise ConfigError with a problem that names the key, or
- render a file set in which every file that differs from the clean render parses with its real program and
  has exactly the directives renderoracle expects for the config holding that value (no extra directive;
  the value appears only as data).

Parsers per example: the real programs (nft in a private netns, chronyd -p, rsyslogd -d -N1, cvtsudoers,
nginx -t, postgres -C, sh -n, apt-config) for the files the value changed; for the cloud-config, cloud-init's
own JSON schema and yaml.safe_load in-process (a `cloud-init schema` process costs ~1 s, too slow per example).

Two tests: a fixed table (key x curated payload, so each failing case is named) and a hypothesis property.
"""

from __future__ import annotations

import copy
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import renderoracle as oracle
import renderparsers as rp
import yaml
from hostkeys import identity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccsec.backup import bundle
from ccsec.infra.config import DEFAULT_CIPHERS, ROLES, ConfigError
from ccsec.infra.stackfile import load_stack_config
from ccsec.infra.userdata import TemplateValueError

NS = "ccaas-baseline"
STACK_FILE = Path(__file__).resolve().parents[2] / "stacks" / "Pulumi.dev.yaml"
EXAMPLES_PER_KEY = 8  # x 25 keys = 200 generated cases per run (deadline off; ~1 s each when rendered)


def _base_document() -> dict[str, Any]:
    """The dev stack with every template-bound key present (defaults made explicit)."""
    doc = yaml.safe_load(STACK_FILE.read_text())
    cfg = doc["config"]
    cfg[f"{NS}:network"].setdefault("ntpServers", ["10.20.250.123"])
    cfg[f"{NS}:network"].setdefault(
        "zones",
        {"edge": "10.20.0.0/24", "app": "10.20.10.0/24", "data": "10.20.20.0/24", "pci": "10.20.30.0/24",
         "mgmt": "10.20.40.0/24"},
    )  # fmt: skip
    cfg[f"{NS}:backup"].setdefault("s3Endpoint", "swift.dev.example.com")
    cfg[f"{NS}:tls"].setdefault("hstsMaxAge", 31536000)
    cfg[f"{NS}:tls"].setdefault("ciphers", DEFAULT_CIPHERS)
    return doc


# key path as the error names it -> where it lives in the stack document
KEYS: dict[str, tuple[Any, ...]] = {
    "owner": ("owner",),
    "environment": ("environment",),
    "region": ("region",),
    "admins[0].name": ("admins", 0, "name"),
    "admins[0].sshPublicKey": ("admins", 0, "sshPublicKey"),
    "network.adminCidrs[0]": ("network", "adminCidrs", 0),
    "network.servicesCidr": ("network", "servicesCidr"),
    "network.dnsNameservers[0]": ("network", "dnsNameservers", 0),
    "network.ntpServers[0]": ("network", "ntpServers", 0),
    "network.zones.edge": ("network", "zones", "edge"),
    "network.zones.app": ("network", "zones", "app"),
    "network.zones.data": ("network", "zones", "data"),
    "network.zones.pci": ("network", "zones", "pci"),
    "network.zones.mgmt": ("network", "zones", "mgmt"),
    "logging.port": ("logging", "port"),
    "tls.hostname": ("tls", "hostname"),
    "tls.ciphers": ("tls", "ciphers"),
    "tls.hstsMaxAge": ("tls", "hstsMaxAge"),
    "storage.backupContainer": ("storage", "backupContainer"),
    "storage.offsiteContainer": ("storage", "offsiteContainer"),
    "backup.s3Endpoint": ("backup", "s3Endpoint"),
    "backup.swiftAuthUrl": ("backup", "swiftAuthUrl"),
    "backup.diffMinutes": ("backup", "diffMinutes"),
    "backup.fullDays": ("backup", "fullDays"),
}
LINE_BREAKS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\u0085", "\x0b", "\x0c"]
CONTROLS = ["\x00", "\x1b", "\x7f", "\t"]
PAYLOADS = [
    '" #',
    "%eth0",
    '%eth0" #',
    "%eth0\nallow all",
    "\nallow all",
    "\nserver 203.0.113.9 iburst",
    '" protocol="udp" port="514',
    "\n*.* @203.0.113.9:514",
    "\nPermitRootLogin yes",
    ", 0.0.0.0/0",
    " } accept\n  chain x {",
    "; accept",
    "\n  - [sh, -c, id]",
    "${HOME}",
    "$(id)",
    "{{ 7 * 7 }}",
    "{% if 1 %}x{% endif %}",
    ": x",
    "- x",
    "&a",
    "*a",
    "!!python/object/apply:os.system ['id']",
    "#",
    ";",
    "{",
    "}",
    "'",
    "`",
    "\\",
    " ",
]
# The fixed table: one line break, NUL, a quote and the directive payloads per key
TABLE_FRAGMENTS = ["\n", "\u2028", "\u0085", "\x00", '%eth0" #', '" protocol="udp" port="514', " } accept\n  chain x {",
                   "{{ 7 * 7 }}"]  # fmt: skip
STANDALONE = ["fe80::1%eth0", 'fe80::1%eth0" #', "fe80::1%eth0\nallow all", "::1%h\nProxyCommand sh -c id",
              "2001:db8::/48", "fd00::/64", "10.0.0.0/8", "", " ", "true", "null", "0", "-1", "65536"]  # fmt: skip


def _get(doc: dict, path: tuple[Any, ...]) -> Any:
    node = doc["config"][f"{NS}:{path[0]}"]
    for part in path[1:]:
        node = node[part]
    return node


def _set(doc: dict, path: tuple[Any, ...], value: Any) -> dict:
    doc = copy.deepcopy(doc)
    if len(path) == 1:
        doc["config"][f"{NS}:{path[0]}"] = value
        return doc
    node = doc["config"][f"{NS}:{path[0]}"]
    for part in path[1:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


BASE = _base_document()


@dataclass
class Outcome:
    refused: str = ""  # the error that refused the value
    checked_files: int = 0


@cache
def _identity():
    return identity()


@pytest.fixture(scope="module", autouse=True)
def _cached_agent_bundle():
    """The backup agent's zipapp is deterministic per engine set: build it once, not once per example."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bundle, "build", cache(bundle.build))
        patch.setattr(bundle, "gz_b64", cache(bundle.gz_b64))
        yield


def _load(doc: dict, work: Path):
    stacks = work / "stacks"
    stacks.mkdir(exist_ok=True)
    (stacks / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))  # escapes every non-ASCII char
    return load_stack_config("dev", stacks)


def _render_all(cfg, work: Path) -> dict[str, tuple[oracle.Host, dict[str, str], str]]:
    out = {}
    for role in ROLES:
        host, files, user_data = oracle.render_host(cfg, role, f"dev-{role}-1", _identity(), work)
        out[role] = (host, {f["path"]: f["content"] for f in files}, user_data)
    return out


@cache
def _clean() -> dict[str, tuple[oracle.Host, dict[str, str], str]]:
    with tempfile.TemporaryDirectory() as tmp:
        return _render_all(_load(BASE, Path(tmp)), Path(tmp))


def check_value(key: str, value: Any) -> Outcome:
    """The property for one hostile value of one key (raises AssertionError when it does not hold)."""
    doc = _set(BASE, KEYS[key], value)
    with tempfile.TemporaryDirectory(prefix="ccsec-hostile-") as tmp:
        work = Path(tmp)
        try:
            cfg = _load(doc, work)
        except ConfigError as exc:
            named = [p for p in exc.problems if key in p]
            assert named, f"{key}={value!r}: ConfigError does not name {key}: {exc.problems}"
            return Outcome(refused=named[0])
        try:
            hosts = _render_all(cfg, work)
        except TemplateValueError as exc:
            return Outcome(refused=f"render: {exc}")
        except Exception as exc:
            raise AssertionError(f"{key}={value!r} passed validation, then rendering crashed: {exc!r}") from None
        checked = 0
        for role, (host, files, user_data) in hosts.items():
            _, clean_files, clean_user_data = _clean()[role]
            assert sorted(files) == sorted(clean_files), f"{key}={value!r}: {role} renders other files"
            for path, text in files.items():
                if text != clean_files[path]:
                    try:
                        oracle.CHECKS[path](text, host)
                    except AssertionError as exc:
                        raise AssertionError(f"{key}={value!r} accepted, but {role}:{path}: {exc}") from None
                    checked += 1
            if user_data != clean_user_data:
                try:
                    document = rp.check_cloud_config_fast(user_data)
                    oracle.check_cloud_config_document(document, host)
                    oracle.check_secret_env_files(document, host)
                except AssertionError as exc:
                    raise AssertionError(f"{key}={value!r} accepted, but {role} user-data: {exc}") from None
                checked += 1
        return Outcome(checked_files=checked)


def _table() -> list[tuple[str, Any]]:
    cases = []
    for key, path in KEYS.items():
        base = _get(BASE, path)
        if isinstance(base, int):
            cases += [(key, v) for v in (0, -1, 65536, True, 1.5, "6514\n", '6514" #', [1])]
            continue
        cases += [(key, base + fragment) for fragment in TABLE_FRAGMENTS]
        cases += [(key, v) for v in ("fe80::1%eth0", 'fe80::1%eth0" #', "fe80::1%eth0\nallow all")]
    return cases


TABLE = _table()


@pytest.mark.parametrize(("key", "value"), TABLE, ids=[f"{k}={v!r}" for k, v in TABLE])
def test_a_hostile_value_is_refused_or_inert(key: str, value: Any) -> None:
    check_value(key, value)


def _hostile(base: Any) -> st.SearchStrategy[Any]:
    fragment = st.one_of(
        st.sampled_from(LINE_BREAKS + CONTROLS + PAYLOADS),
        st.text(
            alphabet=st.sampled_from("\n\r\u2028\u2029\u0085\x00\"'#;{}%$`\\ :-&*!|<>[],=/"), min_size=1, max_size=4
        ),
    )
    if isinstance(base, bool) or not isinstance(base, (int, str)):
        return fragment
    if isinstance(base, int):
        numbers = st.one_of(st.integers(-(2**40), 2**40), st.booleans(), st.floats(allow_nan=False), st.none())
        return st.one_of(numbers, fragment, fragment.map(lambda f: f"{base}{f}"))
    inserted = st.tuples(fragment, st.integers(0, len(base))).map(lambda t: base[: t[1]] + t[0] + base[t[1] :])
    return st.one_of(inserted, fragment.map(lambda f: base + f), st.sampled_from(STANDALONE), fragment)


STATS = {"cases": 0, "refused": 0, "rendered": 0, "files": 0, "seconds": 0.0}


@pytest.mark.parametrize("key", list(KEYS))
@settings(max_examples=EXAMPLES_PER_KEY, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(data=st.data())
def test_hostile_values_property(key: str, data: st.DataObject) -> None:
    value = data.draw(_hostile(_get(BASE, KEYS[key])), label=key)
    started = time.perf_counter()
    outcome = check_value(key, value)
    STATS["cases"] += 1
    STATS["refused" if outcome.refused else "rendered"] += 1
    STATS["files"] += outcome.checked_files
    STATS["seconds"] += time.perf_counter() - started


def test_zz_report_property_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the number of generated cases and their time (for the README); meaningful without -n."""
    with capsys.disabled():
        print(
            f"\nhostile-value property: {STATS['cases']} generated cases over {len(KEYS)} keys "
            f"({STATS['refused']} refused, {STATS['rendered']} rendered, {STATS['files']} changed files parsed) "
            f"in {STATS['seconds']:.1f} s; fixed table: {len(TABLE)} cases"
        )
