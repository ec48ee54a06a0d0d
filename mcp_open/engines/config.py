"""How to load one local GGUF model: plain data the server builds and the llama.cpp engine (in its worker) loads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineConfig:
    """How to load one model."""

    n_ctx: int
    n_gpu_layers: int = 0
    n_threads: int | None = None
    flash_attn: bool = False
    kv_cache_type: str = "f16"
    main_gpu: int = 0
    tensor_split: list[float] | None = None
    embedding: bool = False
    pooling: str | None = None
    verbose: bool = False
    name: str | None = None
    draft_tokens: int = 8  # prompt-lookup draft tokens verified per batch; 0 decodes one token at a time
