"""What the machine and the llama.cpp build can do, and what the operator must hear about it."""

from __future__ import annotations

from mcp_open.models.gpu import offload_warning
from mcp_open.settings import Settings


def build_report(settings: Settings) -> dict[str, object]:
    """llama.cpp build features and the GPU answer for the info resource."""
    from mcp_open.engines.llama import build_features

    features = build_features()
    return {
        "llama_cpp": features,
        "gpu": {
            "requested_layers": settings.gpu_layers,
            "offload_supported": features["gpu_offload"],
            "warning": offload_warning(settings.gpu_layers, bool(features["gpu_offload"])),
        },
    }


def startup_warnings(settings: Settings) -> list[str]:
    """What the operator must hear at start (e.g. GPU layers asked of a CPU-only build)."""
    if settings.gpu_layers in ("auto", 0):
        return []  # nothing to warn about, and no need to load llama.cpp before the handshake
    from mcp_open.engines.llama import supports_gpu_offload

    warning = offload_warning(settings.gpu_layers, supports_gpu_offload())
    return [warning] if warning else []
