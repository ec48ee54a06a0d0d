"""JSON-RPC answers the MCP revisions ask for where the SDK answers otherwise: unknown names, cursors, resources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

INVALID_PARAMS = -32602
RESOURCE_NOT_FOUND = -32002  # 2025-06-18 and 2025-11-25; 2026-07-28 retired it for -32602
PAGED_METHODS = frozenset({"tools/list", "resources/list", "resources/templates/list", "prompts/list"})


def protocol_answers(tool_names: Callable[[], Awaitable[Iterable[str]]]) -> ServerMiddleware[Any]:
    """Middleware: unknown tool and bad cursor are -32602, unknown resource -32002 on handshake revisions."""

    async def answer(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        if ctx.method == "tools/call":
            name = params.get("name")
            known = sorted(await tool_names())
            if name not in known:
                raise MCPError(
                    code=INVALID_PARAMS,
                    message=f"unknown tool {name!r}; this server offers {', '.join(known)}",
                    data={"tool": name, "tools": known},
                )
        if ctx.method in PAGED_METHODS and params.get("cursor") is not None:
            raise MCPError(
                code=INVALID_PARAMS,
                message=f"invalid cursor: {ctx.method} returns everything in one page; call it without a cursor",
            )
        try:
            return await call_next(ctx)
        except MCPError as exc:
            if (
                ctx.method == "resources/read"
                and _not_found(exc)
                and ctx.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
            ):
                raise MCPError(code=RESOURCE_NOT_FOUND, message=exc.error.message, data=exc.error.data) from None
            raise

    return answer


def _not_found(exc: MCPError) -> bool:
    """The SDK's answer for an unknown resource: -32602 carrying the uri."""
    data = exc.error.data
    return exc.error.code == INVALID_PARAMS and isinstance(data, dict) and "uri" in data
