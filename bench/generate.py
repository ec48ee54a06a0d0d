"""Suite 2: generate tokens/s through MCP against direct llama-cpp-python, same prompt tokens and token count."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from llama_cpp import Llama

from bench import direct
from bench.prompts import server_prompt_tokens, story
from bench.session import BenchError, ModelSession, note
from bench.stats import summarize

WARMUP_TOKENS = 8


async def run(session: ModelSession, llama: Llama) -> dict[str, Any]:
    """Interleave MCP and direct generations of exactly max_tokens tokens; report prompt and decode apart."""
    n = session.config.max_tokens
    await _mcp(session, story(-1), WARMUP_TOKENS)  # loads the model in the server
    await anyio.to_thread.run_sync(direct.generate, llama, server_prompt_tokens(llama, story(-1)), WARMUP_TOKENS)
    mcp_runs: list[dict[str, float]] = []
    direct_runs: list[dict[str, float]] = []
    checks: dict[str, list[Any]] = {"completion_tokens": [], "prompt_tokens_match": [], "same_text": []}
    for repeat in range(session.config.repeats):
        note(f"generate {session.model.name}: repeat {repeat + 1}/{session.config.repeats}")
        prompt = story(repeat)
        tokens = server_prompt_tokens(llama, prompt)
        mcp_first = repeat % 2 == 0
        if mcp_first:
            served = await _mcp(session, prompt, n)
        ran = await anyio.to_thread.run_sync(direct.generate, llama, tokens, n)
        if not mcp_first:
            served = await _mcp(session, prompt, n)
        mcp_runs.append(served)
        direct_runs.append(_direct_row(ran))
        checks["completion_tokens"].append(int(served["completion_tokens"]))
        checks["prompt_tokens_match"].append(int(served["prompt_tokens"]) == len(tokens))
        checks["same_text"].append(str(served["text"]).strip() == _text(llama, ran.token_ids))
    return _report(mcp_runs, direct_runs, checks, n)


async def _mcp(session: ModelSession, prompt: str, n: int) -> dict[str, Any]:
    """One generate call through MCP, greedy, with no stop strings."""
    timed = await session.call("generate", {"prompt": prompt, "max_tokens": n, "temperature": 0, "seed": 0})
    usage = timed.result["usage"]
    prompt_seconds = float(usage["prompt_seconds"])
    return {
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "cached_prompt_tokens": usage["cached_prompt_tokens"],
        "prompt_seconds": prompt_seconds,
        "decode_seconds": float(usage["seconds"]) - prompt_seconds,
        "wall_seconds": timed.wall_seconds,
        "reported_tps": float(usage["tokens_per_second"]),
        "text": timed.result["text"],
    }


def _direct_row(ran: direct.DirectRun) -> dict[str, float]:
    return {
        "prompt_tokens": ran.prompt_tokens,
        "completion_tokens": ran.completion_tokens,
        "prompt_seconds": ran.prompt_seconds,
        "decode_seconds": ran.decode_seconds,
        "wall_seconds": ran.wall_seconds,
    }


def _text(llama: Llama, ids: list[int]) -> str:
    return llama.detokenize(ids).decode("utf-8", "replace").strip()


def _rates(run: dict[str, Any]) -> dict[str, float]:
    """Prompt and decode rates of one run; decode counts the n-1 tokens after the first (which the prompt pass made)."""
    done = int(run["completion_tokens"])
    if done < 2 or run["decode_seconds"] <= 0:
        raise BenchError(f"a generation produced {done} tokens; cannot measure decoding")
    return {
        "ttft_s": run["prompt_seconds"],
        "prompt_tps": run["prompt_tokens"] / run["prompt_seconds"],
        "decode_tps": (done - 1) / run["decode_seconds"],
        "e2e_tps": done / run["wall_seconds"],
    }


def _report(
    mcp_runs: list[dict[str, Any]], direct_runs: list[dict[str, float]], checks: dict[str, list[Any]], n: int
) -> dict[str, Any]:
    mcp_rates = [_rates(r) for r in mcp_runs]
    direct_rates = [_rates(r) for r in direct_runs]
    mcp = {key: summarize([r[key] for r in mcp_rates]) for key in mcp_rates[0]}
    mcp["reported_tps"] = summarize([r["reported_tps"] for r in mcp_runs])
    paired = list(zip(mcp_rates, direct_rates, strict=True))
    return {
        "max_tokens": n,
        "prompt_tokens": int(mcp_runs[0]["prompt_tokens"]),
        "mcp": mcp,
        "direct": {key: summarize([r[key] for r in direct_rates]) for key in direct_rates[0]},
        "ratio": {
            "decode": summarize([m["decode_tps"] / d["decode_tps"] for m, d in paired]),
            "prompt": summarize([m["prompt_tps"] / d["prompt_tps"] for m, d in paired]),
            "e2e": summarize([m["e2e_tps"] / d["e2e_tps"] for m, d in paired]),
        },
        "checks": {
            "full_length": all(c == n for c in checks["completion_tokens"]),
            "completion_tokens": checks["completion_tokens"],
            "prompt_tokens_match": all(checks["prompt_tokens_match"]),
            "same_text": all(checks["same_text"]),
            "cached_prompt_tokens": [int(r["cached_prompt_tokens"]) for r in mcp_runs],
        },
    }
