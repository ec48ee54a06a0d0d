"""GPU offload settings and planning, tested on a CPU-only build."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from mcp_open.errors import ConfigError
from mcp_open.models.gpu import CUDA_INSTALL_HINT, kv_cache_bytes, parse_gpu_layers, plan_offload
from mcp_open.settings import Settings
from tests.conftest import console_script

GIB = 2**30


@pytest.mark.parametrize(
    ("raw", "parsed"), [("auto", "auto"), ("ALL", "all"), ("-1", "all"), (-1, "all"), ("0", 0), ("33", 33), (12, 12)]
)
def test_parse_gpu_layers(raw: object, parsed: object) -> None:
    assert parse_gpu_layers(raw) == parsed


@pytest.mark.parametrize("raw", ["lots", "-2", "1.5", ""])
def test_parse_gpu_layers_rejects(raw: str) -> None:
    with pytest.raises(ConfigError, match="auto"):
        parse_gpu_layers(raw)


def test_settings_flag_env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().gpu_layers == "auto"
    monkeypatch.setenv("MCP_OPEN_GPU_LAYERS", "all")
    monkeypatch.setenv("MCP_OPEN_TENSOR_SPLIT", "3,1")
    assert Settings().gpu_layers == "all" and Settings().tensor_split == [3.0, 1.0]
    assert Settings(gpu_layers="20").gpu_layers == 20  # a flag beats the environment
    with pytest.raises(ValidationError):
        Settings(kv_cache_type="q5_1")


def test_cpu_build_runs_on_cpu_and_warns_only_when_gpu_was_asked_for() -> None:
    quiet = plan_offload("auto", supports_offload=False, total_layers=28, model_bytes=GIB, kv_bytes=0, free_vram=None)
    assert quiet.n_gpu_layers == 0 and quiet.warning is None
    loud = plan_offload(20, supports_offload=False, total_layers=28, model_bytes=GIB, kv_bytes=0, free_vram=None)
    assert loud.n_gpu_layers == 0 and loud.warning and CUDA_INSTALL_HINT in loud.warning


def test_auto_offloads_everything_that_fits() -> None:
    plan = plan_offload(
        "auto", supports_offload=True, total_layers=36, model_bytes=5 * GIB, kv_bytes=GIB, free_vram=24 * GIB
    )
    assert plan.n_gpu_layers == 37 and plan.layers_on_gpu == 36


def test_auto_offloads_as_many_layers_as_fit() -> None:
    plan = plan_offload(
        "auto", supports_offload=True, total_layers=40, model_bytes=16 * GIB, kv_bytes=4 * GIB, free_vram=8 * GIB
    )
    assert 0 < plan.n_gpu_layers < 40
    per_layer = 20 * GIB / 40
    assert plan.n_gpu_layers * per_layer <= 8 * GIB
    assert "partial" in plan.reason


def test_explicit_counts_pass_through() -> None:
    assert (
        plan_offload("all", supports_offload=True, total_layers=10, model_bytes=1, kv_bytes=1, free_vram=1).n_gpu_layers
        == 11
    )
    assert (
        plan_offload(4, supports_offload=True, total_layers=10, model_bytes=1, kv_bytes=1, free_vram=None).n_gpu_layers
        == 4
    )


def test_kv_cache_size() -> None:
    # Qwen3-8B: 36 layers, 8 KV heads x 128 = 1024 wide; 8192 tokens of f16 K and V.
    assert kv_cache_bytes(8192, 36, 1024, "f16") == 8192 * 36 * 2 * 1024 * 2
    assert kv_cache_bytes(8192, 36, 1024, "q8_0") < kv_cache_bytes(8192, 36, 1024, "f16")


def test_serve_warns_plainly_on_a_cpu_build(tiny_chat: Path, tiny_embed: Path) -> None:
    # The server starts anyway; the warning is on stderr and in the info.
    out = subprocess.run(
        [console_script(), "info", "--model", str(tiny_chat), "--embed-model", str(tiny_embed), "--gpu-layers", "all"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["gpu"]["offload_supported"] is False
    assert "CUDA" in info["gpu"]["warning"] and "pip install" in info["gpu"]["warning"]


def fake_nvidia_smi(folder: Path, body: str) -> None:
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


def test_free_vram_read_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_open.models.gpu import free_vram_bytes

    fake_nvidia_smi(tmp_path, 'echo "$@" > "$(dirname "$0")/args"; echo 8192')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert free_vram_bytes(1) == 8192 * 2**20
    assert "--id=1" in (tmp_path / "args").read_text()


@pytest.mark.parametrize("body", ["exit 9", "echo 'No devices were found'"])
def test_free_vram_unknown_when_nvidia_smi_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    from mcp_open.models.gpu import free_vram_bytes

    fake_nvidia_smi(tmp_path, body)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert free_vram_bytes() is None
