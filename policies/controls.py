"""The control catalogue (controls.yaml): one list of control ids for policies, host tests and reports.

Loaded once and validated strictly, so a typo in an id, an essential or a framework reference fails at
import time instead of producing evidence that silently does not join.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_PATH = Path(__file__).resolve().parent / "controls.yaml"

_ID_RE = re.compile(r"^[A-Z]{2,5}-\d{2}$")
_PCI_RE = re.compile(r"^\d{1,2}(\.\d{1,2}){1,3}$")
_ISO_RE = re.compile(r"^A\.[5-8]\.\d{1,2}$")
_FRAMEWORK_KEYS = ("pci", "iso", "essentials")


class CatalogueError(ValueError):
    """controls.yaml is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class Framework:
    """A compliance framework as named once in the catalogue."""

    key: str
    name: str
    version: str
    url: str = ""


@dataclass(frozen=True)
class FrameworkRef:
    """One framework entry of a control: which framework, and which requirement in it."""

    name: str
    version: str
    reference: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "reference": self.reference}


@dataclass(frozen=True)
class Control:
    """One control id with the essential it enforces and its framework mappings."""

    id: str
    title: str
    essential: str
    pci: tuple[str, ...]
    iso: tuple[str, ...]
    summary: str = ""


@dataclass(frozen=True)
class Catalogue:
    """All controls plus the frameworks they refer to."""

    frameworks: dict[str, Framework]
    essentials: tuple[str, ...]
    controls: dict[str, Control]

    def control(self, control_id: str) -> Control:
        try:
            return self.controls[control_id]
        except KeyError:
            raise KeyError(f"unknown control id {control_id!r} (not in controls.yaml)") from None

    def framework_refs(self, control_id: str) -> tuple[FrameworkRef, ...]:
        """PCI, ISO and essential entries of a control, in that order (PCI first = primary)."""
        c = self.control(control_id)
        pci, iso, ess = (self.frameworks[k] for k in _FRAMEWORK_KEYS)
        return (
            FrameworkRef(pci.name, pci.version, ", ".join(c.pci)),
            FrameworkRef(iso.name, iso.version, ", ".join(c.iso)),
            FrameworkRef(ess.name, ess.version, c.essential),
        )


def _str_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _parse_frameworks(raw: Any, errors: list[str]) -> dict[str, Framework]:
    out: dict[str, Framework] = {}
    if not isinstance(raw, dict):
        errors.append("frameworks: must be a mapping")
        return out
    for key in _FRAMEWORK_KEYS:
        fw = raw.get(key)
        if not isinstance(fw, dict) or not isinstance(fw.get("name"), str) or "version" not in fw:
            errors.append(f"frameworks.{key}: needs name and version")
            continue
        out[key] = Framework(key, fw["name"], str(fw["version"]), str(fw.get("url", "")))
    return out


def _parse_control(cid: str, raw: Any, essentials: tuple[str, ...], errors: list[str]) -> Control | None:
    where = f"controls.{cid}"
    before = len(errors)
    if not _ID_RE.match(str(cid)):
        errors.append(f"{where}: id must look like NET-01")
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be a mapping")
        return None
    unknown = set(raw) - {"title", "essential", "pci", "iso", "summary"}
    if unknown:
        errors.append(f"{where}: unknown keys {sorted(unknown)}")
    title, essential = raw.get("title"), raw.get("essential")
    pci, iso = _str_list(raw.get("pci")), _str_list(raw.get("iso"))
    if not isinstance(title, str) or not title.strip():
        errors.append(f"{where}.title: required")
    if essential not in essentials:
        errors.append(f"{where}.essential: {essential!r} is not one of the essentials")
    if pci is None or not all(_PCI_RE.match(p) for p in pci):
        errors.append(f"{where}.pci: a non-empty list of requirement numbers like '1.3.1'")
    if iso is None or not all(_ISO_RE.match(i) for i in iso):
        errors.append(f"{where}.iso: a non-empty list of Annex A controls like 'A.8.20'")
    if len(errors) > before:
        return None
    return Control(str(cid), str(title), str(essential), pci or (), iso or (), str(raw.get("summary", "")))


def parse_catalogue(data: Any) -> Catalogue:
    """Validate a loaded YAML document; raise CatalogueError listing all problems at once."""
    errors: list[str] = []
    if not isinstance(data, dict):
        raise CatalogueError("controls.yaml: top level must be a mapping")
    frameworks = _parse_frameworks(data.get("frameworks"), errors)
    essentials = _str_list(data.get("essentials")) or ()
    if not essentials:
        errors.append("essentials: a non-empty list of strings")
    raw_controls = data.get("controls")
    controls: dict[str, Control] = {}
    if not isinstance(raw_controls, dict) or not raw_controls:
        errors.append("controls: a non-empty mapping of id -> control")
    else:
        for cid, raw in raw_controls.items():
            control = _parse_control(str(cid), raw, essentials, errors)
            if control is not None:
                controls[control.id] = control
    if errors:
        raise CatalogueError("controls.yaml is invalid:\n  " + "\n  ".join(errors))
    return Catalogue(frameworks, essentials, controls)


@lru_cache(maxsize=4)
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Load and validate the catalogue (cached: the file is read once per process)."""
    with open(path, encoding="utf-8") as fh:
        return parse_catalogue(yaml.safe_load(fh))


def control(control_id: str) -> Control:
    """Shortcut: the control with this id from the default catalogue."""
    return load_catalogue().control(control_id)
