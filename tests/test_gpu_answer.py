""" "Will my model run on the GPU?": the plain lines at start and in `mcp-open info`, with a fake nvidia-smi."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, stdio_client

from mcp_open.edge.about import About
from mcp_open.edge.cli import main
from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import App, compose
from mcp_open.models.gpu import CUDA_INSTALL_HINT
from mcp_open.settings import Settings
from tests.conftest import console_script, stdio_params, tiny_settings
from tests.fakegpu import TWO_CARDS, fake_nvidia_smi, inject_build, one_card


def info_of(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, Any], list[str]]:
    """Run `mcp-open info ARGS` in-process: the JSON and the plain stderr lines."""
    assert main(["info", *args]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), [line for line in out.err.splitlines() if line.startswith("mcp-open: ")]


def roles(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["role"]: m for m in info["models"]}


def test_gpu_present_but_cpu_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], gemma: Path, tiny_embed: Path
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, one_card(100_000))
    inject_build(monkeypatch, can_offload=False)
    info, lines = info_of(capsys, "--model", str(gemma), "--embed-model", str(tiny_embed))
    (line,) = lines
    assert "1 NVIDIA GPU (NVIDIA H200) visible, but this llama-cpp-python build cannot offload" in line
    assert line.endswith(CUDA_INSTALL_HINT)
    assert info["gpu"]["notes"] == [line.removeprefix("mcp-open: ")]
    gen = roles(info)["generation"]
    assert (gen["planned_gpu_layers"], gen["layers_total"]) == (0, 18)


def test_offloading_build_but_no_visible_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tiny_chat: Path
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, TWO_CARDS)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    inject_build(monkeypatch, can_offload=True)
    info, lines = info_of(capsys, "--model", str(tiny_chat), "--embed-model", str(tiny_chat))
    assert len(lines) == 1 and "can offload to a CUDA GPU but nvidia-smi shows no GPU" in lines[0]
    assert info["gpu"]["visible_gpus"] == []


def test_model_that_does_not_fit_says_how_many_layers_go_to_the_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], gemma: Path, tiny_embed: Path
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, one_card(1000))  # 1000 MiB free: about half of Gemma with its cache
    inject_build(monkeypatch, can_offload=True)
    info, lines = info_of(capsys, "--model", str(gemma), "--embed-model", str(tiny_embed), "--ctx", "4096")
    gen = roles(info)["generation"]
    assert 0 < gen["planned_gpu_layers"] < gen["layers_total"] == 18
    (line,) = [line for line in lines if "generation" in line]
    assert f"only {gen['planned_gpu_layers']} of 18 layers go to the GPU" in line
    assert gen["file"] == str(gemma) and gen["quant"] == "Q4_K_M" and gen["size_bytes"] == gemma.stat().st_size
    assert gen["context"] == 4096 and gen["kv_cache_bytes"] > 0 and gen["state"] == "unloaded"


def test_a_model_that_fits_needs_no_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], gemma: Path, tiny_embed: Path
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, one_card(100_000))
    inject_build(monkeypatch, can_offload=True)
    info, lines = info_of(capsys, "--model", str(gemma), "--embed-model", str(tiny_embed))
    assert lines == [] and info["gpu"]["notes"] == []
    assert roles(info)["generation"]["planned_gpu_layers"] == 18


def test_main_gpu_reads_the_vram_of_the_cuda_visible_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], gemma: Path, tiny_embed: Path
) -> None:
    fake_nvidia_smi(tmp_path, monkeypatch, 'echo "0, GPU-a, Big, 143771, 100000"; echo "1, GPU-b, Small, 2000, 900"')
    inject_build(monkeypatch, can_offload=True)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")
    on_small, _ = info_of(capsys, "--model", str(gemma), "--embed-model", str(tiny_embed))
    on_big, _ = info_of(capsys, "--model", str(gemma), "--embed-model", str(tiny_embed), "--main-gpu", "1")
    assert roles(on_small)["generation"]["planned_gpu_layers"] < 18 == roles(on_big)["generation"]["planned_gpu_layers"]


def test_real_build_with_a_gpu_on_path(tmp_path: Path, tiny_chat: Path, tiny_embed: Path) -> None:
    # Whatever this machine's build is: a GPU is visible, so a build that cannot offload must say how to fix it.
    import llama_cpp

    fake_nvidia_smi(tmp_path, pytest.MonkeyPatch(), one_card(100_000))
    out = subprocess.run(
        [console_script(), "info", "--model", str(tiny_chat), "--embed-model", str(tiny_embed)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "PATH": f"{tmp_path}:{__import__('os').environ['PATH']}"},
    )
    assert out.returncode == 0, out.stderr
    can_offload = bool(llama_cpp.llama_supports_gpu_offload())
    assert json.loads(out.stdout)["gpu"]["offload_supported"] is can_offload
    assert ("GGML_CUDA=on" in out.stderr) is not can_offload


@pytest.mark.anyio
async def test_bad_spec_and_gpu_line_at_start_over_stdio(tmp_path: Path, tiny_embed: Path) -> None:
    import llama_cpp

    fake_nvidia_smi(tmp_path, pytest.MonkeyPatch(), one_card(100_000))
    errlog = tmp_path / "stderr.txt"
    params = stdio_params("--model", "./nope.gguf", "--embed-model", str(tiny_embed))
    params.env = {**(params.env or {}), "PATH": f"{tmp_path}:{__import__('os').environ['PATH']}"}
    with errlog.open("w") as err:
        async with Client(stdio_client(params, errlog=err)) as client:
            langs = await client.call_tool("languages", {})  # the handshake and other tools do not wait for it
            with anyio.fail_after(60):
                while "cannot be served" not in errlog.read_text():
                    await anyio.sleep(0.05)
            failed = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 2})
    text = errlog.read_text()
    assert not langs.is_error and failed.is_error and "no such file" in failed.content[0].text
    assert "mcp-open: the generation model ./nope.gguf cannot be served: no such file:" in text
    assert ("GGML_CUDA=on" in text) is not bool(llama_cpp.llama_supports_gpu_offload())


class SlowStart(About):
    """A self-description whose start-up check waits until the test lets it go."""

    release = threading.Event()

    def startup_warnings(self) -> list[str]:
        assert self.release.wait(30)
        return ["checked"]


def slow_start(settings: Settings) -> App:
    """An app whose start-up check is SlowStart's."""
    app = compose(settings)
    app.about = SlowStart(settings, app.roles, app.account, app.recorder, app.about.folders)
    return app


@pytest.mark.anyio
async def test_the_handshake_never_waits_for_the_start_check(
    tiny_chat: Path, tiny_embed: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = tiny_settings(tiny_chat, tiny_embed)
    SlowStart.release.clear()
    async with Client(build_server(settings, slow_start(settings))) as client:
        tools = await client.list_tools()  # served while the check is still blocked
        SlowStart.release.set()
        with anyio.fail_after(30):
            while "checked" not in caplog.text:
                await anyio.sleep(0.02)
    assert {tool.name for tool in tools.tools} >= {"generate", "embed"}
