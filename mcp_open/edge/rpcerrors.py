"""JSON-RPC errors that name what was wrong, where the SDK answers only "Invalid request parameters"."""

from __future__ import annotations

from typing import Any

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from pydantic import ValidationError

INVALID_PARAMS = -32602
SDK_VAGUE = "Invalid request parameters"
NOT_INITIALIZED = (
    "the session is not initialized: send initialize (then notifications/initialized) before {method}, "
    "or use the 2026-07-28 protocol, which needs no handshake"
)


async def explain_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: replace the SDK's vague -32602 (and prompts/get's internal error) with what was wrong."""
    try:
        return await call_next(ctx)
    except ValidationError as exc:
        raise MCPError(code=INVALID_PARAMS, message=f"invalid params for {ctx.method}: {describe(exc)}") from None
    except MCPError as exc:
        if exc.error.code == INVALID_PARAMS and exc.error.message == SDK_VAGUE and not exc.error.data:
            # The SDK raises this bare error only from its not-yet-initialized gate.
            raise MCPError(code=INVALID_PARAMS, message=NOT_INITIALIZED.format(method=ctx.method)) from None
        raise
    except ValueError as exc:
        if ctx.method == "prompts/get":  # the SDK's "Unknown prompt" would otherwise be an internal error
            raise MCPError(code=INVALID_PARAMS, message=f"{exc}; this server offers no prompts") from None
        raise


def describe(exc: ValidationError, limit: int = 3) -> str:
    """The first few problems as 'field: why', without echoing the caller's values."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"] if not _is_union_tag(p)) or "params"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _is_union_tag(part: object) -> bool:
    """Pydantic names union members in error paths (e.g. 'CallToolRequestParams'); they mean nothing to a caller."""
    return isinstance(part, str) and part[:1].isupper()
