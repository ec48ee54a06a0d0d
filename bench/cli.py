"""`python -m bench`: parse flags, run every suite, write JSON and markdown."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import anyio

from bench import delegation, delegation_report, report, rewrite_report, runner
from bench.config import Config, quick_config
from bench.models import DEFAULT_MODELS

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--model",
        action="append",
        dest="models",
        metavar="PATH_OR_SPEC",
        help="A .gguf path, catalog alias or owner/repo[:QUANT]; 'tiny' and 'gemma' are built in. "
        f"Repeat for several (default: {' '.join(DEFAULT_MODELS)}).",
    )
    parser.add_argument(
        "--gpu-layers", type=gpu_layers, default=0, help="Layers on the GPU, both sides: a number, or all (-1)."
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads, both sides (default: all cores).")
    parser.add_argument("--ctx", type=int, default=2048, help="Context length, both sides.")
    parser.add_argument(
        "--repeats", type=int, default=None, help="Repeats per measurement (default 7, embed at most 5; quick 2)."
    )
    parser.add_argument("--quick", action="store_true", help="Tiny model, small counts: seconds, for CI.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Where results go.")
    parser.add_argument(
        "--delegation",
        action="store_true",
        help="Run only the delegation suite (by value against by reference; Gemma by default, tiny with --quick).",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="Run only the model worker suite (the engine in this process against in its worker process).",
    )
    parser.add_argument(
        "--document-tokens",
        type=int,
        default=None,
        help="Delegation suite: size of the document to summarise (default 20000; quick 500).",
    )
    parser.add_argument(
        "--sentences", type=int, default=None, help="Delegation suite: lines per note to translate (default 6)."
    )
    parser.add_argument(
        "--rewrite",
        action="store_true",
        help="Run only the rewrite suite (speculative decoding against the plain loop, MCP against direct).",
    )
    parser.add_argument(
        "--rewrite-tokens", type=int, default=None, help="Rewrite suite: tokens per run (default 128; quick 24)."
    )
    parser.add_argument(
        "--rewrite-sides",
        default=None,
        help="Rewrite suite: comma-separated sides (default direct,plain,spec,mcp,mcp-plain).",
    )
    return parser


def gpu_layers(value: str) -> int:
    """A layer count, or 'all' (llama.cpp's -1)."""
    return -1 if value == "all" else int(value)


def config_from(args: argparse.Namespace) -> Config:
    """Flags to a Config."""
    if args.quick:
        config = quick_config(args.out, args.gpu_layers, args.threads)
    else:
        config = Config(models=list(DEFAULT_MODELS), out=args.out, gpu_layers=args.gpu_layers)
        config = dataclasses.replace(config, threads=args.threads or config.threads)
    return dataclasses.replace(
        config, ctx=args.ctx, models=args.models or config.models, repeats=args.repeats or config.repeats
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite and print where the results went."""
    args = build_parser().parse_args(argv)
    config = config_from(args)
    if args.rewrite:
        if args.rewrite_tokens:
            config = dataclasses.replace(config, rewrite_tokens=args.rewrite_tokens)
        if args.rewrite_sides:
            config = dataclasses.replace(config, rewrite_sides=tuple(args.rewrite_sides.split(",")))
        return rewrite_report.main(config)
    if args.delegation:
        return delegation_main(config, models_given=bool(args.models), sizes=(args.document_tokens, args.sentences))
    if args.worker:
        return worker_main(config)
    results = anyio.run(runner.run, config)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in report.write(results, config.out, stamp):
        print(path)
    print(report.goals_table(results["goals"]))
    return 0


def delegation_main(config: Config, *, models_given: bool, sizes: tuple[int | None, int | None]) -> int:
    """The delegation suite alone: Gemma unless --model or --quick says otherwise."""
    if not models_given and not config.quick:
        config = dataclasses.replace(config, models=["gemma"])
    chosen = delegation.sizes_for(config.quick, *sizes)
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            results = anyio.run(delegation.run_suite, config, chosen, errlog)
        except BaseException:
            errlog.seek(0)
            print(f"[bench] server logs (tail):\n{errlog.read()[-4000:]}", file=sys.stderr)
            raise
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in delegation_report.write(results, config.out, stamp):
        print(path)
    print(report.goals_table(results["goals"]))
    return 0


def worker_main(config: Config) -> int:
    """The worker suite alone, for each model: start-up, decode and embed in this process against in a worker."""
    from bench import machine, worker
    from bench.models import resolve_models

    with tempfile.TemporaryDirectory(prefix="mcp-open-bench-") as tmp:
        models = resolve_models(config.models, Path(tmp), config.ctx)
        results = {
            "machine": machine.describe(),
            "command": " ".join(["python -m bench", *sys.argv[1:]]),
            "repeats": config.repeats,
            "threads": config.threads,
            "worker": {model.name: worker.run(model, config) for model in models},
            "load_average_at_end": machine.load_average(),
        }
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    config.out.mkdir(parents=True, exist_ok=True)
    path = config.out / f"worker-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    markdown = config.out / f"worker-{stamp}.md"
    markdown.write_text(report.worker_page(results))
    print(path)
    print(markdown)
    return 0
