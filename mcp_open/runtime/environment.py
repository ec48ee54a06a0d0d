"""What the machine and the llama.cpp build can do (asks llama.cpp itself: only the edge and the loader use it)."""

from __future__ import annotations

import os

from mcp_open.models.gpu import GpuFacts
from mcp_open.models.nvidia import visible_cards
from mcp_open.settings import Settings


def build_features() -> dict[str, object]:
    """What this llama.cpp build can do, as a worker process reports it (the server never imports llama_cpp)."""
    from mcp_open.engines.worker import features

    return features.build_features()


def gpu_facts(settings: Settings) -> GpuFacts:
    """The build's offload ability and the GPUs CUDA shows this process."""
    features = build_features()
    return GpuFacts(
        can_offload=bool(features["gpu_offload"]),
        cuda_build="CUDA" in str(features.get("system_info", "")),
        cards=visible_cards(),
        requested=settings.gpu_layers,
        main_gpu=settings.main_gpu,
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
