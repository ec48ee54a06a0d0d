"""Structured output, engine-independent: the JSON Schema subset we enforce, the prompt that shows it, validation.

Every keyword of a schema is either enforced while decoding (and checked again afterwards) or refused up front,
naming the keyword: never a silent fallback to looser JSON.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

from mcp_open.engines.protocol import Constraint, EngineInfo
from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.schemas import GenerateRequest


class Answer(Protocol):
    """What validating an answer needs to know of it."""

    @property
    def text(self) -> str: ...

    @property
    def finish_reason(self) -> str: ...


# What each supported keyword constrains, in the order the README lists them.
SUPPORTED = {
    "type": "any",
    "enum": "any",
    "const": "any",
    "anyOf": "any",
    "$ref": "any",
    "$defs": "any",
    "definitions": "any",
    "properties": "object",
    "required": "object",
    "additionalProperties": "object",
    "items": "array",
    "minItems": "array",
    "maxItems": "array",
    "minLength": "string",
    "maxLength": "string",
    "pattern": "string",
    "format": "string",
    "minimum": "number",
    "maximum": "number",
    "exclusiveMinimum": "number",
    "exclusiveMaximum": "number",
}
# Keywords that describe but do not constrain: accepted and passed on, nothing to enforce.
ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly"}
)
# Formats both the decoder and the validator check.
FORMATS = ("date", "email", "uuid", "ipv4", "ipv6")
# format "date" decodes as this exact pattern: the decoder's own date format lets through days the validator
# refuses (29 February of any year, year 0000), so the model could write a date the schema rejects.
_YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
_LEAP_DAY = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29"
DATE_PATTERN = f"^({_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})$"
MAX_CHOICES = 1000
MAX_SCHEMA_DEPTH = 64  # nesting levels of a json_schema (JSON values inside it included)
INSTRUCTION_SCHEMA = "Answer with one JSON value that matches this JSON Schema, and nothing else:\n{schema}"
INSTRUCTION_CHOICES = "Answer with exactly one of these, and nothing else: {choices}"


def subset_summary() -> str:
    """The supported subset in one line, for error messages."""
    return f"supported keywords: {', '.join(SUPPORTED)}; formats: {', '.join(FORMATS)}"


@dataclass(frozen=True)
class Structured:
    """A request's output constraint: what the engine enforces and what the answer is checked against."""

    constraint: Constraint
    instruction: str
    validate: Callable[[str], Any]  # answer text -> parsed value, or InvalidRequestError


def for_request(req: GenerateRequest) -> Structured | None:
    """The request's output constraint, checked; None for free text."""
    structured = prepare(req.json_schema, req.choices)
    if structured is not None and req.stop:
        raise InvalidRequestError(
            "'stop' cannot be combined with json_schema or choices: a constrained answer ends when it is complete"
        )
    return structured


def prepare(json_schema: dict[str, Any] | None, choices: list[str] | None) -> Structured | None:
    """Check a request's schema or choices (refusing what cannot be enforced); None when neither is given."""
    if json_schema is not None and choices is not None:
        raise InvalidRequestError("pass either 'json_schema' or 'choices', not both")
    if json_schema is not None:
        return _for_schema(json_schema)
    if choices is not None:
        return _for_choices(choices)
    return None


def require_support(info: EngineInfo) -> None:
    """Refuse a constraint on an engine that cannot decode under one."""
    if not info.constraints:
        raise InvalidRequestError(
            f"the model '{info.name}' ({info.kind}) cannot constrain its output, so json_schema and choices are "
            "not available on it; serve a local GGUF or a backend with a JSON-schema mode"
        )


def _for_schema(schema: dict[str, Any]) -> Structured:
    """A checked JSON Schema: valid, within the subset, satisfiable, shown to the model and enforced."""
    check_depth(schema)
    validator = _validator(schema)
    check_subset(schema)
    check_satisfiable(schema)
    shown = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    return Structured(
        constraint=Constraint(json_schema=decoding_schema(schema)),
        instruction=INSTRUCTION_SCHEMA.format(schema=shown),
        validate=lambda text: _validated(validator, text),
    )


def _for_choices(choices: list[str]) -> Structured:
    """Fixed answers: the output is exactly one of them."""
    if not choices or len(choices) > MAX_CHOICES:
        raise InvalidRequestError(f"'choices' needs between 1 and {MAX_CHOICES} strings")
    if any(not c for c in choices) or len(set(choices)) != len(choices):
        raise InvalidRequestError("'choices' must be distinct, non-empty strings")
    options = tuple(choices)

    def validate(text: str) -> str:
        if text not in options:
            raise InvalidRequestError(f"the answer {text!r} is not one of the choices; retry with a larger max_tokens")
        return text

    listed = "; ".join(json.dumps(c, ensure_ascii=False) for c in choices)
    return Structured(Constraint(choices=options), INSTRUCTION_CHOICES.format(choices=listed), validate)


def check_depth(schema: Any) -> None:
    """Refuse a schema nested deeper than MAX_SCHEMA_DEPTH (without recursion, so any depth is measured)."""
    stack, deepest = [(schema, 1)], 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_SCHEMA_DEPTH:
            raise InvalidRequestError(
                f"json_schema is nested more than {MAX_SCHEMA_DEPTH} levels deep; flatten it (use $defs and $ref "
                "for repeated parts)"
            )
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)


