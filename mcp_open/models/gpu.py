"""GPU offload decisions: parsing --gpu-layers and planning how many layers fit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mcp_open.errors import ConfigError
from mcp_open.models.nvidia import GpuCard

GpuLayers = int | Literal["auto", "all"]

CUDA_INSTALL_HINT = (
    'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir --no-binary llama-cpp-python '
    "llama-cpp-python"
)
# Compute buffers and CUDA context need room beyond weights and KV cache.
VRAM_HEADROOM_BYTES = 768 * 1024 * 1024
KV_ELEMENT_BYTES = {"f16": 2.0, "q8_0": 1.0625, "q4_0": 0.5625}


def parse_gpu_layers(value: object) -> GpuLayers:
    """Accept 'auto', 'all', -1 (all) or a non-negative layer count."""
    text = str(value).strip().lower()
    if text in ("auto", "all"):
        return "auto" if text == "auto" else "all"
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"--gpu-layers must be 'auto', 'all' or a number of layers, not {value!r}") from None
    if number == -1:
        return "all"
    if number < 0:
        raise ConfigError(f"--gpu-layers must be 'auto', 'all' or a number >= 0, not {number}")
    return number


@dataclass(frozen=True)
class OffloadPlan:
    """How many layers go to the GPU, and why."""

    n_gpu_layers: int
    total_layers: int
    reason: str
    warning: str | None = None

    @property
    def layers_on_gpu(self) -> int:
        """Layers really on the GPU (llama.cpp counts the output layer as one more)."""
        return min(self.n_gpu_layers, self.total_layers)


def offload_warning(requested: GpuLayers, supports_offload: bool) -> str | None:
    """The plain warning for GPU layers asked of a build that cannot offload, else None."""
    if supports_offload or requested in ("auto", 0):
        return None
    return (
        f"GPU layers were requested (--gpu-layers {requested}) but this llama-cpp-python build cannot offload to a "
        f"GPU, so models run on the CPU. Install a CUDA build: {CUDA_INSTALL_HINT}"
    )


def kv_cache_bytes(n_ctx: int, n_layers: int, kv_width: int, kv_cache_type: str) -> int:
    """Bytes of a K plus V cache for n_ctx tokens."""
    return int(n_ctx * n_layers * 2 * kv_width * KV_ELEMENT_BYTES[kv_cache_type])


def plan_offload(
    requested: GpuLayers,
    *,
    supports_offload: bool,
    total_layers: int,
    model_bytes: int,
    kv_bytes: int,
    free_vram: int | None,
) -> OffloadPlan:
    """Decide the llama.cpp n_gpu_layers for a request on this build and GPU."""
    everything = total_layers + 1
    if not supports_offload:
        return OffloadPlan(0, total_layers, "this llama.cpp build is CPU-only", offload_warning(requested, False))
    if requested == "all":
        return OffloadPlan(everything, total_layers, "all layers requested")
    if requested != "auto":
        return OffloadPlan(requested, total_layers, f"{requested} layers requested")
    return _plan_auto(total_layers, model_bytes, kv_bytes, free_vram)


def _plan_auto(total_layers: int, model_bytes: int, kv_bytes: int, free_vram: int | None) -> OffloadPlan:
    """Offload everything that fits in free VRAM."""
    everything = total_layers + 1
    if free_vram is None:
        return OffloadPlan(everything, total_layers, "free VRAM unknown; offloading all layers")
    needed = model_bytes + kv_bytes + VRAM_HEADROOM_BYTES
    if needed <= free_vram:
        return OffloadPlan(everything, total_layers, f"fits: needs {_gib(needed)} of {_gib(free_vram)} free")
    per_layer = (model_bytes + kv_bytes) / max(total_layers, 1)
    layers = max(0, min(total_layers, int((free_vram - VRAM_HEADROOM_BYTES) / per_layer)))
    return OffloadPlan(
        layers,
        total_layers,
        f"partial: needs {_gib(needed)} but {_gib(free_vram)} free; {layers} of {total_layers} layers fit",
    )


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


@dataclass(frozen=True)
class GpuFacts:
    """What decides where layers go: the build, the GPUs CUDA shows us, and what was asked."""

    can_offload: bool
    cuda_build: bool
    cards: list[GpuCard] | None  # None: nvidia-smi missing or failing
    requested: GpuLayers
    main_gpu: int = 0
    cuda_visible_devices: str | None = None


def gpu_notes(facts: GpuFacts, plans: Sequence[tuple[str, OffloadPlan]] = ()) -> list[str]:
    """A plain line for every way the answer to "will my model run on the GPU?" is not an obvious yes."""
    notes = [
        note
        for rule in (_gpu_but_cpu_build, _asked_of_cpu_build, _build_without_gpu, _main_gpu_missing)
        if (note := rule(facts))
    ]
    return notes + [note for role, plan in plans if (note := _partial_note(role, plan, facts))]


def _cards_text(cards: Sequence[GpuCard]) -> str:
    """'2 NVIDIA GPUs (NVIDIA H200, NVIDIA H200)'."""
    plural = "s" if len(cards) > 1 else ""
    return f"{len(cards)} NVIDIA GPU{plural} ({', '.join(card.name for card in cards)})"


def _visible_text(facts: GpuFacts) -> str:
    """How CUDA_VISIBLE_DEVICES reads, for messages."""
    value = facts.cuda_visible_devices
    return "CUDA_VISIBLE_DEVICES is not set" if value is None else f"CUDA_VISIBLE_DEVICES={value!r}"


def _gpu_but_cpu_build(facts: GpuFacts) -> str | None:
    if facts.can_offload or not facts.cards:
        return None
    return (
        f"{_cards_text(facts.cards)} visible, but this llama-cpp-python build cannot offload to a GPU, so models run "
        f"on the CPU. Reinstall it with CUDA (needs the CUDA toolkit, nvcc on the PATH): {CUDA_INSTALL_HINT}"
    )


def _asked_of_cpu_build(facts: GpuFacts) -> str | None:
    if facts.cards:
        return None  # _gpu_but_cpu_build says it better
    return offload_warning(facts.requested, facts.can_offload)


def _build_without_gpu(facts: GpuFacts) -> str | None:
    if not (facts.can_offload and facts.cuda_build) or facts.cards or facts.requested == 0:
        return None
    seen = "nvidia-smi is not on the PATH or failed" if facts.cards is None else "nvidia-smi shows no GPU"
    return (
        f"this llama-cpp-python build can offload to a CUDA GPU but {seen} ({_visible_text(facts)}), so models run "
        "on the CPU. Check the NVIDIA driver with `nvidia-smi` and that CUDA_VISIBLE_DEVICES names a GPU."
    )


def _main_gpu_missing(facts: GpuFacts) -> str | None:
    if not facts.can_offload or not facts.cards or facts.main_gpu < len(facts.cards):
        return None
    return (
        f"--main-gpu {facts.main_gpu} names a GPU that is not visible: CUDA numbers the {len(facts.cards)} visible "
        f"GPU(s) from 0 ({_visible_text(facts)}); pass --main-gpu between 0 and {len(facts.cards) - 1}"
    )


def _partial_note(role: str, plan: OffloadPlan, facts: GpuFacts) -> str | None:
    if not facts.can_offload or facts.requested != "auto" or plan.layers_on_gpu >= plan.total_layers:
        return None
    return (
        f"the {role} model does not fit in free VRAM: only {plan.layers_on_gpu} of {plan.total_layers} layers go to "
        f"the GPU ({plan.reason}); the rest run on the CPU, much slower. Free VRAM, pick a smaller quant, "
        "lower --ctx, or use --kv-cache-type q8_0"
    )
