"""Structured output: decode speed constrained vs free (same model, same run) and validity over ten schemas.

`python -m bench.structured` writes bench/results/structured-<stamp>.{json,md} and structured-latest.{json,md}.
Speed is measured through MCP (stdio server) and, to explain the choice, in process for four decoders: free,
llama.cpp's own grammar sampler, llguidance masking every step, and llguidance sampling first (with and without
evaluating forced tokens in one batch, which is what the server ships).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import anyio
import anyio.to_thread
import jsonschema

from bench import machine
from bench.config import Config
from bench.models import BenchModel, resolve_models
from bench.session import ModelSession, model_session, note
from bench.stats import ratio, summarize
from bench.structured_schemas import PERSON, PERSON_PROMPT, SCHEMAS
from mcp_open.features.generate.structured import prepare

OUT = Path(__file__).resolve().parent / "results"
# Generous for the tiny model, whose noise fills every string to its maxLength (up to ~300 tokens for PERSON).
MAX_TOKENS = 512


def speed_prompt() -> str:
    """The speed prompt, with the same schema instruction the server appends, so both runs read the same text."""
    shape = prepare(PERSON, None)
    assert shape is not None
    return f"{PERSON_PROMPT}\n\n{shape.instruction}"


async def speed_over_mcp(session: ModelSession, repeats: int) -> dict[str, Any]:
    """Constrained then free decoding of the same length, per seed, through the MCP server."""
    pairs = []
    for seed in range(repeats):
        shaped = await session.call(
            "generate", {"prompt": PERSON_PROMPT, "json_schema": PERSON, "max_tokens": MAX_TOKENS, "seed": seed}
        )
        n = shaped.result["usage"]["completion_tokens"]
        free = await session.call("generate", {"prompt": speed_prompt(), "max_tokens": n, "seed": seed})
        pairs.append((shaped.result["usage"], free.result["usage"]))
    ratios = [ratio(s["tokens_per_second"], f["tokens_per_second"]) for s, f in pairs]
    return {
        "constrained_tps": summarize([s["tokens_per_second"] for s, _ in pairs]),
        "free_tps": summarize([f["tokens_per_second"] for _, f in pairs]),
        "constrained_tokens": [s["completion_tokens"] for s, _ in pairs],
        "free_tokens": [f["completion_tokens"] for _, f in pairs],
        "ratio": summarize(ratios),
    }


async def validity(session: ModelSession, per_schema: int) -> dict[str, Any]:
    """per_schema objects for each schema; each must come back, parse and validate (checked again here)."""
    out: dict[str, Any] = {}
    for name, schema, prompt in SCHEMAS:
        good, failures, tokens = 0, [], []
        for seed in range(per_schema):
            args = {"prompt": prompt, "json_schema": schema, "max_tokens": MAX_TOKENS, "seed": seed}
            result = await session.client.call_tool("generate", args)
            problem = _problem(result, schema)
            if problem is None:
                good += 1
                tokens.append(result.structured_content["usage"]["completion_tokens"])
            else:
                failures.append({"seed": seed, "problem": problem})
        out[name] = {"valid": good, "of": per_schema, "tokens": summarize(tokens or [0]), "failures": failures[:5]}
        note(f"validity {session.model.name} {name}: {good}/{per_schema}")
    return out


def _problem(result: Any, schema: dict[str, Any]) -> str | None:
    """Why a result is not a valid object, or None."""
    if result.is_error:
        return str(result.content[0].text)[:300]
    data = result.structured_content["data"]
    try:
        jsonschema.validate(data, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    except jsonschema.ValidationError as exc:
        return f"invalid: {exc.message}"
    if json.loads(result.structured_content["text"]) != data:
        return "text and data differ"
    return None


def decoder_variants(model: BenchModel, config: Config, repeats: int) -> dict[str, Any]:
    """Decode tokens/s of each way to constrain, in process, on one engine (see bench/structured_decoders.py)."""
    from bench.structured_decoders import measure

    return measure(model, config, speed_prompt(), PERSON, repeats, MAX_TOKENS)


async def run_model(model: BenchModel, config: Config, args: argparse.Namespace, errlog: TextIO) -> dict[str, Any]:
    """Every section for one model."""
    out: dict[str, Any] = {"model": model.describe()}
    async with model_session(model, config, errlog) as session:
        await session.call("generate", {"prompt": "Warm up", "json_schema": {"type": "boolean"}, "max_tokens": 4})
        if args.speed:
            note(f"speed over MCP: {model.name}")
            out["speed_mcp"] = await speed_over_mcp(session, args.repeats)
        if args.validity:
            out["validity"] = await validity(session, args.objects)
    if args.speed:
        note(f"decoder variants: {model.name}")
        out["decoders"] = await anyio.to_thread.run_sync(decoder_variants, model, config, args.repeats)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark."""
    config = Config(models=args.models, out=args.out, threads=args.threads or os.cpu_count() or 1)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine.describe(), "models": {}}
    with tempfile.TemporaryDirectory(prefix="mcp-open-bench-") as tmp, (Path(tmp) / "servers.log").open("w") as log:
        for model in resolve_models(args.models, Path(tmp), config.ctx):
            per_model = argparse.Namespace(**{**vars(args), "speed": args.speed and model.name in args.speed_on})
            results["models"][model.name] = await run_model(model, config, per_model, log)
    results["meta"] = {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "seconds": round(time.perf_counter() - started, 1),
        "command": " ".join(["python -m bench.structured", *sys.argv[1:]]),
        "threads": config.threads,
        "load_average_at_end": machine.load_average(),
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    """A short human report."""
    meta = results["meta"]
    lines = ["# Structured output benchmark", "", f"Run: {meta['started']}, {meta['seconds']} s", ""]
    for name, data in results["models"].items():
        lines += [f"## {name}", ""]
        if "speed_mcp" in data:
            s = data["speed_mcp"]
            lines += [
                "Decode tokens/s through MCP, same prompt and length, median over seeds (goal: ratio >= 0.8):",
                "",
                f"- constrained {s['constrained_tps']['median']}, free {s['free_tps']['median']}, "
                f"ratio {s['ratio']['median']} (quartiles {s['ratio']['q1']}-{s['ratio']['q3']})",
                "",
                "Decoders in process (decode tokens/s, median):",
                "",
            ]
            lines += [f"- {k}: {v['tps']['median']} tok/s, {v['ratio']} x free" for k, v in data["decoders"].items()]
            lines.append("")
        lines += _validity_lines(data.get("validity"))
    return "\n".join(lines)


def _validity_lines(validity: dict[str, Any] | None) -> list[str]:
    """The validity section of the report."""
    if not validity:
        return []
    valid = sum(v["valid"] for v in validity.values())
    total = sum(v["of"] for v in validity.values())
    lines = [f"Validity: {valid}/{total} objects parsed and validated over {len(validity)} schemas", ""]
    for k, v in validity.items():
        lines.append(f"- {k}: {v['valid']}/{v['of']}, median {v['tokens']['median']} tokens")
    lines.append("")
    return lines


def write(results: dict[str, Any], out: Path, label: str) -> list[Path]:
    """JSON and markdown, stamped and as latest."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    paths = []
    for stem in (f"structured-{label}-{stamp}", f"structured-{label}-latest"):
        (out / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
        (out / f"{stem}.md").write_text(markdown(results))
        paths += [out / f"{stem}.json", out / f"{stem}.md"]
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags, run, write."""
    parser = argparse.ArgumentParser(prog="python -m bench.structured", description=__doc__)
    parser.add_argument("--model", action="append", dest="models", help="tiny, gemma or a GGUF path (repeatable).")
    parser.add_argument("--objects", type=int, default=20, help="Objects per schema (10 schemas).")
    parser.add_argument("--repeats", type=int, default=5, help="Seeds for the speed comparison.")
    parser.add_argument("--speed-on", action="append", default=None, help="Models to time (default: gemma).")
    parser.add_argument("--no-speed", dest="speed", action="store_false", help="Validity only.")
    parser.add_argument("--no-validity", dest="validity", action="store_false", help="Speed only.")
    parser.add_argument("--label", default="all", help="Names the result files: structured-LABEL-*.")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.models = args.models or ["tiny", "gemma"]
    args.speed_on = args.speed_on or ["gemma-3-270m-Q4_K_M", "gemma"]
    results = anyio.run(run, args)
    for path in write(results, args.out, args.label):
        print(path)
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
