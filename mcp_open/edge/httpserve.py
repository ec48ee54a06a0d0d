"""The streamable HTTP transport under uvicorn, stopping within a second on SIGINT/SIGTERM with calls answered."""

from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn
from mcp.server import MCPServer

from mcp_open.edge.httpauth import token_gate, transport_security
from mcp_open.edge.httpframes import OpenPosts, arrival_deadline, check_frames
from mcp_open.edge.httpresume import resumable
from mcp_open.edge.lifecycle import InFlight, in_flight_of
from mcp_open.settings import Settings

# uvicorn waits this long for open responses (idle event streams) to end once the calls have answered.
GRACEFUL_SECONDS = 0.5


class _StoppingServer(uvicorn.Server):
    """uvicorn that, on a stop signal, stops accepting, answers the running tool calls with an error, then exits 0.

    uvicorn alone would close the event streams at once (sse-starlette drains them on its exit flag), so the
    cancelled calls' replies would be lost; it would also re-raise the signal instead of exiting 0.
    """

    def __init__(self, config: uvicorn.Config, in_flight: InFlight, posts: OpenPosts) -> None:
        super().__init__(config)
        self.in_flight = in_flight
        self.posts = posts
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._stop_task: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._stopping or self._loop is None:  # a second signal, or one before start: uvicorn's own way
            super().handle_exit(sig, frame)
            self._captured_signals.clear()  # exit 0, not by re-raising the signal
            return
        self._stopping = True
        loop = self._loop
        loop.call_soon_threadsafe(self._start_stopping)

    def _start_stopping(self) -> None:
        assert self._loop is not None
        self._stop_task = self._loop.create_task(self._answer_calls_then_exit())  # held: the loop keeps weak refs

    async def _answer_calls_then_exit(self) -> None:
        # A signal during start-up comes before uvicorn has made its listeners; it then skips serving once it sees
        # should_exit, so only listeners that exist need closing.
        for listener in getattr(self, "servers", []):
            listener.close()  # stop accepting connections
        # The error replies reach their event streams, which then end.
        await self.in_flight.stop_and_drain(lambda: self.posts.count)
        self.should_exit = True


def serve_http(server: MCPServer, settings: Settings) -> None:
    """Serve /mcp on settings.host:settings.port until a stop signal."""
    sockets = [_bind_any_port(settings.host)] if settings.port == 0 else None
    port = sockets[0].getsockname()[1] if sockets else settings.port
    security = transport_security(settings, port)
    app = server.streamable_http_app(
        transport_security=security,
        host=settings.host,
        session_idle_timeout=settings.session_idle,
        max_sessions=settings.max_sessions,
    )
    resumable(server.session_manager)
    posts = check_frames(app, security, body_seconds=settings.request_seconds)
    config = uvicorn.Config(
        token_gate(app, settings),
        host=settings.host,
        port=port,
        http=arrival_deadline(settings.request_seconds),
        log_level="info" if settings.verbose else "warning",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,  # type: ignore[arg-type]  # typed int, used as a float
    )
    _StoppingServer(config, in_flight_of(server), posts).run(sockets=sockets)


def _bind_any_port(host: str) -> socket.socket:
    """A listening socket on a free port, so the Host check can name the port exactly."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, 0), family=family)
