"""Secrets never sit in the program or in state in clear (SEC-01).

Any resource type: an input whose name says it holds a credential (password, passphrase, secret, psk,
token, private/access/api key, sync key) and whose value is set must be a Pulumi secret, i.e. come
from ``pulumi config set --secret``, a generator such as ``random.RandomPassword``, or
``pulumi.Output.secret``. A literal in code reaches state unencrypted.

Which inputs are secrets is known to the engine but not to a policy: pulumi_policy unwraps secret
values before ``validate`` sees them. ``ccsec plan`` therefore passes the secretness of each
secret-named input as this policy's config (``secretnessKnown``/``secretInputs``, filled by
policies/offline.py from the registrations). Under ``pulumi preview`` that config is absent and the
policy fails closed: only inputs the provider SDK itself always encrypts count as secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from ._meta import stack_policy
from ._props import APP_CREDENTIAL, INSTANCE, OPENSTACK_PROVIDER, SECRET, str_list

POLICY_NAME = "no-plaintext-secret-inputs"
SECRET_WORDS = re.compile(r"password|passwd|passphrase|secret|psk|token|privatekey|accesskey|apikey|synckey", re.I)
# Names that mention a secret but hold a reference, a kind or a size, not the secret itself.
NOT_A_VALUE = re.compile(
    r"(ref|refs|id|ids|type|types|name|names|length|policy|url|expiration|method|algorithm|format|version|"
    r"encoding|mode|bits|count|ttl|acl)$",
    re.I,
)
# Inputs that hold a secret whatever their name.
TYPE_SECRET_INPUTS: dict[str, tuple[str, ...]] = {SECRET: ("payload",)}
# Inputs the pulumi-openstack SDK always wraps in Output.secret (instance.py, application_credential.py,
# provider.py): encrypted in state whatever the program passes. Their own policies judge them further.
SDK_ENCRYPTED = frozenset({(INSTANCE, "adminPass"), (APP_CREDENTIAL, "secret"), (OPENSTACK_PROVIDER, "password")})
MAX_DEPTH = 4


def secret_named(key: str) -> bool:
    plain = key.replace("_", "").replace("-", "")
    return bool(SECRET_WORDS.search(plain)) and not NOT_A_VALUE.search(plain)


def _read(mapping: Mapping[str, Any], key: str) -> Any:
    try:
        return mapping[key]
    except UnknownValueError:
        return None  # computed by another resource at preview: generated, not written in code


def _found(value: Any, path: str, depth: int) -> Iterator[str]:
    """Paths below ``path`` whose key is secret-named and whose value is set."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for key in value:
            sub, where = _read(value, key), f"{path}.{key}"
            if secret_named(str(key)):
                if _is_set(sub):
                    yield where
            else:
                yield from _found(sub, where, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _found(item, f"{path}[{i}]", depth + 1)


def secret_paths(type_token: str, inputs: Mapping[str, Any]) -> list[str]:
    """Input paths (e.g. 'psk', 'headers.X-Auth-Token') that hold a set value of a secret-named input."""
    out: list[str] = []
    wanted = TYPE_SECRET_INPUTS.get(type_token, ())
    for key in inputs:
        value = _read(inputs, key)
        if key in wanted or secret_named(str(key)):
            if _is_set(value):
                out.append(str(key))
        else:
            out.extend(_found(value, str(key), 1))
    return out


def may_hold_plaintext_secret(type_token: str, inputs: Mapping[str, Any], _config: Mapping[str, Any]) -> bool:
    """Only a resource with a set, secret-named input can be reported (an unknown value counts as set here)."""
    return bool(secret_paths(type_token, inputs))


def _is_set(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def top_key(path: str) -> str:
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _plaintext_secrets(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = args.get_config()
    known = cfg.get("secretnessKnown") is True
    secret_map = cfg.get("secretInputs") if isinstance(cfg.get("secretInputs"), Mapping) else {}
    for res in args.resources:
        paths = secret_paths(res.resource_type, res.props)
        if not paths:
            continue
        secrets = set(str_list(secret_map.get(res.urn))) if known else set()
        for path in paths:
            key = top_key(path)
            if key in secrets or (not known and (res.resource_type, key) in SDK_ENCRYPTED):
                continue
            why = "is not a Pulumi secret" if known else "cannot be shown to be a Pulumi secret (run ccsec plan)"
            report(
                f"{res.name}: input '{path}' holds a credential that {why}; it is stored in state in clear.", res.urn
            )


POLICIES = [
    stack_policy(
        POLICY_NAME,
        control="SEC-01",
        severity=Severity.HIGH,
        description="Inputs named like credentials (password, passphrase, secret, psk, token, private/access/api "
        "key, sync key) and Barbican payloads are Pulumi secrets, never literals in the program (any resource "
        "type). Under `pulumi preview` pulumi_policy hides secretness from policies, so only inputs the SDK "
        "always encrypts pass there; `ccsec plan` passes the engine's secretness in as config.",
        remediation="Take the value from `pulumi config set --secret` (config.require_secret), generate it "
        "(random.RandomPassword) or wrap it in pulumi.Output.secret; better, let the service generate it "
        "(application credential secret, Keystone-side keys) and never pass it at all.",
        validate=_plaintext_secrets,
        reads=None,
        select=may_hold_plaintext_secret,
        config={
            "secretnessKnown": {
                "type": "boolean",
                "default": False,
                "description": "Set by ccsec plan: secretInputs below lists, per URN, the inputs that are secrets.",
            },
            "secretInputs": {
                "type": "object",
                "default": {},
                "description": "URN -> top-level input names that the engine holds as secrets (ccsec plan fills it).",
            },
        },
    ),
]
