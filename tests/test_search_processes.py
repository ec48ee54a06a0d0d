"""search across processes and from the command line: two servers on one index, `mcp-open index`, Gemma."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.conftest import ROOT, console_script, stdio_params, tiny_settings
from tests.searchkit import search, write_corpus

pytestmark = pytest.mark.anyio


def topic_files(folder: Path, prefix: str, count: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"{prefix}{i:02}.txt").write_text(f"Note {prefix}{i}: the {prefix} shelf holds box number {i}.\n")
    return folder


def child_env(data_dir: Path) -> dict[str, str]:
    """What a server or CLI child needs: this checkout's code and the test's data directory."""
    return {"PYTHONPATH": str(ROOT), "MCP_OPEN_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}


async def test_two_server_processes_share_one_index_and_lose_nothing(
    tmp_path: Path, tiny_chat: Path, tiny_embed: Path
) -> None:
    root = tmp_path / "corpus"
    topic_files(root / "a", "apple", 12)
    topic_files(root / "b", "birch", 12)
    args = ("--model", str(tiny_chat), "--embed-model", str(tiny_embed), "--ctx", "512", "--allow-dir", str(root))
    env = child_env(tmp_path / "data")
    results: dict[str, list[dict[str, Any]]] = {"one": [], "two": []}

    async def server(name: str, order: list[str]) -> None:
        async with Client(stdio_params(*args, env=env)) as client:
            for folder in order:
                results[name].append(await search(client, "box number", paths=[folder], mode="lexical"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(server, "one", ["a", "b"])
        tg.start_soon(server, "two", ["b", "a"])
    async with Client(stdio_params(*args, env=env)) as client:
        final = await search(client, "box number", mode="lexical", top_k=30)
    assert final["index"] | {"updated": 0, "removed": 0, "files": 24} == final["index"]
    assert len(final["passages"]) == 24
    index = next((tmp_path / "data" / "index").glob("*.sqlite3"))
    db = sqlite3.connect(index)
    assert db.execute("SELECT count(*), sum(chunks) FROM files").fetchone() == (24, 24)
    assert db.execute("SELECT count(*) FROM chunks").fetchone() == (24,)
    db.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    both = results["one"] + results["two"]
    assert all(r["index"]["files"] == 12 and not r["index"]["skipped"] for r in both)


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **child_env(data_dir)}
    return subprocess.run([console_script(), *args], capture_output=True, text=True, env=env, timeout=120)


def test_index_command_builds_ahead_with_a_progress_bar_and_status_shows_it(tmp_path: Path, tiny_embed: Path) -> None:
    root = topic_files(tmp_path / "shelf", "cedar", 6)
    data = tmp_path / "data"
    flags = ("--embed-model", str(tiny_embed), "--ctx", "512")
    empty = run_cli("index", "--status", data_dir=data)
    first = run_cli("index", str(root), *flags, data_dir=data)
    second = run_cli("index", str(root), *flags, data_dir=data)
    status = run_cli("index", "--status", data_dir=data)
    assert "no search index yet" in empty.stdout
    assert first.returncode == 0, first.stderr
    assert "6 files, 6 indexed, 0 unchanged" in first.stdout and "indexing" in first.stderr
    assert "6/6" in first.stderr  # the bar reached the end
    assert "6 files, 0 indexed, 6 unchanged" in second.stdout
    assert status.returncode == 0 and "tiny-qwen3-embed.gguf" in status.stdout
    assert "6 files, 6 passages" in status.stdout and str(root.resolve()) in status.stdout


def test_index_command_without_paths_says_what_to_pass(tmp_path: Path) -> None:
    done = run_cli("index", data_dir=tmp_path)
    assert done.returncode == 2 and "name at least one folder" in done.stderr


@pytest.mark.slow
async def test_gemma_finds_a_paraphrase_by_meaning(
    tmp_path: Path, tiny_chat: Path, gemma: Path, connect_once: Any
) -> None:
    root = write_corpus(tmp_path / "corpus", project=False)
    settings = tiny_settings(tiny_chat, gemma, allow_dirs=[root], ctx=2048)
    async with connect_once(settings) as client:
        found = await search(client, "what do we owe if goods arrive late?", paths=["docs"], mode="semantic")
    assert found["model"].startswith("gemma") or "gguf" in found["model"]
    assert found["passages"][0]["path"] == "docs/contracts.md", found["passages"]
