"""What a new user meets at the terminal: offline index, its progress while embedding, a closed pipe."""

from __future__ import annotations

import subprocess
from pathlib import Path

import anyio
import pytest

from mcp_open.edge.cli import main
from tests.conftest import console_script
from tests.searchkit import GatedEngine, client_on, search_settings


def test_index_offline_says_how_to_index_with_the_starter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))  # HF_HUB_OFFLINE=1 from the autouse fixture
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("cats and dogs\n")
    assert main(["index", str(docs)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ExceptionGroup" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("mcp-open: ")]
    assert "cannot index: the embedding model qwen3-embedding-0.6b is not downloaded" in line
    assert "HF_HUB_OFFLINE is set" in line
    assert f"`mcp-open index --embed-model starter {docs}`" in line
    assert "mcp-open serve" not in line and "mcp-open[starter]" not in line


def test_usage_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`mcp-open usage | head`: the reader is gone before we write."""
    proc = subprocess.Popen(
        [console_script(), "usage", "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


@pytest.mark.anyio
async def test_index_progress_counts_files_whose_passages_are_stored(tmp_path: Path) -> None:
    """While passages embed, progress has not already reached every file (it used to count files read)."""
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(10):
        (root / f"f{i}.md").write_text(f"# Part\n\nword{i} " * 20)
    engine = GatedEngine(name="gated", embedding=True, width=16, n_ctx=2048, hold_after=1)  # probe, then hold
    while_held: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if engine.holding.is_set() and not engine.release.is_set():
            while_held.append((progress, total, message))
            if len(while_held) >= 3:
                engine.release.set()

    async with client_on(engine, search_settings(root)) as client:
        with anyio.fail_after(60):
            result = await client.call_tool("search", {"query": "word3"}, progress_callback=on_progress)
    assert not result.is_error and result.structured_content is not None
    assert result.structured_content["index"]["updated"] == 10
    assert while_held, "no progress was reported while the passages were embedding"
    assert all(progress < 1 and total == 10 for progress, total, _ in while_held), while_held
    assert any(message and "10/10 files read" in message for _, _, message in while_held), while_held
