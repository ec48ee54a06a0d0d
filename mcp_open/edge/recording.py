"""Every tool call into the usage ledger, as the agent saw it: the arguments it wrote and the result it read."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from mcp_open.edge.results import ResultLimits, compact, shaped
from mcp_open.features.accounting.account import FinishedCall
from mcp_open.features.accounting.recorder import Recorder

T = TypeVar("T")


async def recorded(
    ctx: Context, recorder: Recorder, run: Callable[[], Awaitable[T]], limits: ResultLimits | None = None
) -> T:
    """Run a call and queue it for the ledger, whether it succeeds, fails or is cancelled."""
    started = time.perf_counter()
    tool, arguments = _request(ctx)
    try:
        result = await run()
    except ToolError as exc:
        # The SDK prefixes the message like this in the text the client receives.
        recorder.submit(_failed(tool, arguments, f"Error executing tool {tool}: {exc}", started))
        raise
    except anyio.get_cancelled_exc_class():
        recorder.submit(_failed(tool, arguments, "", started))
        raise
    recorder.submit(_finished(tool, arguments, result, started, limits))
    return result


def _request(ctx: Context) -> tuple[str, str]:
    """The tool's name and its arguments as compact JSON, from the request the client sent."""
    params: Mapping[str, Any] = ctx.request_context.params or {}
    arguments = params.get("arguments") or {}
    return str(params.get("name", "")), json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))


def _finished(
    tool: str, arguments: str, result: object, started: float, limits: ResultLimits | None = None
) -> FinishedCall:
    """A successful call; what the agent reads is the result as compact JSON (the text block the client gets,
    with embed's vectors counted in, since an agent that asked for vectors reads them from structuredContent).
    A result too large to send reaches the client as an error, and is recorded as that error."""
    data = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
    if isinstance(data, dict):
        sent = shaped(tool, {"content": [], "structuredContent": data}, limits)
        if sent.get("isError"):
            return _failed(tool, arguments, sent["content"][0]["text"], started)
    text = compact(data) if isinstance(data, dict) else json.dumps(data, default=str)
    usage = getattr(result, "usage", None)
    return FinishedCall(
        tool=tool,
        arguments=arguments,
        result=text,
        usage=usage.model_dump() if isinstance(usage, BaseModel) else {},
        model=str(getattr(result, "model", "") or ""),
        seconds=time.perf_counter() - started,
        ok=True,
    )


def _failed(tool: str, arguments: str, message: str, started: float) -> FinishedCall:
    """A failed or cancelled call: the agent paid for its arguments and reads the error."""
    seconds = time.perf_counter() - started
    return FinishedCall(tool, arguments, message, {}, "", seconds, ok=False)
