"""The engine protocol in the server, served by a model worker process: calls go over, progress and results back."""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from typing import Any

from mcp_open.engines.config import EngineConfig
from mcp_open.engines.protocol import (
    Cancelled,
    Completion,
    Constraint,
    Embedded,
    EngineInfo,
    Hooks,
    Prompt,
    Sampling,
    StopFn,
    never,
)
from mcp_open.engines.worker.crash import crash_error
from mcp_open.engines.worker.process import DIED, WorkerProcess
from mcp_open.engines.worker.wire import unpack_error

POLL_SECONDS = 0.01  # how often a waiting call asks whether it was cancelled
# A cancel the worker does not answer within this long (inside a model load, a long native call) ends the process.
KILL_AFTER_SECONDS = 2.0


class WorkerEngine:
    """One model loaded in a worker process of its own; thread-safe (the worker serialises what must be)."""

    def __init__(self, process: WorkerProcess, name: str) -> None:
        self._process = process
        self._name = name
        self._info: EngineInfo | None = None
        self._stats: dict[str, int] = {}
        self.metadata: dict[str, str] = {}

    @classmethod
    def start(cls, name: str) -> WorkerEngine:
        """A fresh worker with nothing loaded yet (it reports the llama.cpp build first)."""
        return cls(WorkerProcess(name), name)

    def features(self, should_stop: StopFn = never) -> dict[str, object]:
        """What the worker's llama.cpp build can do."""
        found: dict[str, object] = self._call("features", (), {}, Hooks(should_stop=should_stop), "starting")
        return found

    def load_llama(self, path: str, config: EngineConfig, should_stop: StopFn = never) -> None:
        """Load a GGUF with llama.cpp in the worker; a cancel ends the worker (a load cannot stop by itself)."""
        self._loaded(self._call("load", ("llama", path, config), {}, Hooks(should_stop=should_stop), "loading"))

    def load_factory(self, factory: str, kwargs: dict[str, Any], should_stop: StopFn = never) -> None:
        """Build an engine in the worker from `module:function` (tests serve scripted engines this way)."""
        self._loaded(self._call("load", ("factory", factory, kwargs), {}, Hooks(should_stop=should_stop), "loading"))

    def _loaded(self, reply: tuple[EngineInfo, dict[str, str], dict[str, int]]) -> None:
        self._info, self.metadata, self._stats = reply

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._process.pid

    @property
    def alive(self) -> bool:
        """Whether the worker still runs; the slot drops a dead engine and loads afresh."""
        return self._process.alive and not self._process.killed_on_purpose

    @property
    def info(self) -> EngineInfo:
        """What the engine in the worker said about itself when it loaded."""
        if self._info is None:
            raise RuntimeError("no model is loaded in this worker yet")
        return self._info

    def count_tokens(self, text: str) -> int:
        """Tokens of plain text (answered even while the worker decodes)."""
        return int(self._call("count_tokens", (text,), {}, Hooks(), "counting tokens"))

    def prompt_tokens(self, prompt: Prompt) -> int:
        """Tokens the prompt takes once rendered."""
        return int(self._call("prompt_tokens", (prompt,), {}, Hooks(), "counting prompt tokens"))

    def complete(
        self,
        prompt: Prompt,
        *,
        max_tokens: int,
        sampling: Sampling,
        stop: Sequence[str] = (),
        constraint: Constraint | None = None,
        hooks: Hooks | None = None,
    ) -> Completion:
        """Decode in the worker; progress arrives as it goes, a cancel lands within KILL_AFTER_SECONDS."""
        kwargs = {"max_tokens": max_tokens, "sampling": sampling, "stop": tuple(stop), "constraint": constraint}
        done: Completion = self._call("complete", (prompt,), kwargs, hooks or Hooks(), "decoding")
        return done

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks | None = None) -> Embedded:
        """Pooled vectors from the worker, packed into batches there."""
        done: Embedded = self._call("embed", (list(texts),), {"truncate": truncate}, hooks or Hooks(), "embedding")
        return done

    def stats(self) -> dict[str, int]:
        """The counters as of the worker's last reply (never waits on a busy worker), and the worker's pid."""
        return {**self._stats, "worker_pid": self.pid}

    def close(self) -> None:
        """End the worker: its memory (and GPU memory) goes back to the system."""
        self._process.close()

    def _call(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], hooks: Hooks, doing: str) -> Any:
        """One request: relay progress, ask the worker to stop on a cancel, kill it if it does not."""
        process = self._process
        rid, inbox = process.open()
        try:
            process.send((rid, method, args, kwargs))
            return self._await(rid, inbox, hooks, doing)
        finally:
            process.done(rid)

    def _await(self, rid: int, inbox: queue.Queue[tuple[Any, ...]], hooks: Hooks, doing: str) -> Any:
        """Wait for the reply to rid, relaying progress and watching for a cancel."""
        asked_at: float | None = None
        next_poll = 0.0
        while True:
            try:
                message = inbox.get(timeout=POLL_SECONDS)
            except queue.Empty:
                message = None
            now = time.monotonic()
            if asked_at is None and now >= next_poll:
                next_poll = now + POLL_SECONDS
                if hooks.should_stop():
                    asked_at = now
                    self._process.send((rid, "abort"))
            if asked_at is not None and now - asked_at > KILL_AFTER_SECONDS:
                self._process.kill()
                raise Cancelled
            if message is not None:
                done, value = self._handle(message, hooks, doing)
                if done:
                    return value

    def _handle(self, message: tuple[Any, ...], hooks: Hooks, doing: str) -> tuple[bool, Any]:
        """Act on one message: progress (not done), a result or an error (done)."""
        kind = message[1]
        if kind == "prompt" and hooks.on_prompt:
            hooks.on_prompt(message[2], message[3])
        elif kind == "token" and hooks.on_token:
            hooks.on_token(message[2], message[3])
        elif kind == "ok":
            self._stats = message[3]
            return True, message[2]
        elif kind == "error":
            self._stats = message[3]
            raise unpack_error(message[2])
        elif kind == DIED:
            if self._process.killed_on_purpose:
                raise Cancelled
            returncode = self._process.returncode
            raise crash_error(self._name, returncode if returncode is not None else -9, list(self._process.tail), doing)
        return False, None
