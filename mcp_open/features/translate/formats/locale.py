"""Software locale files: JSON, YAML and gettext .po; keys, comments and order kept, only values translated."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from mcp_open.errors import InvalidRequestError
from mcp_open.features.translate.formats import Extracted

Setter = Callable[[str], None]


def read_json(data: bytes) -> Extracted:
    """Every string value of a JSON document (nested objects and arrays walked), keys untouched."""
    text = data.decode("utf-8-sig")
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"not valid JSON ({exc}); fix the file or translate it as text") from exc
    holder = [tree]
    setters: list[Setter] = []
    units: list[str] = []
    _walk(holder, 0, units, setters)
    indent = _indent(text)

    def rebuild(translations: list[str], _target: str) -> bytes:
        for setter, value in zip(setters, translations, strict=True):
            setter(value)
        out = json.dumps(holder[0], ensure_ascii=False, indent=indent)
        return (out + ("\n" if text.endswith("\n") else "")).encode("utf-8")

    return Extracted(units, rebuild)


def read_yaml(data: bytes) -> Extracted:
    """Every string scalar of a YAML document (round-trip: comments, order and quoting kept), keys untouched."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        tree = yaml.load(data.decode("utf-8-sig"))
    except YAMLError as exc:
        raise InvalidRequestError(f"not valid YAML ({exc}); fix the file or translate it as text") from exc
    holder = [tree]
    setters: list[Setter] = []
    units: list[str] = []
    _walk(holder, 0, units, setters)

    def rebuild(translations: list[str], _target: str) -> bytes:
        for setter, value in zip(setters, translations, strict=True):
            setter(value)
        out = io.StringIO()
        yaml.dump(holder[0], out)
        return out.getvalue().encode("utf-8")

    return Extracted(units, rebuild)


def _walk(container: Any, key: Any, units: list[str], setters: list[Setter]) -> None:
    """Collect string leaves (keeping the scalar's own type, e.g. a quoted YAML string) with a setter for each."""
    value = container[key]
    if isinstance(value, str):
        kind = type(value)
        units.append(str(value))

        def setter(new: str, c: Any = container, k: Any = key, t: type = kind) -> None:
            c[k] = new if t is str else t(new)

        setters.append(setter)
    elif isinstance(value, dict):
        for child in value:
            _walk(value, child, units, setters)
    elif isinstance(value, list):
        for index in range(len(value)):
            _walk(value, index, units, setters)


def _indent(text: str) -> int | None:
    """The indentation of a JSON file's second line (None: all on one line)."""
    lines = text.split("\n")
    if len(lines) < 2:
        return None
    second = lines[1]
    return len(second) - len(second.lstrip(" ")) or 2


def read_po(data: bytes) -> Extracted:
    """Every msgid (and msgid_plural) of a gettext catalogue, translated into msgstr; comments and flags kept."""
    import polib

    try:
        catalogue = polib.pofile(data.decode("utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(f"not a valid .po file ({exc}); fix it or translate it as text") from exc
    entries = [e for e in catalogue if not e.obsolete and e.msgid]
    units: list[str] = []
    for entry in entries:
        units.append(entry.msgid)
        if entry.msgid_plural:
            units.append(entry.msgid_plural)

    def rebuild(translations: list[str], target: str) -> bytes:
        values = iter(translations)
        for entry in entries:
            single = next(values)
            if entry.msgid_plural:
                plural = next(values)
                count = max(2, len(entry.msgstr_plural))
                entry.msgstr_plural = {i: single if i == 0 else plural for i in range(count)}
            else:
                entry.msgstr = single
        catalogue.metadata["Language"] = target
        return str(catalogue).encode("utf-8")

    return Extracted(units, rebuild)
