"""HTTP request bodies checked like stdio frames, so malformed ones get the same clear JSON-RPC errors.

The SDK answers a batch, a missing "jsonrpc" or array params with a pydantic dump, and an id of null as if it
were a notification (202, no answer); this check runs after the Host/Origin guard and the bearer-token check.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import RequireAuthMiddleware
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_open.edge.framing import INVALID_REQUEST, MAX_FRAME_BYTES, PARSE_ERROR, Rejection, parse_frame, too_large

SPOKEN_VERSIONS = (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)
UNSUPPORTED_PROTOCOL_VERSION = -32022


class OpenPosts:
    """How many POST requests to the endpoint have not finished their response (a stop waits for their answers)."""

    def __init__(self) -> None:
        self.count = 0


class CheckedFrames:
    """ASGI wrapper of the /mcp endpoint: POST bodies must be one valid JSON-RPC message."""

    def __init__(
        self, app: ASGIApp, security: TransportSecuritySettings, posts: OpenPosts, body_seconds: float
    ) -> None:
        self.app = app
        self.guard = TransportSecurityMiddleware(security)
        self.posts = posts
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            wrong = version_rejection(scope, None)
            if wrong is not None:
                await JSONResponse(wrong, status_code=400)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        refused = await self.guard.validate_request(Request(scope, receive), is_post=True)
        if refused is not None:
            await refused(scope, receive, send)
            return
        with anyio.move_on_after(self.body_seconds) as late:
            body = await _read_capped(receive, MAX_FRAME_BYTES)
        if late.cancelled_caught:
            why = f"the request body did not arrive within {self.body_seconds:g} s (--request-seconds); send it whole"
            await JSONResponse(Rejection(None, INVALID_REQUEST, why).reply(), status_code=408)(scope, receive, send)
            return
        rejection = too_large(MAX_FRAME_BYTES) if body is None else check_body(body)
        if rejection is not None:
            status = 413 if body is None else 400
            await JSONResponse(rejection.reply(), status_code=status)(scope, receive, send)
            return
        assert body is not None
        wrong = version_rejection(scope, body)
        if wrong is not None:
            await JSONResponse(wrong, status_code=400)(scope, receive, send)
            return
        # A BOM is allowed here (RFC 8259 lets parsers ignore one); the SDK's own parser does not, so drop it.
        self.posts.count += 1
        try:
            await self.app(scope, _replay(body.removeprefix(b"\xef\xbb\xbf"), receive), send)
        finally:
            self.posts.count -= 1


def check_body(body: bytes) -> Rejection | None:
    """Why a request body is not one valid JSON-RPC message, or None if it is."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(None, PARSE_ERROR, f"not UTF-8: invalid byte at offset {exc.start} of the message")
    checked = parse_frame(text)
    if not checked:
        return Rejection(None, PARSE_ERROR, "the request body is empty; send one JSON-RPC message")
    if len(checked) > 1:
        return Rejection(None, INVALID_REQUEST, "send one JSON-RPC message per request")
    first = checked[0]
    return first if isinstance(first, Rejection) else None


def version_rejection(scope: Scope, body: bytes | None) -> dict[str, Any] | None:
    """The reply to an MCP-Protocol-Version header this server does not speak, or None (the SDK's reply is about
    2026 envelope keys, which misleads a client that merely sent a version we do not know)."""
    header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"mcp-protocol-version"), None)
    if header is None or header in SPOKEN_VERSIONS:
        return None
    message = (
        f"unsupported MCP-Protocol-Version {header!r}: this server speaks {', '.join(SPOKEN_VERSIONS)}; "
        "send the version the initialize handshake agreed on (or 2026-07-28)"
    )
    error = {
        "code": UNSUPPORTED_PROTOCOL_VERSION,
        "message": message,
        "data": {"supported": list(SPOKEN_VERSIONS), "requested": header},
    }
    return {"jsonrpc": "2.0", "id": _request_id(body), "error": error}


def _request_id(body: bytes | None) -> Any:
    """The id of a checked request body (None for notifications and GET/DELETE)."""
    if body is None:
        return None
    message = json.loads(body.removeprefix(b"\xef\xbb\xbf"))
    return message.get("id") if isinstance(message, dict) else None


async def _read_capped(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past limit bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out the already-read body once, then the client's later messages (disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def check_frames(
    app: Starlette, security: TransportSecuritySettings, path: str = "/mcp", *, body_seconds: float = 10.0
) -> OpenPosts:
    """Put the body check in front of the MCP endpoint, inside its bearer-token check; returns its POST count."""
    posts = OpenPosts()
    for route in app.routes:
        if getattr(route, "path", None) != path:
            continue
        holder: Any = route.app if isinstance(route.app, RequireAuthMiddleware) else route  # type: ignore[attr-defined]
        holder.app = CheckedFrames(holder.app, security, posts, body_seconds)
    return posts


def arrival_deadline(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol, dropping a connection whose request headers do not arrive within seconds.

    uvicorn times out idle kept-alive connections but not a request that arrives slowly (slowloris): 300 partial
    requests stayed open indefinitely. The body has its own deadline in CheckedFrames.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DeadlineProtocol(H11Protocol):
        _arrival: asyncio.TimerHandle | None = None
        _armed_for: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._arrival is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # a new request begins on a kept-alive connection
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._arrival is not None:
                self._arrival.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._armed_for = self.cycle
            self._arrival = self.loop.call_later(seconds, self._check_arrival)

        def _check_arrival(self) -> None:
            self._arrival = None
            if self.cycle is self._armed_for and not self.transport.is_closing():
                self.transport.close()  # no request started since: its headers never came

    return DeadlineProtocol
