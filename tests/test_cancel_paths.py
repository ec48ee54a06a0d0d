"""Cancellation reaches the decoder on every path, proven by counters on decoders that never finish by themselves.

A scripted HOLD token keeps the engine busy until `should_stop` says the call was cancelled, so these tests cannot
pass because a machine was slow or fail because it was fast: a lost cancel shows as `stopped_by_caller == 0`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import HOLD, ScriptedEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings
from tests.scripted import scripted_loader
from tests.scripted_server import scripted_stdio_params
from tests.test_long_calls import ProgressLog, generation_stats

pytestmark = pytest.mark.anyio

FIVE_THEN_HOLD = [["t1", "t2", "t3", "t4", "t5", HOLD], ["free"]]


def reading_prompt(_p: float, _total: float | None, message: str | None) -> bool:
    """The engine has started on the call (it reports the prompt before its first token)."""
    return bool(message) and "reading the prompt" in str(message)


async def cancel_after_five_tokens(client: Client) -> None:
    """The lead's scenario: cancel a generation once progress passes 5 tokens."""
    log = ProgressLog()
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: client.call_tool("generate", {"prompt": "Hi", "max_tokens": 3000}, progress_callback=log))
        await log.wait_for(lambda p, total, msg: p >= 5)
        tg.cancel_scope.cancel()


async def assert_stopped_once_and_free(client: Client) -> None:
    """The held call was stopped by its cancel, counted as nothing, and the model serves the next call."""
    after = await client.call_tool("generate", {"prompt": "Again"})
    assert after.structured_content["text"] == "free"
    stats = await generation_stats(client)
    assert stats["stopped_by_caller"] == 1, stats
    assert stats["tokens_generated"] == 1 and stats["calls"] == 2, stats


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancel_reaches_a_busy_decoder_over_stdio(mode: str) -> None:
    async with Client(scripted_stdio_params(FIVE_THEN_HOLD), mode=mode) as client:
        await cancel_after_five_tokens(client)
        await assert_stopped_once_and_free(client)


async def test_client_timeout_reaches_a_busy_decoder_over_stdio() -> None:
    async with Client(scripted_stdio_params([[HOLD], ["free"]])) as client:
        with pytest.raises(MCPError):
            await client.call_tool("generate", {"prompt": "Hi"}, read_timeout_seconds=0.5)
        after = await client.call_tool("generate", {"prompt": "Again"})
        assert after.structured_content["text"] == "free"
        assert (await generation_stats(client))["stopped_by_caller"] == 1


async def test_a_call_cancelled_in_the_queue_never_reaches_the_engine_over_stdio() -> None:
    async with Client(scripted_stdio_params([[HOLD], ["free"]])) as client:
        head, queued = ProgressLog(), ProgressLog()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("generate", {"prompt": "Held"}, progress_callback=head))
            await head.wait_for(reading_prompt)
            # The queued call gets its own task group, so it is cancelled (and its cancel sent) before the head's.
            async with anyio.create_task_group() as waiting:
                waiting.start_soon(lambda: client.call_tool("generate", {"prompt": "Queued"}, progress_callback=queued))
                await queued.wait_for(lambda p, total, msg: bool(msg) and "position 1" in str(msg))
                waiting.cancel_scope.cancel()
            tg.cancel_scope.cancel()
        # The queued call left the line: the next call is the engine's second, not its third.
        await assert_stopped_once_and_free(client)


def blocking_loader(chat: ScriptedEngine, release: threading.Event) -> Callable[..., LoadedModel]:
    """A loader that takes as long as the test wants, like a model being read from a slow disk."""
    load = scripted_loader(chat, ScriptedEngine(embedding=True))

    def slow_load(*args: Any) -> LoadedModel:
        release.wait(30)
        return load(*args)

    return slow_load


async def test_a_call_cancelled_while_its_model_loads_never_decodes() -> None:
    chat, release = ScriptedEngine(replies=[["free"]]), threading.Event()
    settings = Settings(model="scripted", embed_model="scripted-embed")
    server = build_server(settings, compose(settings, loader=blocking_loader(chat, release)))
    async with Client(server) as client:
        log = ProgressLog()
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.call_tool("generate", {"prompt": "Hi"}, progress_callback=log))
            await log.wait_for(lambda p, total, msg: bool(msg) and "loading" in str(msg))
            tg.cancel_scope.cancel()  # in memory the cancel reaches the handler at once (a direct await)
            release.set()  # the load finishes after the cancel, so only the checkpoint after it can stop the call
        after = await client.call_tool("generate", {"prompt": "Again"})
    assert after.structured_content["text"] == "free"
    assert [call.prompt.turns[-1].content for call in chat.calls] == ["Again"]


async def test_info_shows_the_scripted_counters() -> None:
    """The counters the stdio tests read are the engine's own."""
    chat = ScriptedEngine(replies=[["a", "b"]])
    settings = Settings(model="scripted", embed_model="scripted-embed")
    server = build_server(settings, compose(settings, loader=scripted_loader(chat, ScriptedEngine(embedding=True))))
    async with Client(server) as client:
        await client.call_tool("generate", {"prompt": "Hi"})
        info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
    stats = next(m for m in info["models"] if m["role"] == "generation")
    assert stats["tokens_generated"] == 2 and stats["stopped_by_caller"] == 0 and stats["calls"] == 1
