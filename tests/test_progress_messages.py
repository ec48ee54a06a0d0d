"""Heartbeats keep a long call alive without repeating its message: each message reaches the client once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.runtime.calls import ProgressState
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings


def test_a_message_is_sent_once_until_it_changes() -> None:
    state = ProgressState()
    state.note("loading the model")
    sent = [state.next_report()[2] for _ in range(4)]
    state.update(1, 10, "1/10 tokens")
    sent += [state.next_report()[2] for _ in range(2)]
    assert sent == ["loading the model", None, None, None, "1/10 tokens", None]


@pytest.mark.anyio
async def test_a_slow_load_sends_heartbeats_but_its_message_once(tiny_chat: Path, tiny_embed: Path) -> None:
    heartbeats = anyio.Event()
    release = threading.Event()
    events: list[tuple[float, str | None]] = []

    def slow_loader(spec: str, settings: Settings, embedding: bool, note: Callable[[str], None]) -> LoadedModel:
        assert release.wait(60)  # loading lasts until the client has seen several heartbeats
        return LoadedModel(ScriptedEngine(replies=[["done"]]), 0.0)

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        events.append((progress, message))
        if len(events) >= 4:
            heartbeats.set()

    async def release_after_heartbeats() -> None:
        await heartbeats.wait()
        release.set()

    settings = Settings(model=str(tiny_chat), embed_model=str(tiny_embed))
    server = build_server(settings, compose(settings, loader=slow_loader))
    async with Client(server) as client, anyio.create_task_group() as tg:
        tg.start_soon(release_after_heartbeats)
        with anyio.fail_after(60):
            result = await client.call_tool("generate", {"prompt": "hi"}, progress_callback=on_progress)
    assert not result.is_error and len(events) >= 4
    messages = [message for _, message in events if message]
    assert messages.count(f"loading the generation model {tiny_chat}") == 1
    assert len(messages) == len(set(messages))
