"""Long calls: progress, cancellation that stops the decoder, FIFO queueing, the busy limit and timeouts."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.protocol import Cancelled, Completion, Hooks, Prompt
from mcp_open.engines.scripted import HOLD, ScriptedEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings
from tests.conftest import ClientFactory
from tests.scripted import scripted_client

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LONG = {"prompt": "Once upon a time", "max_tokens": 3000, "temperature": 0, "seed": 1}


def long_settings(gemma: Path, tiny_embed: Path, **overrides: Any) -> Settings:
    return Settings(model=str(gemma), embed_model=str(tiny_embed), ctx=4096, threads=2, **overrides)


async def generation_stats(client: Client) -> dict[str, Any]:
    info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
    return next(m for m in info["models"] if m["role"] == "generation")


class ProgressLog:
    """Collects progress notifications and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.events.append((progress, total, message))

    async def wait_for(self, predicate: Any, seconds: float = 60) -> None:
        with anyio.fail_after(seconds):
            while not any(predicate(*e) for e in self.events):
                await anyio.sleep(0.02)


async def cancel_mid_generation(client: Client) -> None:
    """Start a long generation, cancel it once tokens flow, then check the decoder really stopped."""
    log = ProgressLog()
    finished: list[Any] = []

    async def call() -> None:
        finished.append(await client.call_tool("generate", LONG, progress_callback=log))

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await log.wait_for(lambda p, total, msg: p >= 5)
        tg.cancel_scope.cancel()
    # Otherwise the cancel came too late to mean anything (the test's process stalled while the model decoded).
    assert not finished, "the call finished before it was cancelled"
    after = await client.call_tool("generate", {"prompt": "Hello", "max_tokens": 3, "temperature": 0})
    assert not after.is_error
    stats = await generation_stats(client)
    # The next call was served, and the decoder had stopped short of the 3000 tokens it was asked for.
    assert stats["tokens_generated"] < LONG["max_tokens"], stats


async def test_cancel_stops_the_decoder_in_memory(connect: ClientFactory, gemma: Path, tiny_embed: Path) -> None:
    async with connect(long_settings(gemma, tiny_embed)) as client:
        await cancel_mid_generation(client)


async def test_fifo_queue_positions_and_busy_error(connect_once: ClientFactory, gemma: Path, tiny_embed: Path) -> None:
    async with connect_once(long_settings(gemma, tiny_embed, max_queue=1)) as client:
        first, second = ProgressLog(), ProgressLog()
        results: dict[str, Any] = {}

        async def call(name: str, args: dict[str, Any], log: ProgressLog) -> None:
            results[name] = await client.call_tool("generate", args, progress_callback=log)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "first", LONG, first)
            await first.wait_for(lambda p, total, msg: p >= 2)
            tg.start_soon(call, "second", {"prompt": "Hi", "max_tokens": 2}, second)
            await second.wait_for(lambda p, total, msg: bool(msg) and "position 1" in msg)
            # An embedding uses another model, so it is not stuck behind the long generation.
            embedded = await client.call_tool("embed", {"texts": ["parallel"]})
            assert not embedded.is_error
            assert not results  # the long call is still running
            busy = await client.call_tool("generate", {"prompt": "Third", "max_tokens": 2})
            assert busy.is_error and "busy, 1 waiting" in busy.content[0].text
            tg.cancel_scope.cancel()
        retry = await client.call_tool("generate", {"prompt": "Now", "max_tokens": 2})
        assert not retry.is_error


async def test_fifo_order() -> None:
    # The head call holds the model until it is cancelled, so the line forms whatever the machine's speed.
    chat = ScriptedEngine(replies=[["a", HOLD], ["one"], ["two"], ["three"]])
    finished: list[tuple[int, str]] = []
    async with scripted_client(chat) as client:

        async def call(index: int, log: ProgressLog) -> None:
            result = await client.call_tool("generate", {"prompt": f"Story {index}"}, progress_callback=log)
            finished.append((index, result.structured_content["text"]))

        async with anyio.create_task_group() as tg:
            head = anyio.CancelScope()

            async def first() -> None:
                with head:
                    await client.call_tool("generate", {"prompt": "Story 0"})

            tg.start_soon(first)
            await anyio.to_thread.run_sync(chat.holding.wait)
            for index in (1, 2, 3):
                waiting = ProgressLog()
                tg.start_soon(call, index, waiting)
                await waiting.wait_for(lambda p, total, msg, i=index: bool(msg) and f"position {i}" in msg)
            head.cancel()
    assert finished == [(1, "one"), (2, "two"), (3, "three")]


