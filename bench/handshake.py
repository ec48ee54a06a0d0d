"""Suite 5: initialize latency with a large model configured; nothing may load before first use."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any, TextIO

from mcp import Client
from mcp.client.stdio import get_default_environment

from bench.config import Config
from bench.procs import SERVER_ENV, http_server, serve_args, stdio_server
from bench.session import BenchError, note
from bench.stats import summarize

IMPORTS = "import mcp_open.edge.cli, mcp_open.engines.llama, mcp_open.edge.server"


async def run(config: Config, errlog: TextIO) -> dict[str, Any]:
    """Spawn + initialize + tools/list over stdio, the import floor under it, and an HTTP handshake alone."""
    args = serve_args(config.large_model, config.large_model, config)
    rows: dict[str, list[float]] = {"stdio_total_s": [], "stdio_initialize_s": [], "tools_list_s": []}
    rows |= {"import_floor_s": [], "http_handshake_s": []}
    loaded = None
    with http_server(args, errlog) as (url, _pid):
        for repeat in range(config.handshake_repeats):
            note(f"initialize: repeat {repeat + 1}/{config.handshake_repeats}")
            first, tools, total, models = await _stdio(args, errlog, check_models=loaded is None)
            loaded = loaded if models is None else models
            rows["stdio_initialize_s"].append(first)
            rows["tools_list_s"].append(tools)
            rows["stdio_total_s"].append(total)
            rows["import_floor_s"].append(_import_floor())
            rows["http_handshake_s"].append(await _http(url))
    report: dict[str, Any] = {key: summarize(values) for key, values in rows.items()}
    report["large_model"] = config.large_model
    report["models_loaded_after_handshake"] = loaded
    return report


async def _stdio(args: list[str], errlog: TextIO, *, check_models: bool) -> tuple[float, float, float, bool | None]:
    """Seconds from spawn to initialized, for tools/list, and in all; optionally whether any model got loaded."""
    start = time.perf_counter()
    async with stdio_server(args, errlog) as client:
        ready = time.perf_counter()
        tools = await client.list_tools(cache_mode="bypass")
        done = time.perf_counter()
        if not tools.tools:
            raise BenchError("tools/list returned no tools")
        loaded = await _any_loaded(client) if check_models else None
    return ready - start, done - ready, done - start, loaded


async def _any_loaded(client: Client) -> bool:
    """Whether the server's info resource shows a loaded model."""
    info = await client.read_resource("mcp-open://info")
    text = getattr(info.contents[0], "text", "{}")
    return any(m.get("state") == "loaded" for m in json.loads(text).get("models", []))


async def _http(url: str) -> float:
    """Connect + initialize + tools/list against an HTTP server that is already running."""
    start = time.perf_counter()
    async with Client(url) as client:
        await client.list_tools(cache_mode="bypass")
        return time.perf_counter() - start


def _import_floor() -> float:
    """Seconds for a fresh interpreter to import what `mcp-open serve` imports, with the server's environment."""
    env = get_default_environment() | SERVER_ENV
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True, env=env, capture_output=True)
    return time.perf_counter() - start
