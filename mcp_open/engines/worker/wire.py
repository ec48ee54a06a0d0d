"""Messages between the server and a model worker: length-prefixed pickles over a pipe, exceptions as plain data.

Both ends are this package in processes the server starts itself, so pickle carries the protocol's dataclasses
(Prompt, Completion, Embedded with its numpy array) as they are.
"""

from __future__ import annotations

import importlib
import pickle
import struct
import threading
from typing import IO, Any

HEADER = struct.Struct("!I")
# Exceptions rebuilt as themselves on the server side; anything else arrives as a RuntimeError naming its type.
KNOWN_MODULES = ("builtins", "mcp_open.")


class Channel:
    """One direction-pair of the pipe: whole messages written under a lock, read one at a time."""

    def __init__(self, reader: IO[bytes], writer: IO[bytes]) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = threading.Lock()

    def send(self, message: object) -> None:
        """Write one message (from any thread); raises OSError once the other end is gone."""
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            self._writer.write(HEADER.pack(len(body)) + body)
            self._writer.flush()

    def receive(self) -> Any:
        """The next message, or None once the other end closed the pipe."""
        head = self._read(HEADER.size)
        if head is None:
            return None
        body = self._read(HEADER.unpack(head)[0])
        return None if body is None else pickle.loads(body)

    def _read(self, size: int) -> bytes | None:
        chunks, left = [], size
        while left:
            chunk = self._reader.read(left)
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def pack_error(exc: BaseException) -> dict[str, object]:
    """An exception as data: its class path, args and attributes (no __init__ is re-run to rebuild it)."""
    kind = type(exc)
    state = {k: v for k, v in vars(exc).items() if _picklable(v)}
    return {"module": kind.__module__, "name": kind.__qualname__, "args": _safe_args(exc.args), "state": state}


def unpack_error(data: dict[str, Any]) -> BaseException:
    """The exception pack_error described, as its own class when that is ours or a builtin."""
    module, name = str(data["module"]), str(data["name"])
    kind: Any = None
    if module == "builtins" or module.startswith(KNOWN_MODULES[1]):
        kind = getattr(importlib.import_module(module), name, None)
    if not (isinstance(kind, type) and issubclass(kind, BaseException)):
        text = data["args"][0] if data["args"] else ""
        return RuntimeError(f"{module}.{name}: {text}")
    exc = kind.__new__(kind)
    exc.args = tuple(data["args"])
    exc.__dict__.update(data["state"])
    return exc


def _safe_args(args: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(a if _picklable(a) else repr(a) for a in args)


def _picklable(value: object) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True
