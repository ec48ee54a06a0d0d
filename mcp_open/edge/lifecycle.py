"""Calls in flight: stopped with an error reply at shutdown, or when their HTTP client goes away."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio

log = logging.getLogger(__name__)

DISCONNECT_POLL_SECONDS = 0.2
DRAIN_SECONDS = 5.0  # cancelled calls answer within ~0.1 s; a machine under heavy load may need longer
SHUTDOWN_MESSAGE = "the server is shutting down (it got a stop signal); the call was stopped. Retry once it is back."


class CallStopped(Exception):
    """A call stopped by the server itself: shutdown, or the HTTP client disconnected."""


class InFlight:
    """The cancel scopes of the tool calls now running, so a stop signal can end them with an answer."""

    def __init__(self) -> None:
        self._scopes: set[anyio.CancelScope] = set()
        self.stopping = False

    def __len__(self) -> int:
        return len(self._scopes)

    @asynccontextmanager
    async def track(self, request: Any = None) -> AsyncIterator[None]:
        """Run a call's body; raises CallStopped when shutdown (or its client's disconnect) stopped it."""
        if self.stopping:
            raise CallStopped(SHUTDOWN_MESSAGE)
        gone = False
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                async with anyio.create_task_group() as tg:
                    if request is not None and hasattr(request, "is_disconnected"):
                        tg.start_soon(_watch_disconnect, request, scope)
                    try:
                        yield
                    finally:
                        gone = getattr(request, "_is_disconnected", False)
                        tg.cancel_scope.cancel()
            finally:
                self._scopes.discard(scope)
        if scope.cancelled_caught:
            raise CallStopped("the client disconnected; the call was stopped" if gone else SHUTDOWN_MESSAGE)

    def cancel_all(self) -> None:
        """Refuse new calls and stop the running ones (each answers with an error)."""
        self.stopping = True
        for scope in list(self._scopes):
            scope.cancel()

    async def drained(self, timeout: float) -> bool:
        """Wait until no call is running, at most timeout seconds."""
        with anyio.move_on_after(timeout):
            while self._scopes:
                await anyio.sleep(0.01)
        return not self._scopes

    async def stop_and_drain(self, replies_pending: Callable[[], int], reply_seconds: float = DRAIN_SECONDS) -> None:
        """Shutdown, the same on every transport: stop every call (each answers with an error), wait for them to
        end, then up to reply_seconds for the transport to send their replies."""
        self.cancel_all()
        if not await self.drained(DRAIN_SECONDS):
            log.warning("%d calls still running %.0f s after the stop signal; leaving without their answers",
                        len(self), DRAIN_SECONDS)  # fmt: skip
        with anyio.move_on_after(reply_seconds):
            while replies_pending():
                await anyio.sleep(0.01)


async def _watch_disconnect(request: Any, scope: anyio.CancelScope) -> None:
    """Stop the call once its HTTP client is gone (2025-11-25 sessions send no cancel when they close a stream)."""
    while not await request.is_disconnected():
        await anyio.sleep(DISCONNECT_POLL_SECONDS)
    scope.cancel()


_registry: weakref.WeakKeyDictionary[object, InFlight] = weakref.WeakKeyDictionary()


def in_flight_of(server: object) -> InFlight:
    """The in-flight registry of one server (made on first use)."""
    return _registry.setdefault(server, InFlight())
