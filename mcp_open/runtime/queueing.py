"""A first-come-first-served gate with a bounded waiting line and visible positions."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio

from mcp_open.errors import BusyError

POSITION_REFRESH_SECONDS = 0.25


class FifoGate:
    """Lets one call in at a time, in arrival order; at most max_waiting may wait."""

    def __init__(self, name: str, max_waiting: int) -> None:
        self.name = name
        self.max_waiting = max_waiting
        self._busy = False
        self._waiters: deque[anyio.Event] = deque()

    @property
    def waiting(self) -> int:
        """Calls waiting now."""
        return len(self._waiters)

    @property
    def busy(self) -> bool:
        """Whether a call holds the gate."""
        return self._busy

    @asynccontextmanager
    async def enter(self, on_position: Callable[[int], None] | None = None) -> AsyncIterator[None]:
        """Wait for our turn (reporting our place in line), hold the gate, pass it on."""
        await self._acquire(on_position)
        try:
            yield
        finally:
            self._release()

    def try_enter(self) -> bool:
        """Take the gate only if nobody holds it or waits for it."""
        if self._busy or self._waiters:
            return False
        self._busy = True
        return True

    def leave(self) -> None:
        """Give back a gate taken with try_enter."""
        self._release()

    async def _acquire(self, on_position: Callable[[int], None] | None) -> None:
        if not self._busy and not self._waiters:
            self._busy = True
            return
        if len(self._waiters) >= self.max_waiting:
            raise BusyError(
                f"busy, {len(self._waiters)} waiting: {self.name} is serving another call and its waiting line "
                "is full. Try again shortly, or start the server with a larger --max-queue."
            )
        turn = anyio.Event()
        self._waiters.append(turn)
        try:
            while not turn.is_set():
                if on_position:
                    on_position(self._waiters.index(turn) + 1)
                with anyio.move_on_after(POSITION_REFRESH_SECONDS):
                    await turn.wait()
        except BaseException:
            if turn.is_set():
                self._release()  # we were handed the gate but are leaving: pass it on
            else:
                self._waiters.remove(turn)
            raise

    def _release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # hand over directly so nobody can jump the line
        else:
            self._busy = False


class InflightGate:
    """Lets up to `limit` calls run at once and turns the next away: a remote server queues and batches itself."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.inflight = 0

    @property
    def waiting(self) -> int:
        """Nobody waits here: past the limit a call is turned away."""
        return 0

    @property
    def busy(self) -> bool:
        """Whether any call is in flight."""
        return self.inflight > 0

    @asynccontextmanager
    async def enter(self, on_position: Callable[[int], None] | None = None) -> AsyncIterator[None]:
        """Hold one of the places, or fail at once with the busy error."""
        if not self.try_enter(limit=self.limit):
            raise BusyError(
                f"busy, {self.inflight} calls in flight: {self.name} already has the --max-inflight limit of "
                f"{self.limit} calls running. Try again shortly, or start the server with a larger --max-inflight."
            )
        try:
            yield
        finally:
            self.leave()

    def try_enter(self, limit: int = 1) -> bool:
        """Take a place if fewer than limit are taken (1 by default: only when idle, as unloading needs)."""
        if self.inflight >= limit:
            return False
        self.inflight += 1
        return True

    def leave(self) -> None:
        """Give back a place."""
        self.inflight -= 1
