"""`mcp-open models list|pull|info` and `mcp-open info`, through the console script, against an on-disk HF cache."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from mcp import Client

from mcp_open.edge.cli import main
from mcp_open.edge.server import build_server
from mcp_open.settings import Settings
from tests.conftest import console_script
from tests.hfcache import cache_repo, use_cache

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_CACHE": str(home / "hub"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([console_script(), *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def cached_4b(tmp_path: Path, tiny_chat: Path) -> Path:
    """An HF home whose cache holds Qwen3-4B Q4_K_M (the tiny model's bytes under the real file name)."""
    home = tmp_path / "hf"
    cache_repo(home / "hub", "Qwen/Qwen3-4B-GGUF", {"Qwen3-4B-Q4_K_M.gguf": tiny_chat.read_bytes()})
    return home


def test_models_list_marks_what_is_cached(cached_4b: Path, tiny_chat: Path) -> None:
    table = run_cli("models", "list", home=cached_4b)
    assert table.returncode == 0, table.stderr
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:]}
    assert {"qwen3-4b", "qwen3-8b", "qwen3-embedding-0.6b", "starter"} <= set(lines)
    assert "Q4_K_M" in lines["qwen3-4b"].split("Qwen/")[0]
    rows = {row["alias"]: row for row in json.loads(run_cli("models", "list", "--json", home=cached_4b).stdout)}
    assert rows["qwen3-4b"]["cached_bytes"] == tiny_chat.stat().st_size
    assert rows["qwen3-8b"]["cached_bytes"] == 0


def test_models_info_reads_the_header(tiny_chat: Path, gemma: Path, tmp_path: Path) -> None:
    tiny = json.loads(run_cli("models", "info", str(tiny_chat), home=tmp_path).stdout)
    assert (tiny["architecture"], tiny["block_count"], tiny["embedding_length"]) == ("qwen3", 2, 64)
    assert tiny["has_chat_template"] is True and tiny["context_length"] == 4096 and tiny["parameter_count"] > 0
    real = json.loads(run_cli("models", "info", str(gemma), home=tmp_path).stdout)
    assert real["architecture"] == "gemma3" and real["has_chat_template"] is False
    assert real["quantization"] == "Q4_K_M" and real["block_count"] == 18


def test_models_info_by_alias_from_the_cache(cached_4b: Path) -> None:
    out = run_cli("models", "info", "qwen3-4b", home=cached_4b)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["source"] == "catalog" and info["path"].endswith("Qwen3-4B-Q4_K_M.gguf")


def test_pull_offline_with_nothing_cached_says_what_to_do(tmp_path: Path) -> None:
    out = run_cli("models", "pull", "qwen3-8b", home=tmp_path / "empty")
    assert out.returncode == 2 and out.stdout == ""
    assert "HF_HUB_OFFLINE" in out.stderr and "starter" in out.stderr


def test_pull_of_a_cached_model_prints_its_path(
    cached_4b: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_cache(cached_4b, monkeypatch)
    assert main(["models", "pull", "Qwen/Qwen3-4B-GGUF:Q4_K_M"]) == 0
    assert capsys.readouterr().out.strip().endswith("Qwen3-4B-Q4_K_M.gguf")


@pytest.mark.anyio
async def test_serve_an_alias_from_the_cache(
    cached_4b: Path, tiny_embed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_cache(cached_4b, monkeypatch)
    settings = Settings(model="qwen3-4b", embed_model=str(tiny_embed), ctx=512)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 3})
    assert not result.is_error, result.content
    assert result.structured_content["model"] == "Qwen/Qwen3-4B-GGUF:Q4_K_M"


def test_info_command_prints_build_and_models(tiny_chat: Path, tmp_path: Path) -> None:
    out = run_cli("info", "--model", str(tiny_chat), home=tmp_path)
    info = json.loads(out.stdout)
    assert isinstance(info["llama_cpp"]["gpu_offload"], bool)  # whichever build this is
    gen = {m["role"]: m for m in info["models"]}["generation"]
    assert gen["spec"] == gen["file"] == str(tiny_chat) and gen["layers_total"] == 2
