"""GPU offload settings and planning, decided from injected facts so they hold on any build and machine."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mcp_open.errors import ConfigError
from mcp_open.models.gpu import (
    CUDA_INSTALL_HINT,
    GpuFacts,
    OffloadPlan,
    gpu_notes,
    kv_cache_bytes,
    parse_gpu_layers,
    plan_offload,
)
from mcp_open.models.nvidia import GpuCard, free_vram_bytes, visible_cards, visible_devices
from mcp_open.settings import Settings
from tests.fakegpu import TWO_CARDS, fake_nvidia_smi

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


# -- which GPUs CUDA shows us ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        (None, None),
        ("", []),
        ("-1", []),
        ("1", ["1"]),
        ("1,0", ["1", "0"]),
        ("0,oops,1", ["0"]),
        ("GPU-bb", ["GPU-bb"]),
    ],
)
def test_cuda_visible_devices_parsed_as_cuda_does(value: str | None, entries: list[str] | None) -> None:
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    assert visible_devices(env) == entries


@pytest.mark.parametrize(
    ("value", "indexes"), [(None, [0, 1]), ("1", [1]), ("1,0", [1, 0]), ("GPU-bbbb", [1]), ("", []), ("7", [])]
)
def test_visible_cards_follow_cuda_visible_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, indexes: list[int]
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, TWO_CARDS)
    env = {} if value is None else {"CUDA_VISIBLE_DEVICES": value}
    cards = visible_cards(env)
    assert cards is not None and [card.index for card in cards] == indexes


def test_main_gpu_free_vram_is_cudas_numbering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, TWO_CARDS)
    assert free_vram_bytes(0) == 70000 * 2**20 and free_vram_bytes(1) == 8000 * 2**20
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert free_vram_bytes(0) == 8000 * 2**20  # --main-gpu 0 is physical GPU 1 here
    assert free_vram_bytes(1) is None


@pytest.mark.parametrize("body", ["exit 9", "echo 'No devices were found'"])
def test_free_vram_unknown_when_nvidia_smi_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, body)
    assert free_vram_bytes() is None


def test_no_nvidia_smi_means_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert visible_cards() is None and free_vram_bytes() is None


# -- the plain lines: "will my model run on the GPU?" -----------------------------------------------------

H200 = GpuCard(0, "GPU-aaaa", "NVIDIA H200", 140 * GIB, 130 * GIB)


def facts(can_offload: bool, cards: list[GpuCard] | None, **more: object) -> GpuFacts:
    values: dict[str, object] = {"cuda_build": can_offload, "requested": "auto", **more}
    return GpuFacts(can_offload, cards=cards, **values)  # type: ignore[arg-type]


def test_gpu_present_but_cpu_build_gives_the_reinstall_command() -> None:
    (note,) = gpu_notes(facts(False, [H200]))
    assert note.startswith("1 NVIDIA GPU (NVIDIA H200) visible, but this llama-cpp-python build cannot offload")
    assert note.endswith(CUDA_INSTALL_HINT)


def test_offloading_build_without_a_visible_gpu() -> None:
    (hidden,) = gpu_notes(facts(True, [], cuda_visible_devices=""))
    assert "can offload to a CUDA GPU but nvidia-smi shows no GPU (CUDA_VISIBLE_DEVICES='')" in hidden
    (missing,) = gpu_notes(facts(True, None))
    assert "nvidia-smi is not on the PATH or failed (CUDA_VISIBLE_DEVICES is not set)" in missing
    assert gpu_notes(facts(True, None, requested=0)) == []  # the user chose the CPU


def test_partial_offload_says_how_many_layers_go_to_the_gpu() -> None:
    partial = OffloadPlan(10, 40, "partial: needs 20.8 GiB but 8.0 GiB free; 10 of 40 layers fit")
    (note,) = gpu_notes(facts(True, [H200]), [("generation", partial)])
    assert note.startswith("the generation model does not fit in free VRAM: only 10 of 40 layers go to the GPU")
    assert gpu_notes(facts(True, [H200]), [("generation", OffloadPlan(41, 40, "fits"))]) == []


def test_main_gpu_beyond_the_visible_ones() -> None:
    (note,) = gpu_notes(facts(True, [H200], main_gpu=1, cuda_visible_devices="3"))
    assert "--main-gpu 1 names a GPU that is not visible" in note and "CUDA_VISIBLE_DEVICES='3'" in note


def test_cpu_build_without_gpu_is_an_obvious_answer() -> None:
    assert gpu_notes(facts(False, None)) == []
    assert gpu_notes(facts(True, [H200]), [("generation", OffloadPlan(29, 28, "fits"))]) == []
