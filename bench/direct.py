"""The baseline: the same model driven directly through llama-cpp-python, configured as the server configures it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import llama_cpp
from llama_cpp import Llama

from bench.config import Config
from bench.models import BenchModel
from mcp_open.engines.llama import EngineConfig, LlamaEngine
from mcp_open.engines.protocol import Sampling

POOLING = {
    "none": llama_cpp.LLAMA_POOLING_TYPE_NONE,
    "mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN,
    "cls": llama_cpp.LLAMA_POOLING_TYPE_CLS,
    "last": llama_cpp.LLAMA_POOLING_TYPE_LAST,
}

# The sampler the server builds for temperature=0 with its defaults (generate tool: top_k 20, top_p 0.8).
GREEDY = {"top_k": 20, "top_p": 0.8, "min_p": 0.0, "temp": 0.0, "repeat_penalty": 1.0}


@dataclass(frozen=True)
class DirectRun:
    """One direct generation: time to first token and decode time for exactly n tokens."""

    prompt_tokens: int
    completion_tokens: int
    prompt_seconds: float
    decode_seconds: float
    wall_seconds: float
    token_ids: list[int]


def load_generator(model: BenchModel, config: Config) -> Llama:
    """Llama for generation with the server's settings (n_ctx, threads, GPU layers)."""
    return Llama(
        model_path=model.path,
        n_ctx=model.n_ctx,
        n_threads=config.threads,
        n_gpu_layers=config.gpu_layers,
        verbose=False,
    )


def load_engine(model: BenchModel, config: Config) -> LlamaEngine:
    """mcp-open's own engine, in this process, configured like the server's generation model."""
    return LlamaEngine(
        model.path, EngineConfig(n_ctx=model.n_ctx, n_gpu_layers=config.gpu_layers, n_threads=config.threads)
    )


def engine_greedy() -> Sampling:
    """The engine sampler the generate tool builds for temperature=0 and its defaults."""
    return Sampling(
        temperature=0.0, top_p=GREEDY["top_p"], top_k=int(GREEDY["top_k"]), min_p=0.0, repeat_penalty=1.0, seed=0
    )


def load_embedder(model: BenchModel, config: Config) -> Llama:
    """Llama for embeddings with the server's settings (one batch holds the context, same pooling)."""
    return Llama(
        model_path=model.embed_path,
        embedding=True,
        pooling_type=POOLING[model.pooling],
        n_ctx=model.embed_n_ctx,
        n_batch=model.embed_n_ctx,
        n_ubatch=model.embed_n_ctx,
        n_threads=config.threads,
        n_gpu_layers=config.gpu_layers,
        verbose=False,
    )


def generate(llama: Llama, tokens: list[int], n: int) -> DirectRun:
    """Generate exactly n tokens (end-of-generation ignored), timing prompt and decode apart."""
    ids: list[int] = []
    start = time.perf_counter()
    first = start
    stream = llama.generate(tokens, reset=True, **GREEDY)  # type: ignore[arg-type]
    for token in stream:
        if not ids:
            first = time.perf_counter()
        ids.append(token)
        if len(ids) >= n:
            break
    end = time.perf_counter()
    stream.close()
    return DirectRun(len(tokens), len(ids), first - start, end - first, end - start, ids)


def embed(llama: Llama, texts: list[str]) -> float:
    """Seconds to embed texts in llama-cpp-python's own batches."""
    start = time.perf_counter()
    llama.embed(texts)
    return time.perf_counter() - start