def check_satisfiable(schema: dict[str, Any]) -> None:
    """Refuse a schema whose $ref recursion has no end: no finite JSON value matches it, so decoding never ends."""
    defs = {f"#/{key}/{name}": sub for key in ("$defs", "definitions") for name, sub in (schema.get(key) or {}).items()}
    finite: set[str] = set()
    changed = True
    while changed:  # a fixed point: a definition is finite once some value of it needs only finite parts
        changed = False
        for ref, sub in defs.items():
            if ref not in finite and _finite(sub, finite, defs.keys()):
                finite.add(ref)
                changed = True
    if not _finite(schema, finite, defs.keys()):
        endless = sorted(set(defs) - finite)
        raise InvalidRequestError(
            f"json_schema cannot be satisfied: {', '.join(endless) or 'its $ref'} always requires itself again, so "
            "no finite JSON value matches. Give the recursion an end: make the recursive property optional (leave "
            'it out of "required"), allow an empty array (minItems 0), or add {"type": "null"} to an anyOf'
        )


def _finite(schema: Any, finite: set[str], defs: Collection[str]) -> bool:
    """Whether some finite value matches, given the definitions already known to have one."""
    if not isinstance(schema, dict):
        return True
    ref = schema.get("$ref")
    if ref == "#" or (ref in defs and ref not in finite):
        return False  # the root, or a definition not (yet) known to end
    if "anyOf" in schema:
        return any(_finite(sub, finite, defs) for sub in schema["anyOf"])
    properties = schema.get("properties") or {}
    if any(not _finite(properties.get(name), finite, defs) for name in schema.get("required") or []):
        return False
    items = schema.get("items")
    needs_item = isinstance(items, dict) and (schema.get("minItems") or 0) > 0
    return not (needs_item and not _finite(items, finite, defs))


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A validator for the schema's draft (2020-12 unless $schema says otherwise); invalid schemas refused."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise InvalidRequestError(
            f"json_schema is not a valid JSON Schema: {exc.message} (at {where}). Fix the schema; {subset_summary()}"
        ) from None
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check_subset(schema: Any, where: str = "#") -> None:
    """Refuse any keyword the constraint engine cannot enforce, naming it and where it is."""
    if isinstance(schema, bool):
        return
    for key, value in schema.items():
        if key in ANNOTATIONS:
            continue
        if key not in SUPPORTED:
            raise InvalidRequestError(
                f"json_schema keyword '{key}' at {where} cannot be enforced while decoding, so it is refused "
                f"rather than ignored; remove it or express it with the supported subset ({subset_summary()})"
            )
        _check_value(schema, key, value, where)
    for path, sub in _subschemas(schema, where):
        check_subset(sub, path)


def _check_value(schema: dict[str, Any], key: str, value: Any, where: str) -> None:
    """Keyword values the decoder handles only in part."""
    if key == "format" and value not in FORMATS:
        raise InvalidRequestError(f"json_schema format '{value}' at {where} is not supported; formats: {FORMATS}")
    if key == "format" and value == "date" and "pattern" in schema:
        raise InvalidRequestError(f"json_schema at {where} has both format 'date' and a pattern; keep one of them")
    if key == "items" and not isinstance(value, dict | bool):
        raise InvalidRequestError(f"json_schema 'items' at {where} must be one schema (tuple forms are not supported)")
    if key == "$ref" and not str(value).startswith("#"):
        raise InvalidRequestError(
            f"json_schema $ref '{value}' at {where} points outside the schema; only local references "
            "('#/$defs/...') are supported"
        )


def _subschemas(schema: dict[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    """Every schema nested in this one, with its location."""
    for key in ("properties", "$defs", "definitions"):
        for name, sub in (schema.get(key) or {}).items():
            yield f"{where}/{key}/{name}", sub
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield f"{where}/{key}", schema[key]
    for index, sub in enumerate(schema.get("anyOf") or []):
        yield f"{where}/anyOf/{index}", sub


def decoding_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema the decoder enforces: stricter where the decoder alone would let invalid answers through.

    Objects with listed properties get no unlisted ones, and dates are decoded as an exact calendar pattern.
    """
    tight = copy.deepcopy(schema)
    _tighten(tight)
    return tight


def _tighten(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    if schema.get("format") == "date":
        del schema["format"]
        schema["pattern"] = DATE_PATTERN
    for _, sub in _subschemas(schema, ""):
        _tighten(sub)


def _validated(validator: jsonschema.protocols.Validator, text: str) -> Any:
    """The parsed answer, checked against the caller's own schema."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"the answer is not complete JSON ({exc.msg}); give it a larger max_tokens, or bound the schema's "
            "strings and arrays (maxLength, maxItems)"
        ) from None
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise InvalidRequestError(f"the answer does not match the schema at {where}: {error.message}")
    return value


def parse(structured: Structured, text: str, finish_reason: str, max_tokens: int) -> Any:
    """The validated value of an answer; an answer cut by the budget says so."""
    try:
        return structured.validate(text)
    except InvalidRequestError:
        if finish_reason != "length":
            raise
        raise InvalidRequestError(
            f"the answer reached max_tokens={max_tokens} before it was complete; give it a larger max_tokens, or "
            "bound the schema's strings and arrays (maxLength, maxItems)"
        ) from None


def parse_all(
    structured: Structured, done: Sequence[Answer], names: Sequence[str | None], max_tokens: int
) -> list[Any]:
    """The validated value of each answer; a failure names its file."""
    values = []
    for answer, name in zip(done, names, strict=True):
        try:
            values.append(parse(structured, answer.text, answer.finish_reason, max_tokens))
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"'{name}': {exc}" if name else str(exc)) from None
    return values


def json_lines(names: Sequence[str | None], values: Sequence[Any]) -> str:
    """One JSON object per line: the file and its value."""
    rows = [json.dumps({"path": n, "data": v}, ensure_ascii=False) for n, v in zip(names, values, strict=True)]
    return "\n".join(rows) + "\n"


def with_instruction(content: str, structured: Structured) -> str:
    """A user turn followed by the output instruction."""
    return f"{content}\n\n{structured.instruction}"
