"""Suite 2: generate tokens/s through MCP, through mcp-open's engine in-process, and directly with llama-cpp-python."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from llama_cpp import Llama

from bench import direct
from bench.prompts import server_prompt_tokens, story
from bench.session import BenchError, ModelSession, note
from bench.stats import summarize
from mcp_open.engines.llama import LlamaEngine
from mcp_open.engines.protocol import Hooks

WARMUP_TOKENS = 8
SIDES = ("mcp", "engine", "direct")

Run = dict[str, Any]
Side = Callable[[str, list[int], int], Awaitable[Run]]


async def run(session: ModelSession, llama: Llama, engine: LlamaEngine) -> dict[str, Any]:
    """Generate exactly max_tokens tokens on every side per repeat, rotating which side goes first."""
    sides: dict[str, Side] = {
        "mcp": lambda prompt, _tokens, n: _mcp(session, prompt, n),
        "engine": lambda _prompt, tokens, n: anyio.to_thread.run_sync(_engine, engine, tokens, n),
        "direct": lambda _prompt, tokens, n: anyio.to_thread.run_sync(_direct, llama, tokens, n),
    }
    warm = story(-1)
    for side in sides.values():  # loads the server's model; first calls pay one-off costs
        await side(warm, server_prompt_tokens(llama, warm), WARMUP_TOKENS)
    runs: dict[str, list[Run]] = {name: [] for name in SIDES}
    n = session.config.max_tokens
    for repeat in range(session.config.repeats):
        note(f"generate {session.model.name}: repeat {repeat + 1}/{session.config.repeats}")
        prompt = story(repeat)
        tokens = server_prompt_tokens(llama, prompt)
        for name in SIDES[repeat % len(SIDES) :] + SIDES[: repeat % len(SIDES)]:
            runs[name].append(await sides[name](prompt, tokens, n))
    return _report(runs, n, llama)


async def _mcp(session: ModelSession, prompt: str, n: int) -> Run:
    """One generate call through MCP: greedy, no stop strings."""
    timed = await session.call("generate", {"prompt": prompt, "max_tokens": n, "temperature": 0, "seed": 0})
    usage = timed.result["usage"]
    prompt_seconds = float(usage["prompt_seconds"])
    return {
        "prompt_tokens": int(usage["prompt_tokens"]),
        "completion_tokens": int(usage["completion_tokens"]),
        "cached_prompt_tokens": int(usage["cached_prompt_tokens"]),
        "prompt_seconds": prompt_seconds,
        "decode_seconds": float(usage["seconds"]) - prompt_seconds,
        "wall_seconds": timed.wall_seconds,
        "reported_tps": float(usage["tokens_per_second"]),
        "text": str(timed.result["text"]).strip(),
    }


def _engine(engine: LlamaEngine, tokens: list[int], n: int) -> Run:
    """The server's own engine call, without MCP: same sampler settings as the generate tool at temperature 0."""
    done = engine.complete_tokens(tokens, n, direct.engine_greedy(), (), Hooks())
    return {
        "prompt_tokens": done.prompt_tokens,
        "completion_tokens": done.completion_tokens,
        "prompt_seconds": done.prompt_seconds,
        "decode_seconds": done.decode_seconds,
        "wall_seconds": done.prompt_seconds + done.decode_seconds,
        "ids": done.token_ids,
    }


def _direct(llama: Llama, tokens: list[int], n: int) -> Run:
    ran = direct.generate(llama, tokens, n)
    return {
        "prompt_tokens": ran.prompt_tokens,
        "completion_tokens": ran.completion_tokens,
        "prompt_seconds": ran.prompt_seconds,
        "decode_seconds": ran.decode_seconds,
        "wall_seconds": ran.wall_seconds,
        "ids": ran.token_ids,
    }


def _rates(run: Run) -> dict[str, float]:
    """Rates of one run; decode counts the n-1 tokens after the first, which the prompt pass produced."""
    done = int(run["completion_tokens"])
    if done < 2 or run["decode_seconds"] <= 0:
        raise BenchError(f"a generation produced {done} tokens; cannot measure decoding")
    return {
        "ttft_s": run["prompt_seconds"],
        "prompt_tps": run["prompt_tokens"] / run["prompt_seconds"],
        "decode_tps": (done - 1) / run["decode_seconds"],
        "e2e_tps": done / run["wall_seconds"],
    }


def _report(runs: dict[str, list[Run]], n: int, llama: Llama) -> dict[str, Any]:
    rates = {name: [_rates(r) for r in side_runs] for name, side_runs in runs.items()}
    report: dict[str, Any] = {"max_tokens": n, "prompt_tokens": runs["mcp"][0]["prompt_tokens"]}
    for name, side_rates in rates.items():
        report[name] = {key: summarize([r[key] for r in side_rates]) for key in side_rates[0]}
    report["mcp"]["reported_tps"] = summarize([r["reported_tps"] for r in runs["mcp"]])
    report["ratio"] = {
        "mcp": _ratios(rates["mcp"], rates["direct"], ("decode_tps", "prompt_tps", "e2e_tps")),
        "engine": _ratios(rates["engine"], rates["direct"], ("decode_tps", "prompt_tps")),
    }
    report["checks"] = _checks(runs, n, llama)
    return report


def _ratios(side: list[dict[str, float]], base: list[dict[str, float]], keys: tuple[str, ...]) -> dict[str, Any]:
    """Per-repeat ratios side / base (paired, so drift between repeats cancels)."""
    return {key: summarize([s[key] / b[key] for s, b in zip(side, base, strict=True)]) for key in keys}


def _checks(runs: dict[str, list[Run]], n: int, llama: Llama) -> dict[str, Any]:
    """Every side produced exactly n tokens from the same prompt; whether the texts agreed (greedy, informational)."""
    direct_texts = [llama.detokenize(r["ids"]).decode("utf-8", "replace").strip() for r in runs["direct"]]
    return {
        "full_length": all(int(r["completion_tokens"]) == n for side in runs.values() for r in side),
        "prompt_tokens_match": all(
            len({int(side[i]["prompt_tokens"]) for side in runs.values()}) == 1 for i in range(len(runs["mcp"]))
        ),
        "same_text_as_direct": [m["text"] == d for m, d in zip(runs["mcp"], direct_texts, strict=True)],
        "cached_prompt_tokens": [r["cached_prompt_tokens"] for r in runs["mcp"]],
    }
