"""Suite 3: embed texts/s through MCP against direct batched llama-cpp-python, per batch size."""

from __future__ import annotations

import time
from typing import Any

import anyio.to_thread
from llama_cpp import Llama

from bench import direct
from bench.prompts import sentences
from bench.session import ModelSession, note
from bench.stats import summarize


async def run(session: ModelSession, llama: Llama) -> dict[str, Any]:
    """Embed the same texts in batches of each size through MCP and directly, interleaved per repeat."""
    config = session.config
    texts = sentences(max(config.batch_sizes))
    await session.call("embed", {"texts": texts[:2]})  # loads the embedding model in the server
    await anyio.to_thread.run_sync(direct.embed, llama, texts[:2])
    rows: dict[int, dict[str, list[float]]] = {b: {"mcp": [], "direct": [], "server": []} for b in config.batch_sizes}
    for repeat in range(config.embed_repeats):
        note(f"embed {session.model.name}: repeat {repeat + 1}/{config.embed_repeats}")
        for size in config.batch_sizes:
            # Small batches embed fewer texts per measurement: their per-text rate is what matters.
            count = max(size, config.embed_min_texts)
            chunks = [texts[i : i + size] for i in range(0, count, size)]
            mcp_first = repeat % 2 == 0
            if mcp_first:
                mcp_seconds, server_seconds = await _mcp(session, chunks)
            direct_seconds = await anyio.to_thread.run_sync(_direct, llama, chunks)
            if not mcp_first:
                mcp_seconds, server_seconds = await _mcp(session, chunks)
            rows[size]["mcp"].append(count / mcp_seconds)
            rows[size]["server"].append(count / server_seconds)
            rows[size]["direct"].append(count / direct_seconds)
    return _report(rows, config.batch_sizes)


async def _mcp(session: ModelSession, chunks: list[list[str]]) -> tuple[float, float]:
    """Client wall seconds and server-reported seconds to embed every chunk, one call per chunk."""
    server = 0.0
    start = time.perf_counter()
    for chunk in chunks:
        timed = await session.call("embed", {"texts": chunk})
        server += float(timed.result["usage"]["seconds"])
    return time.perf_counter() - start, server


def _direct(llama: Llama, chunks: list[list[str]]) -> float:
    return sum(direct.embed(llama, chunk) for chunk in chunks)


def _report(rows: dict[int, dict[str, list[float]]], sizes: tuple[int, ...]) -> dict[str, Any]:
    batches = {
        str(size): {
            "mcp_tps": summarize(row["mcp"]),
            "direct_tps": summarize(row["direct"]),
            "server_tps": summarize(row["server"]),
            "ratio": summarize([m / d for m, d in zip(row["mcp"], row["direct"], strict=True)]),
        }
        for size, row in rows.items()
    }
    small, large = rows[min(sizes)], rows[max(sizes)]
    return {
        "batches": batches,
        "speedup": {
            "sizes": [min(sizes), max(sizes)],
            "mcp": summarize([b / a for a, b in zip(small["mcp"], large["mcp"], strict=True)]),
            "direct": summarize([b / a for a, b in zip(small["direct"], large["direct"], strict=True)]),
        },
    }