SAFETY_STEPS = 20_000  # at least 20 s of "decoding", far past the 0.5 s limit


@dataclass
class EndlessEngine(ScriptedEngine):
    """Its first completion decodes until the call is stopped, however fast or slow the machine; later ones reply."""

    decoding: threading.Event = field(default_factory=threading.Event)
    steps: int = 0  # tokens of the endless completion
    steps_after_stop: int = -1  # tokens decoded once should_stop() said so (a real stop leaves this at 0)
    ended: bool = False

    def complete(self, prompt: Prompt, **kwargs: Any) -> Completion:
        if self.ended:
            return super().complete(prompt, **kwargs)
        hooks = kwargs.get("hooks") or Hooks()
        try:
            while not hooks.should_stop():
                self.steps += 1
                self.decoding.set()
                threading.Event().wait(0.001)  # one "token" of work; the loop ends only when the call is stopped
                if self.steps >= SAFETY_STEPS:  # the stop never came: end anyway, so the test fails instead of hanging
                    raise Cancelled
            self.steps_after_stop = 0
            raise Cancelled
        finally:
            self.ended = True


async def test_timeout_stops_the_call_and_frees_the_model(tiny_chat: Path, tiny_embed: Path) -> None:
    engine = EndlessEngine(replies=[["after"]])
    loads: list[str] = []

    def loader(spec: str, settings: Settings, embedding: bool, note: Any) -> LoadedModel:
        loads.append(spec)
        return LoadedModel(engine, 0.0)

    settings = Settings(model=str(tiny_chat), embed_model=str(tiny_embed), timeout=0.5)
    with anyio.fail_after(60):  # a stop that never reached the engine would keep the model busy for good
        async with Client(build_server(settings, compose(settings, loader=loader))) as client:
            timed_out = await client.call_tool("generate", {"prompt": "Go on forever", "max_tokens": 4096})
            after = await client.call_tool("generate", {"prompt": "Hello", "max_tokens": 3})
    assert timed_out.is_error and "--timeout of 0.5 s" in timed_out.content[0].text
    assert engine.decoding.is_set() and engine.steps > 0  # it was decoding when the limit struck
    assert engine.ended and engine.steps_after_stop == 0  # and decoded nothing once told to stop
    assert not after.is_error and after.structured_content["text"] == "after"
    assert loads == [str(tiny_chat)]  # the same loaded model served the next call


async def test_progress_reports_queue_load_and_tokens(connect: ClientFactory, gemma: Path, tiny_embed: Path) -> None:
    log = ProgressLog()
    async with connect(long_settings(gemma, tiny_embed)) as client:
        result = await client.call_tool("generate", {**LONG, "max_tokens": 40}, progress_callback=log)
        embedded = ProgressLog()
        await client.call_tool("embed", {"texts": [f"text {i}" for i in range(5)]}, progress_callback=embedded)
    assert not result.is_error
    values = [p for p, _, _ in log.events]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert any(msg and "loading" in msg for _, _, msg in log.events)
    assert any(total == 40 and msg and "/40 tokens" in msg for _, total, msg in log.events)


async def test_translate_reports_tokens_out_of_its_budget(
    connect_once: ClientFactory, gemma: Path, tiny_embed: Path
) -> None:
    log = ProgressLog()
    text = "\n\n".join(["I would like a cup of coffee, please."] * 4)
    async with connect_once(long_settings(gemma, tiny_embed)) as client:
        result = await client.call_tool(
            "translate", {"text": text, "target_lang": "fr", "source_lang": "en"}, progress_callback=log
        )
    assert not result.is_error
    assert result.structured_content["translations"][0]["text"].count("\n\n") == 3
    totals = {total for _, total, msg in log.events if msg and "tokens" in msg}
    assert totals and all(t is not None and t >= 4 * 8 for t in totals)
    values = [p for p, _, _ in log.events]
    assert values == sorted(values)
