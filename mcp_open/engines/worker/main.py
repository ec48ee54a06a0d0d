"""A model worker: `python -m mcp_open.engines.worker.main`, started by the server over pipes, never by hand.

The only module that imports the llama.cpp engine. It serves one engine: requests arrive on stdin, replies and
progress leave on the original stdout (fd 1 itself is pointed at stderr, so no native print can corrupt them).
It ends when the server closes the pipe or dies (PR_SET_PDEATHSIG), whatever it is doing.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import queue
import signal
import sys
import threading
import time
from typing import Any

from mcp_open.engines.protocol import Hooks, ProgressFn
from mcp_open.engines.worker.wire import Channel, pack_error

PR_SET_PDEATHSIG = 1
PARENT_ENV = "MCP_OPEN_WORKER_PARENT"
# Requests answered on the reading thread even while a decode runs (the ledger counts tokens after each call).
QUICK = frozenset({"count_tokens"})
# Token progress goes back at most this often: a message per token would cost on a fast model.
TOKEN_REPORT_SECONDS = 0.02


class Worker:
    """One engine served over a channel: slow requests one at a time on the main thread, aborts at once."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.engine: Any = None
        self.jobs: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.aborted: set[int] = set()

    def serve(self) -> None:
        """Read requests on a thread of their own; run them here."""
        threading.Thread(target=self._read, name="requests", daemon=True).start()
        while True:
            rid, method, args, kwargs = self.jobs.get()
            self._run(rid, method, args, kwargs)

    def _read(self) -> None:
        while True:
            try:
                message = self.channel.receive()
            except Exception:
                message = None
            if message is None:
                os._exit(0)  # the server closed the pipe (unload, shutdown) or is gone: end now, mid-call or not
            rid, method = message[0], message[1]
            if method == "abort":
                self.aborted.add(rid)
            elif method in QUICK:
                self._run(rid, method, message[2], message[3])
            else:
                self.jobs.put(message)

    def _run(self, rid: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            value = getattr(self, f"do_{method}")(rid, *args, **kwargs)
        except BaseException as exc:  # every failure is the call's answer; the worker serves on
            self._reply(rid, "error", pack_error(exc))
        else:
            self._reply(rid, "ok", value)
        finally:
            self.aborted.discard(rid)

    def _reply(self, rid: int, kind: str, value: object) -> None:
        stats = self.engine.stats() if self.engine is not None else {}
        self.channel.send((rid, kind, value, stats))

    def _hooks(self, rid: int) -> Hooks:
        """Progress sent back as it happens (tokens at most every TOKEN_REPORT_SECONDS), stop when aborted."""
        return Hooks(
            on_prompt=lambda done, total: self.channel.send((rid, "prompt", done, total)),
            on_token=self._token_reporter(rid),
            should_stop=lambda: rid in self.aborted,
        )

    def _token_reporter(self, rid: int) -> ProgressFn:
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= TOKEN_REPORT_SECONDS or done >= total:
                last[0] = now
                self.channel.send((rid, "token", done, total))

        return report

    def do_features(self, _rid: int) -> dict[str, object]:
        """What this llama.cpp build can do."""
        from mcp_open.engines.llama import build_features

        return build_features()

    def do_load(self, _rid: int, kind: str, where: Any, how: Any) -> tuple[Any, dict[str, str], dict[str, int]]:
        """Load the engine: a GGUF through llama.cpp, or `module:function` with keyword arguments."""
        if kind == "llama":
            from mcp_open.engines.llama import LlamaEngine

            self.engine = LlamaEngine(where, how)
        else:
            module, _, name = str(where).partition(":")
            self.engine = getattr(importlib.import_module(module), name)(**how)
        return self.engine.info, dict(getattr(self.engine, "metadata", {})), self.engine.stats()

    def do_count_tokens(self, _rid: int, text: str) -> int:
        return int(self.engine.count_tokens(text))

    def do_prompt_tokens(self, _rid: int, prompt: Any) -> int:
        return int(self.engine.prompt_tokens(prompt))

    def do_complete(self, rid: int, prompt: Any, **kwargs: Any) -> Any:
        return self.engine.complete(prompt, hooks=self._hooks(rid), **kwargs)

    def do_embed(self, rid: int, texts: list[str], **kwargs: Any) -> Any:
        return self.engine.embed(texts, hooks=self._hooks(rid), **kwargs)


def die_with_parent() -> None:
    """Ask the kernel for SIGKILL when the server dies, and leave at once if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the closed pipe still ends the worker
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):
        os._exit(0)


def claim_stdio() -> Channel:
    """The protocol on stdin and a private copy of stdout; fd 1 and sys.stdout now lead to stderr."""
    reader = os.fdopen(0, "rb")
    writer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Channel(reader, writer)


def main(worker: type[Worker] = Worker) -> None:
    """Serve one engine until the server lets go."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server decides what ends
    die_with_parent()
    worker(claim_stdio()).serve()


if __name__ == "__main__":
    main()
