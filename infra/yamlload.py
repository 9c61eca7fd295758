"""A YAML loader for external input (stack files) with limits: plain data only, nothing echoed.

``yaml.safe_load`` constructs no Python objects, but it still expands aliases (a 468-byte "billion
laughs" document kept ``ccsec plan`` busy for minutes at ~2 GB), turns unquoted dates into
``datetime``, accepts ``!!binary``, ``!!set`` and non-string keys, silently keeps the last of two
duplicate keys, and its error messages quote the offending line (which may hold a pasted key).

:func:`load` refuses, with the line/column or the key path and never the input text:

- documents larger than :data:`MAX_BYTES` or nested deeper than :data:`MAX_DEPTH`;
- anchors and aliases (``&a`` / ``*a`` / merge keys built from them): no expansion at all;
- explicit tags (``!!binary``, ``!!set``, ``!!python/...``, ``!custom``, even ``!!str``);
- values that are not str/int/float/bool/null/list/map (timestamps from unquoted dates, ...);
- keys that are not strings (``1:``, ``~:``, ``yes:``/``on:`` which YAML 1.1 reads as booleans);
- duplicate keys in one mapping;
- more than one document.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1 << 20  # a stack file is a few KiB; 1 MiB leaves room for PEM chains
MAX_DEPTH = 32


class UnsafeYamlError(ValueError):
    """The document is not plain, bounded YAML data. ``str()`` names where, never what."""


def _where(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"


_SAFE_KEY = re.compile(r"(?:[a-z][a-z0-9-]{0,40}:)?[A-Za-z][A-Za-z_-]{0,47}")


def _key_name(key: object) -> str:
    """A key as it may be shown: a schema-like name (letters, optional 'namespace:'); anything else could be
    part of a pasted secret and is shown as '<key>'."""
    return key if isinstance(key, str) and _SAFE_KEY.fullmatch(key) else "<key>"


def _redact(problem: str | None) -> str:
    """PyYAML's problem text without quoted input longer than a character (a tag or alias name could be
    part of a pasted secret); single characters (e.g. a tab) stay, they say what to fix."""

    def keep(match: re.Match[str]) -> str:
        return match[0] if _SAFE_QUOTED.fullmatch(match[1]) else "'…'"

    return re.sub(r"'([^']*)'", keep, problem or "syntax error")[:160]


# what PyYAML quotes that is not input: token names ('<block end>') and one (escaped) character ('\t', ':')
_SAFE_QUOTED = re.compile(r"<[a-z ]+>|[^\s\\]|\\[a-z0]|\\x[0-9a-f]{2}|\\u[0-9a-f]{4}")


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases, explicit tags, duplicate keys and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:  # type: ignore[override]
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise UnsafeYamlError(
                f"{_where(event.start_mark)}: YAML aliases ('*name') are refused (no alias expansion); "
                "write the value out"
            )
        if getattr(event, "anchor", None) is not None:
            raise UnsafeYamlError(
                f"{_where(event.start_mark)}: YAML anchors ('&name') are refused; write each value out"
            )
        if getattr(event, "tag", None) is not None:
            raise UnsafeYamlError(
                f"{_where(event.start_mark)}: explicit YAML tags ('!!binary', '!!set', '!!python/...', '!x') are "
                "refused; write a plain value (quote strings)"
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise UnsafeYamlError(f"{_where(event.start_mark)}: nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: set[object] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise UnsafeYamlError(f"{_where(key_node.start_mark)}: YAML merge keys ('<<') are refused")
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise UnsafeYamlError(
                    f"{_where(key_node.start_mark)}: a mapping key must be a string, got {_yaml_kind(key)} "
                    "(quote it, e.g. '\"1\":' or '\"on\":')"
                )
            if key in seen:
                raise UnsafeYamlError(
                    f"{_where(key_node.start_mark)}: duplicate key '{_key_name(key)}' (YAML would keep only the "
                    "last one); remove one of them"
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean (yes/no/on/off/true/false)"
    return type(value).__name__


def check_plain(value: Any, path: str = "") -> None:
    """Raise UnsafeYamlError unless ``value`` is str/int/float/bool/None/list/dict with string keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UnsafeYamlError(f"{path or '<top>'}: a mapping key must be a string, got {_yaml_kind(key)}")
            check_plain(item, f"{path}.{_key_name(key)}" if path else _key_name(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_plain(item, f"{path}[{index}]")
    elif value is None or isinstance(value, (str, int, float, bool)):
        return
    else:
        kind = type(value).__name__
        hint = (
            'an unquoted date/time is read as a timestamp: quote it, e.g. "2027-06-30T00:00:00Z"'
            if kind in ("datetime", "date")
            else "use a string, number, boolean, list or mapping"
        )
        raise UnsafeYamlError(f"{path or '<top>'}: YAML type {kind} is refused: {hint}")


def load(text: str | bytes) -> Any:
    """One YAML document as plain data, or UnsafeYamlError (position or key path, never the input)."""
    if len(text) > MAX_BYTES:
        raise UnsafeYamlError(f"larger than {MAX_BYTES} bytes; a stack file is a few KiB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnsafeYamlError(f"not UTF-8 (byte {error.start})") from None
    loader = _Loader(text)
    try:
        if not loader.check_node():
            return None
        document = loader.construct_document(loader.get_node())
        if loader.check_node():
            raise UnsafeYamlError("holds more than one YAML document ('---'); keep one")
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise UnsafeYamlError(f"not valid YAML at {_where(mark)}: {_redact(error.problem)}") from None
    except yaml.YAMLError:
        raise UnsafeYamlError("not valid YAML") from None
    except RecursionError:
        raise UnsafeYamlError(f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    check_plain(document)
    return document


def load_file(path: Path) -> Any:
    """:func:`load` of a file, refusing files over :data:`MAX_BYTES` before reading them."""
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    return load(data)
