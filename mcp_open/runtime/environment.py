"""What the machine and the llama.cpp build can do, and what the operator must hear about it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from mcp_open.models.gpu import GpuFacts, OffloadPlan, gpu_notes
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


def build_report(facts: GpuFacts, plans: Sequence[tuple[str, OffloadPlan]]) -> dict[str, object]:
    """llama.cpp build features and the GPU answer for the info resource."""
    notes = gpu_notes(facts, plans)
    cards = [dataclasses.asdict(card) for card in facts.cards or []]
    return {
        "llama_cpp": build_features(),
        "gpu": {
            "requested_layers": facts.requested,
            "offload_supported": facts.can_offload,
            "visible_gpus": cards if facts.cards is not None else "nvidia-smi not found or failing",
            "cuda_visible_devices": facts.cuda_visible_devices,
            "notes": notes,
            "warning": "\n".join(notes) or None,
        },
    }
