"""Tool results every client can take and every calling model can read: compact JSON, vectors sent once, under
1 MiB per message and under a token budget, refused with the way out when too big, before anything is sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext

from mcp_open.features.common.limits import RESULT_BYTES

MAX_RESULT_BYTES = RESULT_BYTES
BYTES_PER_TOKEN = 3  # JSON full of numbers and punctuation tokenizes densely; CJK is about 3 bytes a token
DEFAULT_MAX_TOKENS = 25_000  # Claude Code's MAX_MCP_OUTPUT_TOKENS; Settings.max_result_tokens


def compact(value: Any) -> str:
    """JSON without spaces or indentation, non-ASCII kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ResultLimits:
    """How large a result may be: the calling model's token budget, and whether writing to disk is a way out."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    can_write: bool = True


def result_shaper(limits: ResultLimits) -> ServerMiddleware[Any]:
    """Middleware: a tools/call result's text is compact JSON without the vectors, never too large to send or read.

    Clients such as Claude Code and pydantic-ai give the model structuredContent rather than the text block, so
    structuredContent is complete on its own and is what the token budget measures.
    """

    async def shape(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/call" or not isinstance(result, dict):
            return result
        return shaped(str((ctx.params or {}).get("name", "")), result, limits)

    return shape


def shaped(tool: str, result: dict[str, Any], limits: ResultLimits | None = None) -> dict[str, Any]:
    """A tool result as the client receives it: the text block rewritten, or an error when it is too large.

    The usage ledger records calls through this too, so what it counts is what the client got."""
    limits = limits or ResultLimits()
    structured = result.get("structuredContent")
    if result.get("isError") or not isinstance(structured, dict):
        return result
    shaped = {**result, "content": [{"type": "text", "text": text_of(tool, structured)}]}
    size, tokens = wire_size(shaped), estimated_tokens(structured)
    if size <= MAX_RESULT_BYTES and tokens <= limits.max_tokens:
        return shaped
    kept = {k: v for k, v in result.items() if k != "structuredContent"}  # e.g. 2026's resultType
    why = too_large(tool, structured, size, tokens, limits)
    return {**kept, "content": [{"type": "text", "text": why}], "isError": True}


def text_of(tool: str, structured: dict[str, Any]) -> str:
    """The text block: the result as compact JSON, embeddings only counted (they are in structuredContent)."""
    vectors = structured.get("embeddings") if tool == "embed" else None
    if isinstance(vectors, list) and vectors:
        width = len(vectors[0])
        structured = {**structured, "embeddings": f"{len(vectors)} vectors of {width} numbers, in structuredContent"}
    return compact(structured)


def wire_size(result: dict[str, Any]) -> int:
    """Bytes of the result as it goes on the wire (compact, UTF-8)."""
    return len(compact(result).encode("utf-8"))


def estimated_tokens(structured: dict[str, Any]) -> int:
    """Tokens the calling model would read: the structured result's UTF-8 bytes over BYTES_PER_TOKEN."""
    return -(-len(compact(structured).encode("utf-8")) // BYTES_PER_TOKEN)


def too_large(tool: str, structured: dict[str, Any], size: int, tokens: int, limits: ResultLimits) -> str:
    """Why the result was not sent and how to get one that fits."""
    if size > MAX_RESULT_BYTES:
        head = (
            f"the result would be {size / 1e6:.1f} MB, over the {MAX_RESULT_BYTES / 1e6:.2f} MB that MCP clients "
            "accept in one message, so it was not sent; "
        )
        share = MAX_RESULT_BYTES / size
    else:
        head = (
            f"the result would be about {tokens:,} tokens, over this server's limit of {limits.max_tokens:,} for what "
            "the calling model reads (--max-result-tokens; Claude Code cuts results above 25,000), so it was not sent; "
        )
        share = limits.max_tokens / tokens
    return head + way_out(tool, structured, share, can_write=limits.can_write)


def way_out(tool: str, structured: dict[str, Any], share: float, *, can_write: bool) -> str:
    """The cheapest change that makes the result fit: write it to disk, or ask for fewer items."""
    items = structured.get("embeddings") if tool == "embed" else structured.get("results", structured.get("passages"))
    count = len(items) if isinstance(items, list) else 0
    fits = max(1, int(0.95 * count * share))  # items differ in size: keep a margin
    if tool == "embed":
        width = int(structured.get("dimensions", 0))
        disk = "pass output_path (a .npy or .jsonl file) to write the vectors to disk, or " if can_write else ""
        return disk + (
            f"embed at most {fits} texts per call, or pass dimensions (e.g. dimensions={max(1, width // 4)}) "
            "to shorten every vector"
        )
    if tool in ("rank", "search") and count:
        return f"pass top_k={fits} or less"
    if tool in ("generate", "translate") and can_write:
        return "pass output_path to have it written to disk (you get a short receipt), or ask for less per call"
    if count:
        return f"send at most {fits} items per call"
    return "ask for less in one call (fewer or shorter texts, fewer files, a smaller max_tokens)"
