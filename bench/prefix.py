"""Suite 4: time to first token with a ~1,000-token shared prefix, cold against warm (KV cache prefix reuse)."""

from __future__ import annotations

from typing import Any

from llama_cpp import Llama

from bench.prompts import QUESTIONS, document
from bench.session import ModelSession, note
from bench.stats import summarize


async def run(session: ModelSession, llama: Llama) -> dict[str, Any]:
    """Per repeat: a new document with one question (cold), then the same document with another (warm)."""
    config = session.config
    await _first_token(session, document(llama, 64, -1), QUESTIONS[0])
    cold: list[dict[str, float]] = []
    warm: list[dict[str, float]] = []
    for repeat in range(config.repeats):
        note(f"prefix {session.model.name}: repeat {repeat + 1}/{config.repeats}")
        text = document(llama, config.prefix_tokens, repeat)
        cold.append(await _first_token(session, text, QUESTIONS[0]))
        warm.append(await _first_token(session, text, QUESTIONS[1 + repeat % (len(QUESTIONS) - 1)]))
    return {
        "prompt_tokens": summarize([c["prompt_tokens"] for c in cold]),
        "cold": _side(cold),
        "warm": _side(warm),
        "speedup": summarize([c["ttft_s"] / w["ttft_s"] for c, w in zip(cold, warm, strict=True)]),
        "wall_speedup": summarize([c["wall_s"] / w["wall_s"] for c, w in zip(cold, warm, strict=True)]),
    }


async def _first_token(session: ModelSession, system: str, question: str) -> dict[str, float]:
    """A one-token generate: the server's time to first token, the client's wall time and the reuse it saw."""
    timed = await session.call(
        "generate", {"system": system, "prompt": question, "max_tokens": 1, "temperature": 0, "seed": 0}
    )
    usage = timed.result["usage"]
    return {
        "ttft_s": float(usage["prompt_seconds"]),
        "wall_s": timed.wall_seconds,
        "prompt_tokens": float(usage["prompt_tokens"]),
        "cached_prompt_tokens": float(usage["cached_prompt_tokens"]),
    }


def _side(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "ttft_s": summarize([r["ttft_s"] for r in runs]),
        "wall_s": summarize([r["wall_s"] for r in runs]),
        "cached_prompt_tokens": [int(r["cached_prompt_tokens"]) for r in runs],
    }
