"""The streamable HTTP transport under uvicorn, stopping within a second on SIGINT/SIGTERM with calls answered."""

from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn
from mcp.server import MCPServer

from mcp_open.edge.httpauth import transport_security
from mcp_open.edge.httpframes import check_frames
from mcp_open.edge.lifecycle import InFlight, in_flight_of
from mcp_open.settings import Settings

# uvicorn waits this long for open responses (the cancelled calls' error replies, idle event streams) to end.
GRACEFUL_SECONDS = 0.5


class _StoppingServer(uvicorn.Server):
    """uvicorn that cancels running tool calls on a stop signal and then exits 0 instead of re-raising it."""

    def __init__(self, config: uvicorn.Config, in_flight: InFlight) -> None:
        super().__init__(config)
        self.in_flight = in_flight
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)  # type: ignore[arg-type]

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._captured_signals.clear()  # a handled stop is a clean exit, not a death by signal
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.in_flight.cancel_all)


def serve_http(server: MCPServer, settings: Settings) -> None:
    """Serve /mcp on settings.host:settings.port until a stop signal."""
    sockets = [_bind_any_port(settings.host)] if settings.port == 0 else None
    port = sockets[0].getsockname()[1] if sockets else settings.port
    security = transport_security(settings, port)
    app = server.streamable_http_app(transport_security=security, host=settings.host)
    check_frames(app, security)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_level="info" if settings.verbose else "warning",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,  # type: ignore[arg-type]  # typed int, used as a float
    )
    _StoppingServer(config, in_flight_of(server)).run(sockets=sockets)


def _bind_any_port(host: str) -> socket.socket:
    """A listening socket on a free port, so the Host check can name the port exactly."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, 0), family=family)
