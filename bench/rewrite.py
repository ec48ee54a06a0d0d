"""The rewrite suite: decode speed with prompt-lookup drafts against the plain loop, through MCP and directly.

Sides, per job and repeat, in rotating order, all greedy with seed 0 on the same prompt tokens:
- direct: llama-cpp-python's own generate loop (the plain baseline outside mcp-open),
- plain / spec: mcp-open's engine in this process, drafts off / on (the decode loop itself),
- mcp / mcp-plain: the generate tool over stdio, on a server with drafts on / off (--draft-tokens 0).
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Any, TextIO

import anyio.to_thread
from llama_cpp import Llama

from bench import direct
from bench.config import Config
from bench.models import BenchModel
from bench.prompts import server_prompt_tokens
from bench.rewrite_tasks import Job, jobs
from bench.session import ModelSession, model_session, note
from bench.stats import summarize
from mcp_open.engines.llama import LlamaEngine
from mcp_open.engines.protocol import Hooks

WARMUP_TOKENS = 8
Run = dict[str, Any]


async def run_model(model: BenchModel, config: Config, errlog: TextIO) -> dict[str, Any]:
    """Every job on one model, every side per repeat."""
    sides = config.rewrite_sides
    llama = await anyio.to_thread.run_sync(direct.load_generator, model, config)
    engine = await anyio.to_thread.run_sync(direct.load_engine, model, config)
    drafts = engine.decoder.draft_tokens
    try:
        async with AsyncExitStack() as stack:
            servers: dict[str, ModelSession] = {}
            for name, extra in (("mcp", ("--draft-tokens", str(drafts))), ("mcp-plain", ("--draft-tokens", "0"))):
                if name in sides:
                    servers[name] = await stack.enter_async_context(model_session(model, config, errlog, *extra))
            runner = _Sides(llama, engine, drafts, servers, config.rewrite_tokens)
            out: dict[str, Any] = {"max_tokens": config.rewrite_tokens, "draft_tokens": drafts, "jobs": {}}
            for job in jobs():
                out["jobs"][job.name] = await _job(runner, job, config, sides, model.name)
    finally:
        engine.close()
        llama.close()
    out["summary"] = summary(out["jobs"])
    return out


async def _job(runner: _Sides, job: Job, config: Config, sides: tuple[str, ...], model: str) -> dict[str, Any]:
    tokens = server_prompt_tokens(runner.llama, job.prompt)
    for side in sides:  # first calls pay one-off costs (and each side's KV cache gets this prompt)
        await runner.run(side, job.prompt, tokens, WARMUP_TOKENS)
    runs: dict[str, list[Run]] = {side: [] for side in sides}
    for repeat in range(config.repeats):
        note(f"rewrite {model} {job.name}: repeat {repeat + 1}/{config.repeats}")
        for side in sides[repeat % len(sides) :] + sides[: repeat % len(sides)]:
            runs[side].append(await runner.run(side, job.prompt, tokens, runner.max_tokens))
    return _report(job, len(tokens), runs)


class _Sides:
    """How each side decodes one prompt."""

    def __init__(
        self, llama: Llama, engine: LlamaEngine, drafts: int, servers: dict[str, ModelSession], max_tokens: int
    ) -> None:
        self.llama, self.engine, self.drafts, self.servers, self.max_tokens = llama, engine, drafts, servers, max_tokens

    async def run(self, side: str, prompt: str, tokens: list[int], n: int) -> Run:
        if side == "direct":
            return await anyio.to_thread.run_sync(self._direct, tokens, n)
        if side in ("plain", "spec"):
            return await anyio.to_thread.run_sync(self._engine, tokens, n, self.drafts if side == "spec" else 0)
        return await self._mcp(self.servers[side], prompt, n)

    def _direct(self, tokens: list[int], n: int) -> Run:
        ran = direct.generate(self.llama, tokens, n)
        tps = _tps(ran.token_ids, ran.decode_seconds)
        return {"ids": ran.token_ids, "ttft_s": ran.prompt_seconds, "decode_tps": tps}

    def _engine(self, tokens: list[int], n: int, drafts: int) -> Run:
        self.engine.decoder.draft_tokens = drafts
        done = self.engine.complete_tokens(tokens, n, direct.engine_greedy(), (), Hooks())
        return {
            "ids": done.token_ids,
            "ttft_s": done.prompt_seconds,
            "decode_tps": _tps(done.token_ids, done.decode_seconds),
            "drafted": done.drafted_tokens,
            "accepted": done.accepted_tokens,
        }

    async def _mcp(self, session: ModelSession, prompt: str, n: int) -> Run:
        start = time.perf_counter()
        timed = await session.call("generate", {"prompt": prompt, "max_tokens": n, "temperature": 0, "seed": 0})
        usage = timed.result["usage"]
        return {
            "completion_tokens": int(usage["completion_tokens"]),
            "ttft_s": float(usage["prompt_seconds"]),
            "decode_tps": float(usage["tokens_per_second"]),
            "drafted": int(usage.get("drafted_tokens", 0)),
            "accepted": int(usage.get("accepted_tokens", 0)),
            "wall_s": time.perf_counter() - start,
        }


def _tps(ids: list[int], seconds: float) -> float:
    """Decode rate: the tokens after the first one, which the prompt pass produced."""
    return (len(ids) - 1) / seconds if len(ids) > 1 and seconds > 0 else 0.0


def _report(job: Job, prompt_tokens: int, runs: dict[str, list[Run]]) -> dict[str, Any]:
    out: dict[str, Any] = {"rewrite": job.rewrite, "prompt_tokens": prompt_tokens, "sides": {}}
    for side, side_runs in runs.items():
        out["sides"][side] = {key: summarize([r[key] for r in side_runs]) for key in ("decode_tps", "ttft_s")}
    if "plain" in runs and "spec" in runs:
        spec, plain = runs["spec"], runs["plain"]
        out["speedup"] = _paired(spec, plain, "decode_tps")
        out["drafted"], out["accepted"] = spec[0]["drafted"], spec[0]["accepted"]
        out["completion_tokens"] = len(spec[0]["ids"])
        out["identical_to_plain"] = all(s["ids"] == p["ids"] for s, p in zip(spec, plain, strict=True))
    if "mcp" in runs and "direct" in runs:
        out["mcp_over_direct"] = {k: _paired(runs["mcp"], runs["direct"], k) for k in ("decode_tps", "ttft_s")}
    if "mcp-plain" in runs and "direct" in runs:
        out["mcp_plain_over_direct"] = {
            k: _paired(runs["mcp-plain"], runs["direct"], k) for k in ("decode_tps", "ttft_s")
        }
    return out


def _paired(side: list[Run], base: list[Run], key: str) -> dict[str, float]:
    """Per-repeat ratios (paired, so drift between repeats cancels)."""
    return summarize([s[key] / b[key] for s, b in zip(side, base, strict=True) if b[key] > 0])


def summary(jobs_out: dict[str, Any]) -> dict[str, Any]:
    """Rewrite jobs together (median of their speedups, acceptance over all their drafts) and free writing."""
    rewrites = [j for j in jobs_out.values() if j["rewrite"] and "speedup" in j]
    free = [j for j in jobs_out.values() if not j["rewrite"] and "speedup" in j]
    if not rewrites:
        return {}
    drafted = sum(j["drafted"] for j in rewrites)
    return {
        "rewrite_speedup": summarize([j["speedup"]["median"] for j in rewrites]),
        "rewrite_acceptance": round(sum(j["accepted"] for j in rewrites) / drafted, 3) if drafted else 0.0,
        "rewrite_accepted_share": round(
            sum(j["accepted"] for j in rewrites) / max(1, sum(j["completion_tokens"] for j in rewrites)), 3
        ),
        "free_writing_ratio": free[0]["speedup"] if free else None,
        "free_writing_acceptance": round(free[0]["accepted"] / free[0]["drafted"], 3)
        if free and free[0]["drafted"]
        else 0.0,
        "identical": {name: j["identical_to_plain"] for name, j in jobs_out.items() if "identical_to_plain" in j},
    }
