"""One model under test: its stdio server (with pid) and helpers to call tools and time them."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TextIO

from mcp import Client

from bench.config import Config
from bench.models import BenchModel
from bench.procfs import child_pids
from bench.procs import model_args, stdio_server


class BenchError(RuntimeError):
    """A tool call failed or a benchmark precondition does not hold."""


@dataclass
class Timed:
    """A tool's structured result and the client's wall time for the call."""

    result: dict[str, Any]
    wall_seconds: float


@dataclass
class ModelSession:
    """A stdio client on a server configured for one model, and the server's pid."""

    client: Client
    pid: int
    model: BenchModel
    config: Config

    async def call(self, tool: str, arguments: dict[str, Any]) -> Timed:
        """Call a tool, timing it as the client sees it; a tool error aborts the benchmark."""
        return await call_tool(self.client, tool, arguments)


async def call_tool(client: Client, tool: str, arguments: dict[str, Any]) -> Timed:
    """Call a tool and time it; raises BenchError on a tool error."""
    start = time.perf_counter()
    result = await client.call_tool(tool, arguments)
    wall = time.perf_counter() - start
    if result.is_error or result.structured_content is None:
        raise BenchError(f"{tool} failed: {result.content}")
    return Timed(result.structured_content, wall)


@asynccontextmanager
async def model_session(model: BenchModel, config: Config, errlog: TextIO, *extra: str) -> AsyncIterator[ModelSession]:
    """Spawn `mcp-open serve` over stdio for the model (extra: more serve flags) and find its pid."""
    before = set(child_pids())
    async with stdio_server([*model_args(model, config), *extra], errlog) as client:
        spawned = sorted(set(child_pids()) - before)
        if len(spawned) != 1:
            raise BenchError(f"expected one new server process, found {spawned}")
        yield ModelSession(client, spawned[0], model, config)


def note(message: str) -> None:
    """Progress for whoever runs the suite (stderr: stdout stays clean)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)
