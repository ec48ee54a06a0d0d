"""Turning a configured model spec into a ready engine: resolve, inspect, plan GPU offload, load in a worker."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from mcp_open.engines.config import EngineConfig
from mcp_open.engines.worker import features as build
from mcp_open.engines.worker.proxy import WorkerEngine
from mcp_open.models.ggufinfo import GgufInfo, read_info
from mcp_open.models.hub import ResolvedModel, resolve
from mcp_open.runtime.environment import gpu_facts
from mcp_open.runtime.planning import layout_for
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings

log = logging.getLogger(__name__)

# Architectures whose embedding models pool on the last token (Qwen3-Embedding and kin).
LAST_TOKEN_POOLING_ARCHS = ("qwen2", "qwen3")


def default_pooling(info: GgufInfo) -> str:
    """The pooling an embedding model wants: its own, else last-token for Qwen, mean otherwise."""
    if info.pooling_type and info.pooling_type != "none":
        return info.pooling_type
    return "last" if info.architecture in LAST_TOKEN_POOLING_ARCHS else "mean"


def display_name(resolved: ResolvedModel) -> str:
    """repo:QUANT for hub models, the file name otherwise."""
    if resolved.repo and resolved.quant:
        return f"{resolved.repo}:{resolved.quant}"
    return Path(resolved.path).name


def load_local(spec: str, settings: Settings, embedding: bool, on_progress: Callable[[str], None]) -> LoadedModel:
    """Resolve, inspect, plan offload and load one GGUF in a worker process of its own (blocking)."""
    start = time.perf_counter()
    resolved = resolve(spec, on_progress=on_progress)
    on_progress(f"loading {Path(resolved.path).name}")
    name = display_name(resolved)
    engine = WorkerEngine.start(name)
    try:
        build.remember(engine.features())
        info = read_info(resolved.path)
        layout = layout_for(resolved, info, settings, gpu_facts(settings))
        plan = layout.offload
        config = EngineConfig(
            n_ctx=layout.n_ctx,
            n_gpu_layers=plan.n_gpu_layers,
            n_threads=settings.threads,
            flash_attn=settings.flash_attn,
            draft_tokens=draft_tokens(settings.draft_tokens, plan.n_gpu_layers),
            kv_cache_type=settings.kv_cache_type,
            main_gpu=settings.main_gpu,
            tensor_split=settings.tensor_split,
            embedding=embedding,
            pooling=default_pooling(info) if embedding else None,
            verbose=settings.verbose,
            name=name,
        )
        engine.load_llama(str(resolved.path), config)
    except BaseException:
        engine.close()
        raise
    seconds = time.perf_counter() - start
    log.info(
        "loaded %s in %.2f s in worker %d (%s; %s)",
        resolved.path,
        seconds,
        engine.pid,
        plan.reason,
        f"ctx {layout.n_ctx}",
    )
    return LoadedModel(engine, seconds, resolved, info, plan)


# On a CPU a verification batch costs several single-token steps (a small model's batches are compute-bound on a
# few cores: Gemma 3 270M ran 0.6-1.4x with 8 drafts on 2 loaded cores, bench/results/rewrite-*); on a GPU a batch
# of 9 costs about one token, which is where drafts pay.
GPU_DRAFT_TOKENS = 8


def draft_tokens(asked: int | None, n_gpu_layers: int) -> int:
    """Draft tokens per batch: as asked, else on with layers on a GPU and off on a CPU."""
    if asked is not None:
        return asked
    return GPU_DRAFT_TOKENS if n_gpu_layers != 0 else 0
