"""Real llama.cpp workers: killed while decoding and while loading, never outliving the server however it ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import ClientFactory, console_script, tiny_settings
from tests.crashing_engine import worker_pids

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def test_a_real_worker_killed_while_decoding_costs_that_call_only(
    tiny_chat: Path, tiny_embed: Path, connect_once: ClientFactory
) -> None:
    before = set(worker_pids())
    # A 3,000-token prompt: its batches alone outlast the first progress tick on an idle machine, where the tiny
    # model decodes 400 tokens in 35 ms.
    async with connect_once(tiny_settings(tiny_chat, tiny_embed, ctx=4096)) as client:
        killed: list[int] = []

        async def kill_once_it_decodes(_p: float, _total: float | None, message: str | None) -> None:
            # The prompt's batches or the first tokens: either way the worker is inside complete().
            if not killed and message and ("reading the prompt" in message or "tokens" in message):
                killed.extend(set(worker_pids()) - before)
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)

        args = {"prompt": "word " * 1000, "max_tokens": 400, "temperature": 1.0}
        result = await client.call_tool("generate", args, progress_callback=kill_once_it_decodes)
        assert killed and result.is_error, text_of(result)
        assert "died with SIGKILL while decoding" in text_of(result) and "tiny-qwen3.gguf" in text_of(result)
        again = await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 4})
        assert not again.is_error and again.structured_content["usage"]["completion_tokens"] >= 1
        assert not set(killed) & set(worker_pids())


async def test_a_real_worker_killed_while_loading_costs_that_call_only(
    tiny_chat: Path, tiny_embed: Path, connect_once: ClientFactory
) -> None:
    async with connect_once(tiny_settings(tiny_chat, tiny_embed)) as client:
        results: list[Any] = []
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                results.append(await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 4}))

            tg.start_soon(call)
            with anyio.fail_after(20):
                while not worker_pids():
                    await anyio.sleep(0.002)
            for pid in worker_pids():
                os.kill(pid, signal.SIGKILL)
        assert results[0].is_error and "died with SIGKILL while" in text_of(results[0])
        assert not (await client.call_tool("generate", {"prompt": "Hi", "max_tokens": 4})).is_error


def _send(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def _serve_one_decode(tiny_chat: Path, tiny_embed: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """A console-script server over stdio that has decoded once, and its worker pids."""
    args = ["--model", str(tiny_chat), "--embed-model", str(tiny_embed), "--ctx", "512", "--threads", "1"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([console_script(), "serve", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    _send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello})
    _send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    call = {"name": "generate", "arguments": {"prompt": "Hi", "max_tokens": 2}}
    _send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, "the server closed stdout early"
        if json.loads(line).get("id") == 2:
            break
    return proc, worker_pids(proc.pid)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("ending", ["stdin closed", "SIGINT", "SIGTERM", "SIGKILL"])
def test_no_worker_outlives_the_server(tiny_chat: Path, tiny_embed: Path, ending: str) -> None:
    proc, workers = _serve_one_decode(tiny_chat, tiny_embed)
    assert len(workers) == 1 and _running(workers[0])
    if ending == "stdin closed":
        assert proc.stdin is not None
        proc.stdin.close()
    else:
        proc.send_signal(getattr(signal, ending))
    proc.wait(30)
    deadline = time.monotonic() + 10
    while _running(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _running(workers[0]), f"the worker outlived a server ended by {ending}"


def test_the_server_process_never_imports_llama_cpp(tiny_chat: Path, tiny_embed: Path) -> None:
    script = (
        "import sys, anyio\n"
        "from mcp import Client\n"
        "from mcp_open.edge.server import build_server\n"
        "from mcp_open.settings import Settings\n"
        "async def main():\n"
        f"    settings = Settings(model={str(tiny_chat)!r}, embed_model={str(tiny_embed)!r}, ctx=512)\n"
        "    async with Client(build_server(settings)) as client:\n"
        "        for tool, args in [('generate', {'prompt': 'Hi', 'max_tokens': 2}), ('embed', {'texts': ['x']})]:\n"
        "            assert not (await client.call_tool(tool, args)).is_error\n"
        "        await client.read_resource('mcp-open://info')\n"
        "anyio.run(main)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('llama_cpp', 'mcp_open.engines.llama'))))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
