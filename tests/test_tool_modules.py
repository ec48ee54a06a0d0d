"""One tool module on a bare MCP server over one feature built with the scripted engine: no app, no lifespan."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp import Client
from mcp.server import MCPServer

from mcp_open.edge.calls import CallRunner
from mcp_open.edge.tools import generate, rank
from mcp_open.engines.scripted import HOLD, ScriptedEngine
from mcp_open.features.embed.embedder import Embedder
from mcp_open.features.files.folders import Folders
from mcp_open.features.generate.generator import Generator
from mcp_open.runtime.slots import LoadedModel, ModelSlot
from mcp_open.settings import Settings

pytestmark = pytest.mark.anyio


def slot_on(engine: ScriptedEngine, settings: Settings) -> ModelSlot:
    """A model slot whose model is the scripted engine."""
    role = "embedding" if engine.embedding else "generation"
    return ModelSlot(role, "scripted", settings, embedding=engine.embedding, loader=lambda *_: LoadedModel(engine, 0))


def folders_of(settings: Settings) -> Folders:
    return Folders(settings.allow_dirs, settings.max_file_mb, settings.max_files)


async def test_the_generate_tool_alone_over_a_scripted_generator(tmp_path: Path) -> None:
    settings = Settings(allow_dirs=[tmp_path], max_tokens=64, timeout=0.5)
    engine = ScriptedEngine(replies=[["Hello", " there"], [HOLD]])
    (tmp_path / "notes.md").write_text("the material\n")
    mcp = MCPServer("one-tool")
    generate.register(mcp, Generator(slot_on(engine, settings), folders_of(settings), 64), CallRunner(mcp, settings))
    async with Client(mcp) as client:
        listed = await client.list_tools()
        done = await client.call_tool("generate", {"prompt": "Summarise.", "files": ["notes.md"]})
        too_many = await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 65})
        held = await client.call_tool("generate", {"prompt": "Hi"})
    (tool,) = listed.tools
    assert tool.name == "generate" and tool.description == generate.DESCRIPTION
    assert tool.annotations == generate.ANNOTATIONS
    assert tool.input_schema["properties"]["max_tokens"]["default"] == 64  # the feature's limit, not 512
    assert done.structured_content is not None and done.structured_content["text"] == "Hello there"
    assert "the material" in engine.calls[0].rendered  # the file was read through the feature's folders
    assert too_many.is_error and "above this server's limit of 64" in too_many.content[0].text  # type: ignore[union-attr]
    assert held.is_error and "--timeout of 0.5 s" in held.content[0].text  # type: ignore[union-attr]  # the runner


async def test_the_rank_tool_alone_over_a_scripted_embedder() -> None:
    settings = Settings()
    engine = ScriptedEngine(embedding=True)
    mcp = MCPServer("one-tool")
    rank.register(mcp, Embedder(slot_on(engine, settings), folders_of(settings)), CallRunner(mcp, settings))
    async with Client(mcp) as client:
        done = await client.call_tool("rank", {"query": "apples", "documents": ["apples", "bolts"], "top_k": 1})
    assert done.structured_content is not None
    (best,) = done.structured_content["results"]
    assert best["text"] == "apples" and best["index"] == 0
    (batch,) = engine.embedded  # one batch: the query (wrapped for a Qwen3 embedder), then the documents
    assert batch[0].endswith("Query:apples") and batch[1:] == ["apples", "bolts"]


async def test_the_runner_sends_progress_on_change_and_a_heartbeat_not_every_tick() -> None:
    settings = Settings(timeout=1.5)
    engine = ScriptedEngine(replies=[[HOLD]])  # holds the model, reporting nothing new, until the timeout
    mcp = MCPServer("one-tool")
    generate.register(mcp, Generator(slot_on(engine, settings), folders_of(settings), 64), CallRunner(mcp, settings))
    sent: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        sent.append(progress)

    async with Client(mcp) as client:
        held = await client.call_tool("generate", {"prompt": "Hi"}, progress_callback=on_progress)
    assert held.is_error
    # A heartbeat every 0.5 s while nothing changes (about 3 in 1.5 s, plus the prompt's own progress); a pump
    # that sent on every 0.1 s tick would have sent about 15.
    assert 2 <= len(sent) <= 8, sent
