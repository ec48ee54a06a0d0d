"""Suite 1: round trip of trivial calls (languages, tools/list) over stdio, streamable HTTP and in memory."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TextIO

from mcp import Client

from bench.config import Config
from bench.models import BenchModel
from bench.procs import http_server, model_args, stdio_server
from bench.session import note
from bench.stats import summarize
from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import App, compose
from mcp_open.settings import Settings

WARMUP_CALLS = 5
KINDS = ("languages", "tools_list")


async def run(model: BenchModel, config: Config, errlog: TextIO) -> dict[str, Any]:
    """Time many trivial calls per transport, rotating the transports' order every repeat."""
    args = model_args(model, config)
    settings = Settings.model_validate(
        {"model": model.path, "embed_model": model.embed_path, "ctx": config.ctx, "threads": config.threads}
    )
    async with AsyncExitStack() as stack:
        url, _pid = stack.enter_context(http_server(args, errlog))
        clients = {
            "stdio": await stack.enter_async_context(stdio_server(args, errlog)),
            "http": await stack.enter_async_context(Client(url)),
            "memory": await stack.enter_async_context(Client(build_server(settings))),
        }
        samples: dict[str, dict[str, list[float]]] = {name: {kind: [] for kind in KINDS} for name in clients}
        for client in clients.values():
            await _calls(client, WARMUP_CALLS)
        names = list(clients)
        for repeat in range(config.repeats):
            note(f"round trip: repeat {repeat + 1}/{config.repeats}")
            for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
                for kind, values in (await _calls(clients[name], config.calls_per_repeat)).items():
                    samples[name][kind].extend(values)
    report: dict[str, Any] = {
        name: {f"{kind}_ms": summarize(values) for kind, values in kinds.items()} for name, kinds in samples.items()
    }
    report["function"] = {"languages_ms": summarize(_function_calls(compose(settings), config.roundtrip_calls))}
    report["calls"] = config.calls_per_repeat * config.repeats
    return report


async def _calls(client: Client, count: int) -> dict[str, list[float]]:
    """count calls of each kind, alternating, in milliseconds."""
    kinds: dict[str, Callable[[], Awaitable[Any]]] = {
        "languages": lambda: client.call_tool("languages", {}),
        "tools_list": lambda: client.list_tools(cache_mode="bypass"),
    }
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(count):
        for kind, call in kinds.items():
            start = time.perf_counter()
            await call()
            times[kind].append((time.perf_counter() - start) * 1000)
    return times


def _function_calls(app: App, count: int) -> list[float]:
    """The tool's own work as a plain function call, in milliseconds: the floor under any transport."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        app.translator.languages()
        times.append((time.perf_counter() - start) * 1000)
    return times
