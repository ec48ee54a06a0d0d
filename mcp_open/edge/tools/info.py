"""The info resource: version, build, GPU answer, each model's state, savings and limits, as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio.to_thread
from mcp.server import MCPServer

URI = "mcp-open://info"
NAME = "server-info"


def register(mcp: MCPServer, describe: Callable[[], dict[str, object]]) -> None:
    """Add the resource to a server; describe says what it shows (blocking: it waits for the ledger)."""

    @mcp.resource(URI, name=NAME, mime_type="application/json")
    async def server_info() -> str:
        """Version, llama.cpp build features and each model's state (off the event loop: the ledger may wait)."""
        return json.dumps(await anyio.to_thread.run_sync(describe, abandon_on_cancel=True), indent=2)
