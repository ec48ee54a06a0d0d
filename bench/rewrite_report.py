"""The rewrite suite's results: JSON and a markdown table per model, under bench/results/rewrite-*."""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from bench import machine, rewrite
from bench.config import Config
from bench.models import resolve_models
from bench.report import fmt, table

REWRITE_CTX = 8192  # the jobs' prompts plus output, in the tiny model's byte-level tokens too
NOTE = (
    "decode tok/s: tokens after the first over the time after the first, median [min-max] over repeats. "
    "spec/plain: paired per-repeat ratio of mcp-open's engine with drafts on and off (the same decode loop "
    "otherwise). accepted/drafted: share of draft tokens the sampler picked too; accepted/out: share of the "
    "output that came from accepted drafts. same: spec decoded the plain loop's exact tokens in every repeat "
    "(on quantised CPU kernels a batch's logits differ from one-at-a-time logits, so a near-tie can flip)."
)


def main(config: Config) -> int:
    """Run the suite on every model and write the results."""
    started = datetime.now(UTC)
    config = dataclasses.replace(config, ctx=max(config.ctx, REWRITE_CTX))
    results: dict[str, Any] = {"machine": machine.describe(), "models": {}}
    with tempfile.TemporaryDirectory(prefix="mcp-open-rewrite-") as tmp, (Path(tmp) / "servers.log").open("w+") as log:
        try:
            for model in resolve_models(config.models, Path(tmp), config.ctx):
                results["models"][model.name] = anyio.run(rewrite.run_model, model, config, log)
        except BaseException:
            log.seek(0)
            print(f"[bench] server logs (tail):\n{log.read()[-4000:]}", file=sys.stderr)
            raise
    results["meta"] = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "repeats": config.repeats,
        "threads": config.threads,
        "gpu_layers": config.gpu_layers,
        "load_average_at_end": machine.load_average(),
    }
    for path in write(results, config.out, started.strftime("%Y%m%d-%H%M%S")):
        print(path)
    print(render_summary(results))
    return 0


def write(results: dict[str, Any], out: Path, stamp: str) -> list[Path]:
    """rewrite-latest and rewrite-STAMP, as JSON and markdown."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in ("rewrite-latest", f"rewrite-{stamp}"):
        for suffix, body in ((".json", json.dumps(results, indent=2) + "\n"), (".md", render(results))):
            path = out / f"{name}{suffix}"
            path.write_text(body)
            paths.append(path)
    return paths


def render(results: dict[str, Any]) -> str:
    """The whole report as markdown."""
    meta, mach = results["meta"], results["machine"]
    parts = [
        f"# Rewrite suite: prompt-lookup speculative decoding ({meta['started']})",
        f"Command: `{meta['command']}`; {meta['seconds']:.0f} s, {meta['repeats']} repeats, threads "
        f"{meta['threads']}, GPU layers {meta['gpu_layers']}; {mach['cpu']}; GPU: {', '.join(mach['gpu']) or 'none'}; "
        f"load average {mach['load_average_at_start']} at start, {meta['load_average_at_end']} at end.",
        render_summary(results),
        NOTE,
    ]
    for name, data in results["models"].items():
        parts.append(f"## {name} ({data['max_tokens']} tokens per run, {data['draft_tokens']} draft tokens per batch)")
        parts.append(_jobs_table(data["jobs"]))
    return "\n\n".join(parts) + "\n"


def render_summary(results: dict[str, Any]) -> str:
    """One row per model: the rewrite suite's speedup and free writing's ratio."""
    rows = []
    for name, data in results["models"].items():
        s = data["summary"]
        if not s:
            continue
        free = s["free_writing_ratio"]
        rows.append(
            (
                name,
                _span(s["rewrite_speedup"]),
                f"{s['rewrite_acceptance']:.0%} / {s['rewrite_accepted_share']:.0%}",
                f"{free['median']:.3f}" if free else "-",
                f"{s['free_writing_acceptance']:.0%}",
                f"{sum(s['identical'].values())}/{len(s['identical'])}",
            )
        )
    header = ["model", "rewrite speedup (median job)", "accepted/drafted / accepted/out", "free writing", "free acc."]
    return table([*header, "same"], rows)


def _span(summary: dict[str, float]) -> str:
    return f"{summary['median']:.2f}x [{summary['min']:.2f}-{summary['max']:.2f}]"


def _jobs_table(jobs: dict[str, Any]) -> str:
    header = ["job", "prompt", "direct tok/s", "plain tok/s", "spec tok/s", "spec/plain", "acc./drafted", "acc./out"]
    header += ["same", "MCP tok/s", "MCP/direct decode", "MCP/direct TTFT"]
    rows = []
    for name, job in jobs.items():
        sides = job["sides"]

        def tps(side: str, sides: dict[str, Any] = sides) -> str:
            return fmt(sides[side]["decode_tps"], 1) if side in sides else "-"

        ratio = job.get("mcp_over_direct", {})
        rows.append(
            (
                name,
                job["prompt_tokens"],
                tps("direct"),
                tps("plain"),
                tps("spec"),
                f"{job['speedup']['median']:.2f}x" if "speedup" in job else "-",
                f"{job['accepted']}/{job['drafted']}" if "drafted" in job else "-",
                f"{job['accepted'] / max(1, job['completion_tokens']):.0%}" if "drafted" in job else "-",
                "yes" if job.get("identical_to_plain") else "no",
                tps("mcp"),
                f"{ratio['decode_tps']['median']:.2f}" if ratio else "-",
                f"{1 / ratio['ttft_s']['median']:.2f}" if ratio else "-",
            )
        )
    return table(header, rows)
