"""Suite: what the model worker process costs, the same engine in this process against in its worker.

Decode and embed run through mcp-open's LlamaEngine on both sides, interleaved per repeat; the difference in wall
time is the worker's cost (the pipe, pickling, progress messages). Start-up compares a load in this process with
starting a worker and loading there (the first call's extra wait).
"""

from __future__ import annotations

import time
from typing import Any

from bench.config import Config
from bench.models import BenchModel
from bench.prompts import sentences, story
from bench.session import note
from bench.stats import ratio, summarize
from mcp_open.engines.config import EngineConfig
from mcp_open.engines.llama import LlamaEngine
from mcp_open.engines.protocol import Engine, Hooks, Prompt, Sampling
from mcp_open.engines.worker.proxy import WorkerEngine

GREEDY = Sampling(temperature=0.0, top_k=1, top_p=1.0, seed=0)
EMBED_TEXTS = 64
STARTUP_REPEATS = 3


def run(model: BenchModel, config: Config) -> dict[str, Any]:
    """Start-up, decode and embed, in-process against in a worker (blocking)."""
    note(f"worker {model.name}")
    chat = EngineConfig(n_ctx=model.n_ctx, n_gpu_layers=config.gpu_layers, n_threads=config.threads)
    pooled = EngineConfig(
        n_ctx=model.embed_n_ctx,
        n_gpu_layers=config.gpu_layers,
        n_threads=config.threads,
        embedding=True,
        pooling=model.pooling,
    )
    out: dict[str, Any] = {"startup": _startup(model.path, chat, min(config.repeats, STARTUP_REPEATS))}
    out["decode"] = _paired(_open(model.path, chat), lambda e, r: _decode(e, r, config.max_tokens), config.repeats)
    texts = sentences(EMBED_TEXTS)
    out["embed"] = _paired(_open(model.embed_path, pooled), lambda e, _r: _embed(e, texts), config.embed_repeats)
    return out


def _open(path: str, config: EngineConfig) -> tuple[LlamaEngine, WorkerEngine]:
    local = LlamaEngine(path, config)
    worker = WorkerEngine.start("bench")
    worker.load_llama(path, config)
    return local, worker


def _startup(path: str, config: EngineConfig, repeats: int) -> dict[str, Any]:
    """Seconds to a loaded model: in this process, and starting a worker process and loading there."""
    local, worker = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        LlamaEngine(path, config).close()
        local.append(time.perf_counter() - start)
        start = time.perf_counter()
        engine = WorkerEngine.start("bench")
        engine.load_llama(path, config)
        worker.append(time.perf_counter() - start)
        engine.close()
    extra = [w - loc for w, loc in zip(worker, local, strict=True)]
    return {"in_process_s": summarize(local), "worker_s": summarize(worker), "extra_s": summarize(extra)}


def _decode(engine: Engine, repeat: int, n: int) -> dict[str, float]:
    start = time.perf_counter()
    done = engine.complete(Prompt.raw(story(repeat)), max_tokens=n, sampling=GREEDY, hooks=Hooks())
    wall = time.perf_counter() - start
    return {"wall_s": wall, "units": done.completion_tokens, "decode_tps": done.decode_steps / done.decode_seconds}


def _embed(engine: Engine, texts: list[str]) -> dict[str, float]:
    before = engine.stats().get("embed_batches", 0)
    start = time.perf_counter()
    engine.embed(texts, truncate=True)
    wall = time.perf_counter() - start
    return {"wall_s": wall, "units": engine.stats().get("embed_batches", 0) - before, "texts_s": len(texts) / wall}


def _paired(engines: tuple[LlamaEngine, WorkerEngine], measure: Any, repeats: int) -> dict[str, Any]:
    """Both sides once per repeat (after one warm-up each); the worker's extra wall time per call and per unit."""
    local, worker = engines
    try:
        measure(local, 0), measure(worker, 0)
        rows = [(measure(local, r), measure(worker, r)) for r in range(1, repeats + 1)]
    finally:
        local.close()
        worker.close()
    extra = [w["wall_s"] - loc["wall_s"] for loc, w in rows]
    per_unit = [(w["wall_s"] - loc["wall_s"]) / max(1, w["units"]) for loc, w in rows]
    rate = "decode_tps" if "decode_tps" in rows[0][0] else "texts_s"
    return {
        "units_per_call": rows[0][1]["units"],
        "in_process_wall_s": summarize([loc["wall_s"] for loc, _ in rows]),
        "worker_wall_s": summarize([w["wall_s"] for _, w in rows]),
        "worker_extra_ms_per_call": summarize([1000 * e for e in extra], 3),
        "worker_extra_ms_per_unit": summarize([1000 * u for u in per_unit], 4),
        "ratio": summarize([ratio(w[rate], loc[rate]) for loc, w in rows]),
        "wall_ratio": summarize([ratio(loc["wall_s"], w["wall_s"]) for loc, w in rows]),
    }
