"""One benchmark run: every suite, in an order that keeps each server's state honest, into one results dict."""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import anyio.to_thread

from bench import embed, generate, goals, handshake, machine, memory, prefix, roundtrip, worker
from bench.config import Config
from bench.direct import load_embedder, load_engine, load_generator
from bench.models import BenchModel, resolve_models
from bench.session import model_session, note

MODEL_SECTIONS = ("generate", "prefix", "memory", "embed", "worker")


async def run(config: Config) -> dict[str, Any]:
    """Run all suites and return the results, goals included."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    loads: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mcp-open-bench-") as tmp:
        log_path = Path(tmp) / "servers.log"
        with log_path.open("w") as errlog:
            try:
                results = await _suites(config, Path(tmp), errlog, loads)
            except BaseException:
                errlog.flush()
                print(f"[bench] server logs (tail):\n{log_path.read_text()[-4000:]}", file=sys.stderr)
                raise
    results["meta"] = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "seconds": round(time.perf_counter() - clock, 1),
        "command": " ".join(["python -m bench", shlex.join(sys.argv[1:])]).strip(),
        "quick": config.quick,
        "repeats": config.repeats,
        "embed_repeats": config.embed_repeats,
        "threads": config.threads,
        "gpu_layers": config.gpu_layers,
        "ctx": config.ctx,
        "load_average_at_end": machine.load_average(),
        "load_1min_after_suite": loads,
    }
    results["goals"] = goals.evaluate(results)
    return results


async def _suites(config: Config, workdir: Path, errlog: TextIO, loads: dict[str, float]) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine.describe()}
    models = resolve_models(config.models, workdir, config.ctx)
    results["models"] = [m.describe() for m in models]
    results["roundtrip"] = await roundtrip.run(models[0], config, errlog)
    loads["roundtrip"] = machine.load_average()[0]
    results["initialize"] = await handshake.run(config, errlog)
    loads["initialize"] = machine.load_average()[0]
    for key in MODEL_SECTIONS:
        results[key] = {}
    for model in models:
        for key, value in (await _model_suites(model, config, errlog, loads)).items():
            results[key][model.name] = value
    return results


async def _model_suites(model: BenchModel, config: Config, errlog: TextIO, loads: dict[str, float]) -> dict[str, Any]:
    """Generate, prefix reuse and memory on one server with only the generation model loaded; embed last."""
    note(f"model {model.name}: {model.path}")
    out: dict[str, Any] = {}
    async with model_session(model, config, errlog) as session:
        llama = await anyio.to_thread.run_sync(load_generator, model, config)
        try:
            engine = await anyio.to_thread.run_sync(load_engine, model, config)
            try:
                out["generate"] = await generate.run(session, llama, engine)
            finally:
                engine.close()
            loads[f"generate {model.name}"] = machine.load_average()[0]
            out["prefix"] = await prefix.run(session, llama)
            loads[f"prefix {model.name}"] = machine.load_average()[0]
        finally:
            llama.close()
        note(f"memory {model.name}")
        out["memory"] = await anyio.to_thread.run_sync(memory.measure, session.pid, model, config)
        embedder = await anyio.to_thread.run_sync(load_embedder, model, config)
        try:
            out["embed"] = await embed.run(session, embedder)
        finally:
            embedder.close()
        loads[f"embed {model.name}"] = machine.load_average()[0]
    out["worker"] = await anyio.to_thread.run_sync(worker.run, model, config)
    loads[f"worker {model.name}"] = machine.load_average()[0]
    return out
