"""A fake `nvidia-smi` on PATH and an injected llama.cpp build, for GPU decisions on any machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# index, uuid, name, memory.total MiB, memory.free MiB: what `nvidia-smi --query-gpu=... --format=csv,...` prints.
TWO_CARDS = 'echo "0, GPU-aaaa-1111, NVIDIA H200, 143771, 70000"; echo "1, GPU-bbbb-2222, NVIDIA L4, 23034, 8000"'


def fake_nvidia_smi(folder: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """Put an `nvidia-smi` running `body` first on PATH; returns its folder."""
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return folder


def one_card(free_mib: int) -> str:
    """An nvidia-smi body showing one H200 with `free_mib` MiB free."""
    return f'echo "0, GPU-aaaa-1111, NVIDIA H200, 143771, {free_mib}"'


def inject_build(monkeypatch: pytest.MonkeyPatch, *, can_offload: bool) -> None:
    """Make mcp-open believe the llama.cpp build can (a CUDA build) or cannot offload."""
    from mcp_open.engines.worker import features as build

    info = "CUDA : ARCHS = 900 | CPU : AVX2 = 1" if can_offload else "CPU : AVX2 = 1"
    features = {"llama_cpp_python": "0.3.36", "gpu_offload": can_offload, "max_devices": 16, "system_info": info}
    monkeypatch.setattr(build, "build_features", lambda: features)
