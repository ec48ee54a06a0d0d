"""One tool call in flight: progress state, cancellation checks and worker threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

T = TypeVar("T")

# MCP wants each notification's progress above the last; while the real count stands still (loading, queueing,
# reading a prompt) notifications add this much, never reaching the next whole unit of real work.
HEARTBEAT_STEP = 0.001
HEARTBEAT_CAP = 0.999


class ProgressState:
    """Latest progress of a call, written from any thread, read by the notifier."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._real = 0.0
        self._sent = -1.0
        self.total: float | None = None
        self.message = "starting"
        self._sent_message: str | None = None
        self.version = 0

    def update(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Record real progress; never lets it go backwards."""
        with self._lock:
            self._real = max(self._real, float(progress))
            if total is not None:
                self.total = float(total)
            if message is not None:
                self.message = message
            self.version += 1

    def note(self, message: str) -> None:
        """Change only the message (queue position, loading, downloading)."""
        with self._lock:
            self.message = message
            self.version += 1

    def next_report(self) -> tuple[float, float | None, str | None]:
        """Progress above the last one sent, the total, and the message only when it changed.

        Heartbeats repeat while a model loads or a call waits; clients showed the same "loading ..." line for each.
        """
        with self._lock:
            if self._real > self._sent:
                value = self._real
            else:
                value = max(self._sent, min(self._sent + HEARTBEAT_STEP, self._real + HEARTBEAT_CAP))
            self._sent = value
            message = None if self.message == self._sent_message else self.message
            self._sent_message = self.message
            return value, self.total, message


class CallContext:
    """What the service needs from a call: progress to report and a way to learn it was cancelled."""

    def __init__(self, progress: ProgressState | None = None) -> None:
        self.progress = progress or ProgressState()
        self.started = time.monotonic()
        self._cancelled_exc = anyio.get_cancelled_exc_class()

    def should_stop(self) -> bool:
        """True once the call was cancelled or timed out (call from a worker thread)."""
        try:
            anyio.from_thread.check_cancelled()
        except self._cancelled_exc:
            return True
        except RuntimeError:  # a thread of its own (a model load left to finish for the next call): never cancelled
            return False
        return False

    async def run_abandonable(self, fn: Callable[[], T]) -> T:
        """Run pure work that shares nothing (parsing a schema) off the event loop; a cancel or --timeout answers at
        once and the thread's result is dropped when it ends."""
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)

    async def run_in_thread(self, fn: Callable[[], T]) -> T:
        """Run blocking model work off the event loop; a cancelled call raises, never returns partial work."""
        try:
            return await anyio.to_thread.run_sync(fn)
        finally:
            await anyio.lowlevel.checkpoint()  # cancelled: raise here, never hand back partial work
