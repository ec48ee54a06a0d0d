"""Issue 23, findings 5-7: --timeout, cancel and stop signals land within about a second in every phase."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.edge.wiring import compose
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings
from tests.fuzzkit import StdioServer, server_args
from tests.test_hardening import tool_call


def big_text(path: Path, megabytes: int) -> Path:
    """A text file of one long unbroken line, the worst case for a tokenizer."""
    path.write_text(" ".join(f"word{i % 997}" for i in range(megabytes * 150_000)))
    return path


@pytest.mark.anyio
async def test_a_model_download_is_abandoned_on_timeout_and_serves_the_next_call(tmp_path: Path) -> None:
    """A first-use download cannot be interrupted: the waiting call is answered, the load goes on for the next."""
    release = threading.Event()
    loads: list[float] = []

    def downloading(_spec: str, _settings: Settings, embedding: bool, note: Callable[[str], None]) -> LoadedModel:
        loads.append(time.monotonic())
        note("downloading 1.2 GB")
        release.wait(30)  # the download, deaf to cancellation
        return LoadedModel(ScriptedEngine(embedding=embedding), 0.0)

    settings = Settings(model="scripted", embed_model="scripted-embed", timeout=0.5, data_dir=tmp_path)
    async with Client(build_server(settings, compose(settings, loader=downloading))) as client:
        started = time.monotonic()
        first = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 4})
        assert first.is_error and "--timeout of 0.5 s" in first.content[0].text, first.content
        assert time.monotonic() - started < 2
        second = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 4})  # waits, then also times out
        assert second.is_error and len(loads) == 1  # the same download, not a second one
        release.set()
        with anyio.fail_after(10):
            while True:
                third = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 4})
                if not third.is_error:
                    break
        assert len(loads) == 1


@pytest.mark.slow
def test_timeout_lands_while_indexing_a_huge_file(tiny_chat: Path, tiny_embed: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    big_text(root / "huge.txt", 12)
    args = [*server_args(tiny_chat, tiny_embed), "--allow-dir", str(root), "--data-dir", str(tmp_path / "data")]
    server = StdioServer([*args, "--timeout", "2", "--max-file-mb", "100"], tmp_path / "stderr")
    try:
        started = time.monotonic()
        answer = server.call(tool_call("s", "search", {"query": "word5"}))
        elapsed = time.monotonic() - started
        text = answer["result"]["content"][0]["text"]
        print(f"\nanswered {elapsed:.2f} s after the call was sent (--timeout 2)")
        assert answer["result"]["isError"] and "--timeout of 2 s" in text, answer
        # Measured 2.95-4.2 s under load average 13-16 (19.7 s before); the margin is for a loaded runner.
        assert elapsed < 6.0, f"answered after {elapsed:.1f} s"
    finally:
        assert server.close() == 0


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_lands_while_indexing(
    signum: signal.Signals, tiny_chat: Path, tiny_embed: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    big_text(root / "huge.txt", 12)
    args = [*server_args(tiny_chat, tiny_embed), "--allow-dir", str(root), "--data-dir", str(tmp_path / "data")]
    server = StdioServer([*args, "--max-file-mb", "100"], tmp_path / "stderr")
    server.send_json(tool_call("s", "search", {"query": "word5"}, progress=True))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not server.notifications:
        time.sleep(0.05)
    time.sleep(1.5)  # the tiny embedder is loaded by now: inside reading and chunking the file (many seconds)
    started = time.monotonic()
    server.proc.send_signal(signum)
    answer: dict[str, Any] = server.wait("s")
    code = server.proc.wait(timeout=10)
    elapsed = time.monotonic() - started
    print(f"\n{signum.name}: answered and exited {elapsed:.2f} s after the signal")
    assert answer["result"]["isError"] and "shutting down" in answer["result"]["content"][0]["text"], answer
    # Measured 0.3-2.3 s under load average 13-16; the margin is for a loaded runner.
    assert code == 0 and elapsed < 4.0, f"exit {code} after {elapsed:.2f} s"
