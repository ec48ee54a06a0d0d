"""Running one tool call: progress pump, the server's --timeout, the usage ledger, errors explained."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ListRootsResult

from mcp_open.edge import recording
from mcp_open.edge.lifecycle import CallStopped, in_flight_of
from mcp_open.edge.results import ResultLimits
from mcp_open.edge.roots import root_paths
from mcp_open.engines.protocol import Cancelled
from mcp_open.errors import McpOpenError, os_error_meaning
from mcp_open.features.accounting.recorder import Recorder
from mcp_open.runtime.calls import CallContext, ProgressState
from mcp_open.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

PROGRESS_TICK_SECONDS = 0.1  # at most ten notifications a second
HEARTBEAT_SECONDS = 0.5  # at least one a second (with margin), so timeouts that reset on progress never fire


class ServerTimeout(Exception):
    """A call ran past --timeout and was stopped."""


class CallRunner:
    """Runs the tool calls of one server: each recorded, timed, tracked for shutdown, with progress."""

    def __init__(self, mcp: MCPServer, settings: Settings, recorder: Recorder | None = None) -> None:
        self.settings = settings
        self.recorder = recorder
        self.in_flight = in_flight_of(mcp)

    def local_roots(self, declared: ListRootsResult | None) -> list[Path]:
        """A client's roots name folders on its own machine: honoured over stdio, ignored over HTTP."""
        return root_paths(declared) if self.settings.transport == "stdio" else []

    async def run(self, ctx: Context, work: Callable[[CallContext], Awaitable[T]]) -> T:
        """Run one call, recorded in the usage ledger (when the server keeps one)."""
        if self.recorder is None:
            return await self._run(ctx, work)
        limits = ResultLimits(self.settings.max_result_tokens, can_write=not self.settings.read_only)
        return await recording.recorded(ctx, self.recorder, lambda: self._run(ctx, work), limits)

    async def _run(self, ctx: Context, work: Callable[[CallContext], Awaitable[T]]) -> T:
        """Run one call with progress, the timeout and errors turned into tool errors."""
        call = CallContext()
        failure: BaseException | None = None
        result: T | None = None
        try:
            async with self.in_flight.track(ctx.request_context.request), anyio.create_task_group() as tg:
                tg.start_soon(pump_progress, ctx, call.progress)
                try:
                    # move_on_after, not fail_after: only our own limit may be reported as the server's --timeout.
                    with anyio.move_on_after(self.settings.timeout) as limit:
                        result = await work(call)
                    if limit.cancelled_caught:
                        failure = ServerTimeout()
                except (McpOpenError, Cancelled) as exc:
                    failure = exc
                except Exception as exc:  # a bug or an engine failure: say so, keep serving
                    log.exception("unexpected failure in a tool call")
                    failure = exc
                finally:
                    tg.cancel_scope.cancel()
        except CallStopped as exc:  # shutdown or a dropped HTTP client: answer (if anyone listens), free the model
            failure = exc
        if failure is not None:
            raise ToolError(explain(failure, self.settings.timeout))
        assert result is not None
        return result


async def pump_progress(ctx: Context, state: ProgressState) -> None:
    """Send progress when it changes (at most 10/s) and a heartbeat at least once a second."""
    sent_version = -1
    last_sent = time.monotonic()
    while True:
        await anyio.sleep(PROGRESS_TICK_SECONDS)
        now = time.monotonic()
        if state.version == sent_version and now - last_sent < HEARTBEAT_SECONDS:
            continue
        sent_version = state.version
        await ctx.report_progress(*state.next_report())
        last_sent = now


def explain(failure: BaseException, timeout: float | None) -> str:
    """The user-facing text of a failed call."""
    if isinstance(failure, ServerTimeout):
        return (
            f"the call ran past the server's --timeout of {timeout or 0:g} s and was stopped; the model is free "
            "again. Ask for less (fewer max_tokens, shorter input) or restart the server with a larger --timeout."
        )
    if isinstance(failure, Cancelled):
        return "the call was cancelled"
    if isinstance(failure, CallStopped):
        return str(failure)
    if isinstance(failure, OSError) and failure.errno is not None:
        where = failure.filename if failure.filename is not None else None
        return f"the call failed: {os_error_meaning(failure, where)}. The server is still running."
    if isinstance(failure, RecursionError):
        return (
            "the input is nested too deeply to process (objects or lists inside each other hundreds of levels "
            "deep); flatten it and try again. The server is still running."
        )
    if not isinstance(failure, McpOpenError):
        return (
            f"unexpected {type(failure).__name__}: {failure}. The server is still running; its stderr has the "
            "details (run with -v for more). Retrying with a shorter input or another model may help."
        )
    return str(failure)
