"""Suite 4: time to first token with a ~1,000-token shared prefix, cold against warm, through MCP and directly."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from llama_cpp import Llama

from bench import direct
from bench.prompts import QUESTIONS, document, server_prompt_tokens
from bench.session import ModelSession, note
from bench.stats import summarize

Sample = dict[str, float]


async def run(session: ModelSession, llama: Llama) -> dict[str, Any]:
    """Per repeat and side: a new document with one question (cold), then the same document with another (warm)."""
    config = session.config
    await _mcp(session, document(llama, 64, -1), QUESTIONS[0])
    samples: dict[str, list[Sample]] = {"mcp_cold": [], "mcp_warm": [], "direct_cold": [], "direct_warm": []}
    for repeat in range(config.repeats):
        note(f"prefix {session.model.name}: repeat {repeat + 1}/{config.repeats}")
        text = document(llama, config.prefix_tokens, repeat)
        questions = (QUESTIONS[0], QUESTIONS[1 + repeat % (len(QUESTIONS) - 1)])
        for side in ("mcp", "direct") if repeat % 2 == 0 else ("direct", "mcp"):
            for temperature, question in zip(("cold", "warm"), questions, strict=True):
                if side == "mcp":
                    sample = await _mcp(session, text, question)
                else:
                    sample = await anyio.to_thread.run_sync(_direct, llama, text, question)
                samples[f"{side}_{temperature}"].append(sample)
    return _report(samples)


async def _mcp(session: ModelSession, system: str, question: str) -> Sample:
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


def _direct(llama: Llama, system: str, question: str) -> Sample:
    """The same prompt tokens through llama-cpp-python, whose generate() reuses a matching prefix too."""
    ran = direct.generate(llama, server_prompt_tokens(llama, question, system), 1)
    return {"ttft_s": ran.prompt_seconds, "wall_s": ran.wall_seconds, "prompt_tokens": float(ran.prompt_tokens)}


def _report(samples: dict[str, list[Sample]]) -> dict[str, Any]:
    def side(name: str) -> dict[str, Any]:
        return {key: summarize([s[key] for s in samples[name]]) for key in ("ttft_s", "wall_s")}

    def speedup(cold: str, warm: str, key: str = "ttft_s") -> dict[str, float]:
        return summarize([c[key] / w[key] for c, w in zip(samples[cold], samples[warm], strict=True)])

    return {
        "prompt_tokens": summarize([s["prompt_tokens"] for s in samples["mcp_cold"]]),
        "cold": side("mcp_cold"),
        "warm": side("mcp_warm"),
        "warm_cached_prompt_tokens": [int(s["cached_prompt_tokens"]) for s in samples["mcp_warm"]],
        "speedup": speedup("mcp_cold", "mcp_warm"),
        "wall_speedup": speedup("mcp_cold", "mcp_warm", "wall_s"),
        "direct": {
            "cold": side("direct_cold"),
            "warm": side("direct_warm"),
            "speedup": speedup("direct_cold", "direct_warm"),
        },
        "cold_ttft_mcp_over_direct": summarize(
            [m["ttft_s"] / d["ttft_s"] for m, d in zip(samples["mcp_cold"], samples["direct_cold"], strict=True)]
        ),
    }
