"""GPU offload decisions: parsing --gpu-layers and planning how many layers fit."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Literal

from mcp_open.errors import ConfigError

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


def free_vram_bytes(main_gpu: int = 0) -> int | None:
    """Free memory of one NVIDIA GPU as nvidia-smi reports it, or None if unknown."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=memory.free", "--format=csv,noheader,nounits", f"--id={main_gpu}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return int(float(out.strip().splitlines()[0])) * 1024 * 1024
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"
