"""Tool results every conforming client can take: compact JSON, vectors sent once, under 1 MiB per message."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from mcp_open.features.common.limits import RESULT_BYTES

MAX_RESULT_BYTES = RESULT_BYTES


def compact(value: Any) -> str:
    """JSON without spaces or indentation, non-ASCII kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def shape_results(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: a tools/call result's text is compact JSON without the vectors, and never too large."""
    result = await call_next(ctx)
    if ctx.method != "tools/call" or not isinstance(result, dict):
        return result
    return shaped(str((ctx.params or {}).get("name", "")), result)


def shaped(tool: str, result: dict[str, Any]) -> dict[str, Any]:
    """A tool result as the client receives it: the text block rewritten, or an error when it is too large.

    The usage ledger records calls through this too, so what it counts is what the client got."""
    structured = result.get("structuredContent")
    if result.get("isError") or not isinstance(structured, dict):
        return result
    shaped = {**result, "content": [{"type": "text", "text": text_of(tool, structured)}]}
    size = wire_size(shaped)
    if size > MAX_RESULT_BYTES:
        kept = {k: v for k, v in result.items() if k != "structuredContent"}  # e.g. 2026's resultType
        return {**kept, "content": [{"type": "text", "text": too_large(tool, structured, size)}], "isError": True}
    return shaped


def text_of(tool: str, structured: dict[str, Any]) -> str:
    """The text block: the result as compact JSON, embeddings only counted (they are in structuredContent)."""
    vectors = structured.get("embeddings") if tool == "embed" else None
    if isinstance(vectors, list):
        width = len(vectors[0]) if vectors else 0
        structured = {**structured, "embeddings": f"{len(vectors)} vectors of {width} numbers, in structuredContent"}
    return compact(structured)


def wire_size(result: dict[str, Any]) -> int:
    """Bytes of the result as it goes on the wire (compact, UTF-8)."""
    return len(compact(result).encode("utf-8"))


def too_large(tool: str, structured: dict[str, Any], size: int) -> str:
    """Why the result was not sent and how to get one that fits."""
    head = (
        f"the result would be {size / 1e6:.1f} MB, over the {MAX_RESULT_BYTES / 1e6:.2f} MB that MCP clients "
        "accept in one message, so it was not sent; "
    )
    items = structured.get("embeddings") if tool == "embed" else structured.get("results")
    count = len(items) if isinstance(items, list) and items else 0
    if count == 0:
        return head + "ask for less in one call (fewer or shorter texts)"
    fits = max(1, int(0.95 * count * MAX_RESULT_BYTES / size))  # items differ in size: keep a margin
    if tool == "embed":
        width = int(structured.get("dimensions", 0))
        return head + (
            f"embed at most {fits} texts per call, or pass dimensions (e.g. dimensions={max(1, width // 4)}) "
            "to shorten every vector"
        )
    if tool == "rank":
        return head + f"pass top_k={fits} or less"
    return head + f"send at most {fits} items per call"
