"""A real MCP server whose models are scripted engines, for exact token streams through the real tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings


def scripted_loader(chat: ScriptedEngine, embedder: ScriptedEngine) -> Callable[..., LoadedModel]:
    """A slot loader that hands out the scripted engines instead of loading GGUF files."""

    def load(_spec: str, _settings: Settings, embedding: bool, _progress: Callable[[str], None]) -> LoadedModel:
        return LoadedModel(embedder if embedding else chat, 0.0)

    return load


@asynccontextmanager
async def scripted_client(
    chat: ScriptedEngine | None = None, embedder: ScriptedEngine | None = None, **settings: Any
) -> AsyncIterator[Client]:
    """An in-memory MCP client on a real server whose generation and embedding models are scripted."""
    chat = chat or ScriptedEngine()
    embedder = embedder or ScriptedEngine(embedding=True, name="scripted-embed")
    config = Settings(model="scripted", embed_model="scripted-embed", **settings)
    service = compose(config, loader=scripted_loader(chat, embedder))
    async with Client(build_server(config, service)) as client:
        yield client
