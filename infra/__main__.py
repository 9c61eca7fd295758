"""Pulumi entry point (`main: infra/` in Pulumi.yaml): validate the stack's config, then build.

Config is validated in full before any resource is declared, so a bad stack fails with every
problem listed and nothing half-made.
"""

import pulumi

from ccsec.infra.config import ConfigError, decode_raw, parse_config
from ccsec.infra.program import build


def _raw_config() -> tuple[dict[str, str], list[str]]:
    """The engine's whole config map and secret keys.

    The SDK has no public accessor for the whole map (only per-key reads), and unknown keys must be
    reported, so read what pulumi.runtime.config reads: the explicit map, then PULUMI_CONFIG.
    """
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secrets = {key for key in values if runtime_config.is_config_secret(key)}
    secrets.update(runtime_config.get_config_secret_keys_env())
    return values, sorted(secrets)


def main() -> None:
    values, secrets = _raw_config()
    try:
        cfg = parse_config(decode_raw(values), secrets, pulumi.get_stack())
    except ConfigError as error:
        listing = "\n".join(f"  - {problem}" for problem in error.problems)
        raise pulumi.RunError(f"stack config is invalid ({len(error.problems)} problems):\n{listing}") from None
    build(cfg)


main()
