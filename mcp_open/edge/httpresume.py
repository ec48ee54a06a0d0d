"""Resumable HTTP event streams: every SSE event gets an id, a dropped stream is replayed from Last-Event-ID."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types import JSONRPCMessage

RETRY_MS = 2000  # how long a client waits before reconnecting a dropped stream
EVENTS_KEPT = 1000  # per session; progress runs at 10/s, so this is over a minute and a half of one call


class SessionEvents(EventStore):
    """The last events of one session, in memory: stream ids are request ids, which repeat across sessions."""

    def __init__(self, limit: int = EVENTS_KEPT) -> None:
        self._events: deque[tuple[EventId, StreamId, JSONRPCMessage | None]] = deque(maxlen=limit)
        self._ids = itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = str(next(self._ids))
        self._events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        found = next(((i, stream) for i, (eid, stream, _) in enumerate(self._events) if eid == last_event_id), None)
        if found is None:
            return None
        start, stream_id = found
        for event_id, stream, message in itertools.islice(self._events, start + 1, None):
            if stream == stream_id and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


def resumable(manager: StreamableHTTPSessionManager) -> None:
    """Give each new HTTP session its own event store and a reconnect hint (the SDK shares one store)."""
    admit = manager._admit_session
    manager.retry_interval = RETRY_MS

    def admit_with_events(*args: Any, **kwargs: Any) -> Any:
        transport = admit(*args, **kwargs)
        if transport is not None:
            transport._event_store = SessionEvents()
        return transport

    manager._admit_session = admit_with_events  # type: ignore[method-assign]
