"""controls.yaml loads, validates strictly, and covers every control the pack names."""

from __future__ import annotations

import copy

import pytest
import yaml

from ccsec.policies import waivers
from ccsec.policies.controls import CATALOGUE_PATH, CatalogueError, load_catalogue, parse_catalogue
from ccsec.policies.metadata import pack_metadata


def _raw() -> dict:
    return yaml.safe_load(CATALOGUE_PATH.read_text())


def test_catalogue_loads_and_is_cached() -> None:
    cat = load_catalogue()
    assert cat is load_catalogue()
    assert {"NET-01", "TLS-01", "STO-01", "IAM-01", "CMP-01", "BKP-01", "HOST-01", "PRV-01"} <= set(cat.controls)
    assert set(cat.essentials) == {c.essential for c in cat.controls.values()}


def test_every_control_is_enforced_by_a_policy_or_is_a_host_control() -> None:
    used = {m.control for m in pack_metadata()} | {waivers.CONTROL}  # GOV-01: ccsec plan --waivers
    unused = {cid for cid in load_catalogue().controls if cid not in used and not cid.startswith("HOST-")}
    assert unused == set()


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("controls", "NET-01", "essential"), "fast servers", "essential"),
        (("controls", "NET-01", "pci"), ["one.two"], "pci"),
        (("controls", "NET-01", "iso"), ["27001"], "iso"),
        (("controls", "NET-01", "extra"), "x", "unknown keys"),
        (("frameworks", "pci"), None, "frameworks.pci"),
    ],
)
def test_bad_catalogue_lists_the_problem(path, value, needle) -> None:
    raw = copy.deepcopy(_raw())
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(CatalogueError, match=needle):
        parse_catalogue(raw)


def test_bad_id_and_all_errors_at_once() -> None:
    raw = copy.deepcopy(_raw())
    raw["controls"]["net1"] = raw["controls"]["NET-01"]
    raw["controls"]["TLS-01"]["title"] = ""
    with pytest.raises(CatalogueError) as err:
        parse_catalogue(raw)
    assert "controls.net1" in str(err.value) and "controls.TLS-01.title" in str(err.value)
