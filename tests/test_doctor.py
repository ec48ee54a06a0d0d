"""`mcp-open doctor`, `mcp-open info` on models not downloaded, and the bare command groups, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_open.edge.cli import main
from mcp_open.edge.commands.doctor import check_cache, check_llama, check_python
from mcp_open.models.gpu import CUDA_INSTALL_HINT
from mcp_open.models.hub import reach
from tests.fakegpu import fake_nvidia_smi, inject_build, one_card


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def test_doctor_all_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_chat: Path
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, "exit 9")  # no usable GPU, whatever this machine has
    inject_build(monkeypatch, can_offload=False)
    code, lines = doctor(capsys, "--model", str(tiny_chat), "--embed-model", str(tiny_chat))
    assert code == 0, lines
    topics = [line.split(":")[0].split(maxsplit=1) for line in lines if line and not line.startswith(" ")]
    assert [t[1] for t in topics[:-1]] == [
        "python",
        "llama-cpp-python",
        "llama.cpp build",
        "GPUs",
        "cache",
        "generation model",
        "embedding model",
    ]
    assert all(t[0] == "ok" for t in topics[:-1]) and lines[-1] == "everything mcp-open needs is in place"


def test_doctor_names_each_problem_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_chat: Path
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, one_card(80_000))
    inject_build(monkeypatch, can_offload=False)
    code, lines = doctor(capsys, "--model", "qwen3-8b", "--embed-model", "qwen9")
    text = "\n".join(lines)
    assert code == 1 and lines[-1] == "3 problem(s) found"
    assert "PROBLEM  GPU: 1 NVIDIA GPU (NVIDIA H200) visible, but this llama-cpp-python build cannot offload" in text
    assert CUDA_INSTALL_HINT in text
    assert (
        "PROBLEM  generation model: qwen3-8b: cannot be served\n         fix: the model qwen3-8b is not downloaded"
        in text
    )
    assert "PROBLEM  embedding model: qwen9: cannot be served\n         fix: unknown model 'qwen9'" in text


def test_doctor_checks_in_isolation() -> None:
    assert check_python((3, 11, 2)).ok and not check_python((3, 10, 12)).ok
    assert "3.11 or newer" in (check_python((3, 10, 12)).fix or "")
    wrong = check_llama("0.3.20", "0.3.36")
    assert not wrong.ok and wrong.fix == 'pip install "llama-cpp-python==0.3.36"'
    assert not check_llama(None, "0.3.36").ok and check_llama("0.3.36", "0.3.36").ok
    full = check_cache(Path("/cache"), free=int(1e9), needed=5e9)
    assert not full.ok and "5.0 GB" in full.text and "HF_HOME" in (full.fix or "")


def test_info_on_a_catalog_model_not_downloaded_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_embed: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(reach, "probe", lambda endpoint: None)  # the Hub answers
    reach.forget()
    assert main(["info", "--model", "qwen3-4b", "--embed-model", str(tiny_embed)]) == 0
    out = capsys.readouterr()
    gen = {m["role"]: m for m in json.loads(out.out)["models"]}["generation"]
    assert (gen["file"], gen["quant"], gen["size_gb"], gen["context"]) == ("not downloaded", "Q4_K_M", 2.5, 8192)
    assert gen["missing"] == "the first call downloads it (2.5 GB); `mcp-open models pull qwen3-4b` does it now"
    assert "mcp-open: the generation model qwen3-4b is not on this machine yet: the first call downloads it" in out.err


@pytest.mark.parametrize(("argv", "offers"), [([], "serve"), (["models"], "pull")])
def test_a_command_group_without_its_command_shows_what_it_offers(
    capsys: pytest.CaptureFixture[str], argv: list[str], offers: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: mcp-open" in err and offers in err and "_command" not in err


def test_doctor_decodes_in_a_worker_and_names_a_crash_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_chat: Path
) -> None:
    from mcp_open.engines.worker import process

    fake_nvidia_smi(tmp_path, monkeypatch, "exit 9")
    inject_build(monkeypatch, can_offload=False)
    monkeypatch.setattr(process, "ENTRY", "tests.crashing_worker")  # a build that faults on its first decode
    code, lines = doctor(capsys, "--model", str(tiny_chat), "--embed-model", str(tiny_chat))
    assert code == 1
    (problem,) = [line for line in lines if line.startswith("PROBLEM")]
    assert "generation model" in problem and "died with SIGILL while decoding" in problem
    shown = "\n".join(lines)
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF' in shown and "--no-cache-dir" in shown
    assert "load_tensors: CPU_REPACK model buffer size" in shown  # the worker's last stderr lines
    assert any(line.startswith("ok") and "embedding model" in line and "embedded a text" in line for line in lines)
