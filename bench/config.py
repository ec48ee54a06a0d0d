"""What one benchmark run does: models, sizes, repeats."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

BATCH_SIZES = (1, 8, 64)
EMBED_MAX_REPEATS = 5


@dataclass(frozen=True)
class Config:
    """Sizes and settings for one run; --quick shrinks everything."""

    models: list[str]
    out: Path
    repeats: int = 7
    gpu_layers: int = 0
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    ctx: int = 2048
    quick: bool = False
    roundtrip_calls: int = 200
    max_tokens: int = 128
    prefix_tokens: int = 1000
    embed_min_texts: int = 16
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    handshake_repeats: int = 7
    large_model: str = "Qwen/Qwen3-32B-GGUF:Q4_K_M"
    rewrite_tokens: int = 128  # tokens decoded per rewrite-suite run
    rewrite_sides: tuple[str, ...] = ("direct", "plain", "spec", "mcp", "mcp-plain")

    @property
    def embed_repeats(self) -> int:
        """Embedding repeats: capped, since a CPU embeds a big model's 64-text batches slowly."""
        return min(self.repeats, EMBED_MAX_REPEATS)

    @property
    def calls_per_repeat(self) -> int:
        """Round-trip calls per transport and repeat, so that all repeats add up to roundtrip_calls."""
        return max(1, self.roundtrip_calls // self.repeats)


def quick_config(out: Path, gpu_layers: int, threads: int | None) -> Config:
    """Everything at a tiny size, on the tiny model only: for CI."""
    return Config(
        models=["tiny"],
        out=out,
        repeats=2,
        gpu_layers=gpu_layers,
        threads=threads or os.cpu_count() or 1,
        quick=True,
        roundtrip_calls=40,
        handshake_repeats=2,
        rewrite_tokens=24,
    )
