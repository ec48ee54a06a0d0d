"""Issue 23, finding 7: the event loop never waits on a call's own work, so pings answer during any call.

The default suite checks that pings are not held for seconds (a 2 MB schema held them 2.4 s); the soak
(MCP_OPEN_SOAK=1) uses larger inputs and prints the latencies, and RSS over 2,000 abandoned HTTP sessions.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.settings import Settings
from tests.conftest import console_script
from tests.fuzzkit import free_port, initialize, server_args
from tests.scripted import scripted_loader
from tests.searchkit import GatedEngine, app_on, search_settings

SOAK = os.environ.get("MCP_OPEN_SOAK") == "1"
# The target is 100 ms; the soak prints what this machine reaches (docs/robustness.md has the numbers).
# Checked here: no call holds pings for seconds (a 0.5 MB schema held them 4 s when checked on the event loop).
PING_LIMIT = 2.0 if SOAK else 0.6  # the soak's inputs are 4x larger; it prints what it measured
PAUSE = 0.02


def wide_schema(properties: int) -> dict[str, Any]:
    """A valid schema of about 100 bytes a property (20,000 properties: about 2 MB)."""
    props = {
        f"field_{i}": {"type": "string", "description": f"field number {i}, " + "x" * 40, "maxLength": 20}
        for i in range(properties)
    }
    return {"type": "object", "properties": props, "required": list(props)[:10]}


def deep_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for i in range(levels):
        schema = {"type": "object", "properties": {f"level{i}": schema, "note": {"type": "string"}}}
    return schema


async def ping_latencies(
    client: Client, during: Callable[[], Awaitable[object]], on_ping: Callable[[int], None] | None = None
) -> list[float]:
    """Ping every 20 ms from before `during` starts until it ends; how long each ping was held, counting the
    wait before the server could even read it (the gap between answers, less the 20 ms pause)."""
    latencies: list[float] = []
    done = anyio.Event()
    started = anyio.Event()

    async def work() -> None:
        await started.wait()
        try:
            await during()
        finally:
            done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(work)
        last = time.perf_counter()
        while not done.is_set():
            await client.send_ping()
            now = time.perf_counter()
            latencies.append(now - last - (PAUSE if latencies else 0.0))
            last = now
            if on_ping is not None:
                on_ping(len(latencies))
            started.set()
            await anyio.sleep(PAUSE)
            if done.is_set():
                break
    return latencies[1:]


def report(what: str, latencies: list[float]) -> None:
    if SOAK and latencies:
        print(f"\n{what}: {len(latencies)} pings, median {statistics.median(latencies) * 1000:.1f} ms, "
              f"max {max(latencies) * 1000:.1f} ms")  # fmt: skip


@pytest.mark.anyio
async def test_pings_answer_while_a_large_schema_is_checked(tmp_path: Path) -> None:
    settings = Settings(model="scripted", embed_model="scripted-embed", data_dir=tmp_path)
    app = compose(settings, loader=scripted_loader(ScriptedEngine(), ScriptedEngine(embedding=True)))
    async with Client(build_server(settings, app), mode="legacy") as client:  # 2025-11-25: ping exists there
        wide = ("2 MB schema", wide_schema(20_000)) if SOAK else ("0.5 MB schema", wide_schema(5_000))
        for name, schema in [wide, ("60-level schema", deep_schema(60))]:

            async def call(schema: dict[str, Any] = schema) -> object:
                return await client.call_tool("generate", {"prompt": "x", "json_schema": schema, "max_tokens": 4})

            latencies = await ping_latencies(client, call)
            report(name, latencies)
            assert max(latencies, default=0.0) < PING_LIMIT, (name, latencies)


@pytest.mark.anyio
async def test_pings_answer_while_a_folder_is_indexed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for i in range(600 if SOAK else 150):
        (root / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 10}" / f"note{i}.md").write_text(f"# Note {i}\n\n" + f"Some words about topic {i}. " * 40)
    settings = search_settings(root, data_dir=tmp_path / "data")
    # Files are read and chunked, then the second embedding batch holds until five pings were answered, so the
    # pings surely overlap the indexing however fast this machine reads.
    engine = GatedEngine(name="gated", embedding=True, width=64, n_ctx=2048, hold_after=2)

    def release_after_five(answered: int) -> None:
        if answered >= 5 and engine.holding.is_set():
            engine.release.set()

    async with Client(build_server(settings, app_on(engine, settings)), mode="legacy") as client:

        async def call() -> object:
            return await client.call_tool("search", {"query": "topic 7"})

        latencies = await ping_latencies(client, call, release_after_five)
    report("indexing", latencies)
    assert engine.release.is_set(), "the search ended before indexing reached its second batch"
    assert len(latencies) >= 3 and max(latencies) < PING_LIMIT, latencies


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


@pytest.mark.skipif(not SOAK, reason="soak: MCP_OPEN_SOAK=1")
def test_soak_rss_stays_flat_over_2000_abandoned_http_sessions(tiny_chat: Path, tiny_embed: Path) -> None:
    """Open 2,000 sessions and abandon each; with --session-idle 5 they expire, and RSS comes back down."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    args = ["--transport", "http", "--port", str(port), "--session-idle", "5"]
    proc = subprocess.Popen([console_script(), "serve", *args, *server_args(tiny_chat, tiny_embed)])
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    try:
        with httpx2.Client(timeout=30) as http:
            for _ in range(200):
                try:
                    http.post(url, json=initialize(0), headers=headers)
                    break
                except httpx2.TransportError:
                    time.sleep(0.1)
            samples = [rss_mb(proc.pid)]
            for i in range(2000):
                http.post(url, json=initialize(i), headers=headers)
                if i % 500 == 499:
                    samples.append(rss_mb(proc.pid))
            time.sleep(8)
            samples.append(rss_mb(proc.pid))
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"\nRSS (MB) at start, every 500 abandoned sessions, 8 s after: {[round(s, 1) for s in samples]}")
    assert samples[-1] - samples[0] < 30, samples
