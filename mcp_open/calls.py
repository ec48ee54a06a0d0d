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

from mcp_open.engine import Cancelled

T = TypeVar("T")

# Fractional nudges keep heartbeat progress strictly increasing without claiming real work.
HEARTBEAT_STEP = 0.01
HEARTBEAT_CAP = 0.99


class ProgressState:
    """Latest progress of a call, written from any thread, read by the notifier."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.progress = 0.0
        self.total: float | None = None
        self.message = "starting"
        self.version = 0
        self._base = 0.0

    def update(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        """Record real progress; never lets the reported value go backwards."""
        with self._lock:
            self._base = max(self._base, float(progress))
            self.progress = max(self.progress, self._base)
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

    def heartbeat(self) -> tuple[float, float | None, str]:
        """A strictly larger value than last time while the real count stands still."""
        with self._lock:
            nudged = min(self.progress + HEARTBEAT_STEP, self._base + HEARTBEAT_CAP)
            self.progress = max(self.progress, nudged)
            return self.progress, self.total, self.message

    def snapshot(self) -> tuple[int, float, float | None, str]:
        """Version, progress, total and message."""
        with self._lock:
            return self.version, self.progress, self.total, self.message


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
        return False

    async def run_in_thread(self, fn: Callable[[], T]) -> T:
        """Run blocking model work off the event loop; a cancelled call raises, never returns partial work."""
        try:
            result = await anyio.to_thread.run_sync(fn)
        except Cancelled:
            await anyio.lowlevel.checkpoint()
            raise
        await anyio.lowlevel.checkpoint()
        return result
