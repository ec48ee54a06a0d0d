"""The info resource: version, build, GPU answer, each model's state, savings and limits, as JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import anyio.to_thread
from mcp.server import MCPServer

from mcp_open.edge.about import About
from mcp_open.edge.calls import CallRunner

if TYPE_CHECKING:
    from mcp_open.edge.wiring import App

URI = "mcp-open://info"
NAME = "server-info"


def mount(mcp: MCPServer, app: App, runner: CallRunner) -> None:
    """Add the resource to a server, over the app's self-description."""
    register(mcp, app.about)


def register(mcp: MCPServer, about: About) -> None:
    """Add the resource to a server."""

    @mcp.resource(URI, name=NAME, mime_type="application/json")
    async def server_info() -> str:
        """Version, llama.cpp build features and each model's state (off the event loop: the ledger may wait)."""
        return json.dumps(await anyio.to_thread.run_sync(about.info, abandon_on_cancel=True), indent=2)
