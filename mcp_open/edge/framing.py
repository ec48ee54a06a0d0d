"""Stdio frames checked the way JSON-RPC 2.0 and MCP say, before the SDK sees them.

Every line is one message. What is not valid JSON gets -32700, what is not a valid request gets -32600 or
-32602, with the request's id wherever it could be read, so no client waits forever for an answer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
MAX_FRAME_BYTES = 4 * 1024 * 1024  # the SDK's own limit for one HTTP request body
MAX_DEPTH = 128  # JSON nesting; the SDK's parser gives up silently deeper than about 200
BOM = "\ufeff"
ID_PATTERN = re.compile(r'"id"\s*:\s*(-?\d+|"(?:[^"\\\x00-\x1f]|\\.)*")')


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


# strict: raw control characters inside strings are errors; NaN and Infinity are not JSON either.
_decoder = json.JSONDecoder(strict=True, parse_constant=_no_constants)


@dataclass(frozen=True)
class Rejection:
    """A frame answered with an error instead of reaching the SDK; id is what the client sent (None: null)."""

    id: Any
    code: int
    message: str

    def reply(self) -> dict[str, Any]:
        """The JSON-RPC error response."""
        return {"jsonrpc": "2.0", "id": self.id, "error": {"code": self.code, "message": self.message}}


Checked = dict[str, Any] | Rejection


class LineSplitter:
    """Bytes in, complete lines out; a line over the frame limit is dropped and reported once."""

    def __init__(self, limit: int = MAX_FRAME_BYTES) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, chunk: bytes) -> Iterator[bytes | Rejection]:
        """Complete lines (without the newline) or a Rejection for each oversized one."""
        self._buffer += chunk
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False
            elif len(line) > self.limit:
                yield too_large(self.limit)
            else:
                yield line
        if len(self._buffer) > self.limit:
            if not self._skipping:
                yield too_large(self.limit)
            self._skipping = True
            self._buffer.clear()

    def finish(self) -> Iterator[bytes | Rejection]:
        """The last line, if stdin ended without a newline."""
        if self._buffer and not self._skipping:
            yield bytes(self._buffer)
        self._buffer.clear()


def too_large(limit: int) -> Rejection:
    """The answer to a frame over the limit (its id cannot be read without parsing all of it)."""
    return Rejection(
        None, INVALID_REQUEST, f"message over {limit // (1024 * 1024)} MiB; send less per call (e.g. fewer texts)"
    )


class Assembler:
    """Joins the lines of a pretty-printed message; anything else is one message (or several) per line."""

    def __init__(self, limit: int = MAX_FRAME_BYTES) -> None:
        self.limit = limit
        self._pending = ""

    def feed(self, raw: bytes) -> list[Checked]:
        """Messages and rejections for one line of stdin."""
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [Rejection(None, PARSE_ERROR, f"not UTF-8: invalid byte at offset {exc.start} of the message")]
        if self._pending:
            return self._continue(line)
        if not line.strip().lstrip(BOM):
            return []
        if _incomplete(line):
            self._pending = line
            return []
        return parse_frame(line)

    def _continue(self, line: str) -> list[Checked]:
        """Add a line to a message spread over several lines."""
        joined = self._pending + "\n" + line
        starts_afresh = _is_message(line)
        if _incomplete(joined) and len(joined) <= self.limit and not starts_afresh:
            self._pending = joined
            return []
        self._pending = ""
        if starts_afresh or _incomplete(joined) or (not _parses(joined) and _parses(line)):
            # The earlier lines were a fragment on their own; this line starts afresh.
            return [Rejection(None, PARSE_ERROR, "not valid JSON: an incomplete message"), *parse_frame(line)]
        return parse_frame(joined)


def _parses(text: str) -> bool:
    try:
        _decoder.decode(text.strip().lstrip(BOM))
    except (ValueError, RecursionError):
        return False
    return True


def _is_message(line: str) -> bool:
    """Whether a line is a whole JSON-RPC message by itself (so it cannot continue an earlier fragment)."""
    try:
        value = _decoder.decode(line.strip().lstrip(BOM))
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and "jsonrpc" in value


def _incomplete(text: str) -> bool:
    """Whether text is the start of a JSON value that more lines could finish."""
    body = text.strip().lstrip(BOM)
    if not body.startswith(("{", "[")):
        return False
    try:
        _decoder.decode(body)
    except json.JSONDecodeError as exc:
        return exc.pos >= len(body)
    except (ValueError, RecursionError):
        return False
    return False


def parse_frame(text: str) -> list[Checked]:
    """Messages in one frame (several JSON values may follow each other), each checked."""
    body = text.strip().lstrip(BOM)
    values: list[Any] = []
    pos = 0
    try:
        while pos < len(body):
            value, pos = _decoder.raw_decode(body, pos)
            values.append(value)
            while pos < len(body) and body[pos].isspace():
                pos += 1
    except json.JSONDecodeError as exc:
        why = f"not valid JSON: {exc.msg.removesuffix(' at')} at character {exc.pos}"
        return [Rejection(salvaged_id(body), PARSE_ERROR, why)]
    except RecursionError:
        return [Rejection(salvaged_id(body), PARSE_ERROR, f"not valid JSON: nested deeper than {MAX_DEPTH} levels")]
    except ValueError as exc:
        return [Rejection(salvaged_id(body), PARSE_ERROR, f"not valid JSON: {exc}")]
    return [checked for value in values for checked in check_value(value)]


def salvaged_id(text: str) -> Any:
    """The id of a message that does not parse, when exactly one plain id can be read from it (else None)."""
    found = ID_PATTERN.findall(text)
    if len(found) != 1:
        return None
    try:
        return json.loads(found[0])
    except ValueError:
        return None


def check_value(value: Any) -> list[Checked]:
    """A batch is refused per request (each with its id); anything else is one message."""
    if isinstance(value, list):
        ids = [item.get("id") for item in value if isinstance(item, dict) and _usable_id(item.get("id"))]
        message = "batches (JSON arrays) are not supported: MCP sends one message per line"
        return [Rejection(i, INVALID_REQUEST, message) for i in ids] or [Rejection(None, INVALID_REQUEST, message)]
    return [check_message(value)]


def check_message(value: Any) -> Checked:
    """The message if it is a valid JSON-RPC 2.0 request, notification or response; else why not."""
    if not isinstance(value, dict):
        return Rejection(None, INVALID_REQUEST, f"a message must be a JSON object, not {_kind(value)}")
    reply_id = value.get("id") if _echoable_id(value.get("id")) else None
    problem = _problem(value)
    if problem is not None:
        code, message = problem
        return Rejection(reply_id, code, message)
    return value


def _problem(value: dict[str, Any]) -> tuple[int, str] | None:
    """What makes a message invalid, as (code, message), or None."""
    if value.get("jsonrpc") != "2.0":
        return INVALID_REQUEST, 'every message needs "jsonrpc": "2.0"'
    if "id" in value and not _usable_id(value["id"]):
        return INVALID_REQUEST, f"id must be a string or an integer, not {_kind(value['id'])}"
    if _has_non_finite(value):
        return INVALID_REQUEST, "a number is outside the range JSON can carry (e.g. 1e400); send finite numbers"
    depth = _depth(value)
    if depth > MAX_DEPTH:
        return INVALID_REQUEST, f"the message is nested {depth} levels deep; at most {MAX_DEPTH} are accepted"
    surrogate = _lone_surrogate(value)
    if surrogate is not None:
        return PARSE_ERROR, f"not valid Unicode: an unpaired surrogate \\u{ord(surrogate):04x} in a string"
    if "method" not in value:
        if "id" in value and ("result" in value) != ("error" in value):
            return None  # a response to one of our requests
        return INVALID_REQUEST, 'a request needs a "method" (a string)'
    if not isinstance(value["method"], str):
        return INVALID_REQUEST, f"method must be a string, not {_kind(value['method'])}"
    if "params" in value and not isinstance(value["params"], dict):
        return INVALID_PARAMS, f"params must be an object (named parameters), not {_kind(value['params'])}"
    return None


def _usable_id(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _echoable_id(value: Any) -> bool:
    """Ids worth echoing in an error: valid ones and finite numbers with a fraction (the client waits on them);
    1e400 parses as infinity, which has no JSON form, so it is answered with a null id."""
    return _usable_id(value) or (isinstance(value, float) and math.isfinite(value))


def _has_non_finite(value: Any) -> bool:
    """Whether any number in a message overflowed to infinity (1e400, -1e400), which no JSON reply can echo."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", float: "a number with a fraction"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def _lone_surrogate(value: Any) -> str | None:
    """The first unpaired surrogate in any key or string (json accepts them as \\ud800 escapes)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")  # C speed; only surrogates fail
            except UnicodeEncodeError as exc:
                return item[exc.start]
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
