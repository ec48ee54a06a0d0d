"""A native crash costs one call: a worker that dies by each signal, seen by a real MCP client and by process count."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.runtime.slots import MAX_CRASHES
from mcp_open.settings import Settings
from tests.crashing_engine import ASSERTION, LAST_WORDS, worker_loader, worker_pids

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


@asynccontextmanager
async def crashing_client(**settings: Any) -> AsyncIterator[Client]:
    """A real server whose models are CrashingEngines, each in a worker process of its own."""
    config = Settings(model="crashy-chat", embed_model="crashy-embed", **settings)
    async with Client(build_server(config, compose(config, loader=worker_loader(replies=[["fine"]])))) as client:
        yield client


async def generate(client: Client, prompt: str, **args: Any) -> Any:
    return await client.call_tool("generate", {"prompt": prompt, **args})


async def info(client: Client) -> dict[str, Any]:
    return dict(json.loads((await client.read_resource("mcp-open://info")).contents[0].text))


def chat_slot(described: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in described["models"] if m["role"] == "generation")


@pytest.mark.parametrize(
    ("how", "named", "advice"),
    [
        ("SIGSEGV", "died with SIGSEGV", "damaged or truncated GGUF"),
        ("SIGILL", "died with SIGILL (illegal instruction, exit code 132)", "--no-cache-dir"),
        ("abort", "died with SIGABRT", ASSERTION),
        ("SIGKILL", "died with SIGKILL", "--kv-cache-type"),
    ],
)
async def test_a_crash_is_one_calls_error_and_the_next_call_gets_a_fresh_worker(
    how: str, named: str, advice: str
) -> None:
    before = set(worker_pids())
    async with crashing_client() as client:
        first = await generate(client, "hello")
        (crashed_pid,) = set(worker_pids()) - before
        crashed = await generate(client, f"crash:{how}")
        text = text_of(crashed)
        assert crashed.is_error
        assert "the model crashy-chat" in text and named in text and advice in text
        assert LAST_WORDS in text  # the worker's last stderr lines
        assert crashed_pid not in worker_pids()
        embedded = await client.call_tool("embed", {"texts": ["other models keep working"]})
        assert not embedded.is_error
        again = await generate(client, "hello")
        assert not first.is_error and not again.is_error and again.structured_content["text"] == "fine"
        assert len(set(worker_pids()) - before) == 2  # a fresh chat worker and the embedder's
        assert chat_slot(await info(client))["worker_crashes"] == 1
    assert set(worker_pids()) - before == set()  # the server closed: its workers are gone


async def test_the_illegal_instruction_advice_is_the_portable_reinstall() -> None:
    async with crashing_client() as client:
        text = text_of(await generate(client, "crash:SIGILL"))
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF' in text and "-DGGML_AMX_TILE=OFF" in text
    assert 'pip install --force-reinstall --no-cache-dir --no-deps "llama-cpp-python==' in text


async def test_repeated_crashes_mark_the_model_failed_and_stop_restarting() -> None:
    before = set(worker_pids())
    async with crashing_client() as client:
        for _ in range(MAX_CRASHES):
            assert (await generate(client, "crash:SIGSEGV")).is_error
        refused = await generate(client, "hello")
        assert refused.is_error and "marked failed" in text_of(refused) and "SIGSEGV" in text_of(refused)
        assert set(worker_pids()) - before == set()  # no restart was tried
        slot = chat_slot(await info(client))
        assert slot["state"] == "failed" and "marked failed" in slot["failure"]
        assert not (await client.call_tool("embed", {"texts": ["still here"]})).is_error


async def test_a_call_queued_behind_a_crash_is_served_by_a_fresh_worker() -> None:
    async with crashing_client() as client:
        await generate(client, "warm up")
        results: dict[str, Any] = {}

        async def run(name: str, prompt: str) -> None:
            results[name] = await generate(client, prompt)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "crashing", "crash:abort")
            await anyio.sleep(0.2)  # the crashing call holds the model; this one waits in line
            tg.start_soon(run, "queued", "hello")
        assert results["crashing"].is_error and "SIGABRT" in text_of(results["crashing"])
        assert not results["queued"].is_error and results["queued"].structured_content["text"] == "fine"


async def test_a_worker_that_ignores_the_cancel_is_killed_and_the_call_ends_in_time() -> None:
    before = set(worker_pids())
    async with crashing_client(timeout=1) as client:
        await generate(client, "warm up")
        (hung_pid,) = set(worker_pids()) - before
        start = time.monotonic()
        stopped = await generate(client, "crash:hang")
        took = time.monotonic() - start
        assert stopped.is_error and "--timeout" in text_of(stopped)
        assert took < 1 + 2 + 3  # the timeout, the two seconds of grace, and margin for a loaded 2-core machine
        assert hung_pid not in worker_pids()
        again = await generate(client, "hello")
        assert not again.is_error and again.structured_content["text"] == "fine"


async def test_a_worker_killed_while_it_loads_fails_that_call_only() -> None:
    async with crashing_client() as client:
        async with anyio.create_task_group() as tg:
            results: list[Any] = []

            async def call() -> None:
                results.append(await generate(client, "hello"))

            tg.start_soon(call)
            with anyio.fail_after(10):
                while not worker_pids():
                    await anyio.sleep(0.005)
            for pid in worker_pids():
                os.kill(pid, signal.SIGKILL)  # while it starts and loads
        assert results[0].is_error and "died with SIGKILL" in text_of(results[0])
        assert not (await generate(client, "hello")).is_error


async def test_keep_alive_ends_the_idle_worker_and_the_next_call_starts_one() -> None:
    before = set(worker_pids())
    async with crashing_client(keep_alive=0.005) as client:  # 0.3 s idle
        await generate(client, "hello")
        (first,) = set(worker_pids()) - before
        with anyio.fail_after(10):
            while first in worker_pids():
                await anyio.sleep(0.05)
        assert chat_slot(await info(client))["state"] == "unloaded"
        again = await generate(client, "hello")
        assert not again.is_error and again.structured_content["text"] == "fine"
