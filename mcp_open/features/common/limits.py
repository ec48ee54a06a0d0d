"""Limits checked before any tokenizing: text sizes in bytes derived from the context, and what counts as text."""

from __future__ import annotations

import json
import unicodedata

from mcp_open.errors import InvalidRequestError, OversizedTextError

# No real text needs more bytes per token than this (English averages about 4, CJK about 3-4, runs of spaces
# more): a text above n_ctx * BYTES_PER_TOKEN bytes cannot fit the context, so it is refused before a tokenizer
# spends seconds on it.
BYTES_PER_TOKEN = 8


# The SDK's HTTP client refuses a server-sent event over 1 MiB (1,048,576 bytes); the JSON-RPC envelope and the
# SSE framing need a little of that. Tool results are kept under this many bytes.
RESULT_BYTES = 1_040_000


def check_rank_size(entries: list[str], top_k: int) -> None:
    """Refuse a ranking whose result could not reach the client, before any document is embedded.

    entries are each candidate's result entry as JSON; the top_k largest bound the result's size.
    """
    # Each entry appears twice: in the structured content as is, and in the text block as JSON inside a JSON
    # string (quotes and backslashes escaped), each with a separator.
    sizes = sorted((utf8_size(e) + utf8_size(json.dumps(e)) + 2 for e in entries), reverse=True)
    kept = sizes[:top_k]
    if sum(kept) <= RESULT_BYTES:
        return
    fits, total = 0, 0
    while fits < len(kept) and total + kept[fits] <= RESULT_BYTES:
        total += kept[fits]
        fits += 1
    raise InvalidRequestError(
        f"top_k={top_k} could make a result of {sum(kept) / 1e6:.1f} MB, over the {RESULT_BYTES / 1e6:.2f} MB "
        f"that MCP clients accept in one message; pass top_k={max(1, fits)} or less"
    )


def byte_limit(n_ctx: int) -> int:
    """Most bytes of text a context of n_ctx tokens is worth tokenizing."""
    return n_ctx * BYTES_PER_TOKEN


def check_bytes(size: int, n_ctx: int, what: str, advice: str) -> None:
    """Refuse text over the byte limit of a context, saying how big it is, the limit and what to do."""
    limit = byte_limit(n_ctx)
    if size > limit:
        raise OversizedTextError(what, size, n_ctx, limit, BYTES_PER_TOKEN, advice)


def utf8_size(text: str) -> int:
    """Bytes of text in UTF-8."""
    return len(text.encode("utf-8", "surrogatepass"))


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest start of text within limit UTF-8 bytes (never half a character)."""
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def has_content(text: str) -> bool:
    """Whether text has anything visible: letters, digits, marks, punctuation or symbols (not only spaces,
    control or zero-width format characters such as U+200B)."""
    return any(unicodedata.category(c)[0] in "LMNPS" for c in text)
