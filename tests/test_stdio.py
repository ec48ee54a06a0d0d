"""The console script over stdio, launched the way Claude Desktop launches it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.conftest import console_script, stdio_params

pytestmark = pytest.mark.anyio


def tiny_args(chat: Path, embed: Path) -> list[str]:
    return ["--model", str(chat), "--embed-model", str(embed), "--ctx", "1024", "--threads", "2"]


async def test_every_tool_over_stdio(tiny_chat: Path, tiny_embed: Path) -> None:
    async with Client(stdio_params(*tiny_args(tiny_chat, tiny_embed))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"generate", "translate", "embed", "rank", "search", "languages"}
        gen = await client.call_tool("generate", {"prompt": "Hello", "max_tokens": 8, "seed": 1})
        assert not gen.is_error and 1 <= gen.structured_content["usage"]["completion_tokens"] <= 8
        tr = await client.call_tool("translate", {"text": ["Good morning to you all"], "target_lang": "es"})
        assert not tr.is_error and tr.structured_content["translations"][0]["detected_source_lang"] == "en"
        emb = await client.call_tool("embed", {"texts": ["a", "b"], "dimensions": 8})
        assert not emb.is_error and len(emb.structured_content["embeddings"][1]) == 8
        ranked = await client.call_tool("rank", {"query": "a", "documents": ["a", "b", "c"], "top_k": 2})
        assert len(ranked.structured_content["results"]) == 2
        langs = await client.call_tool("languages", {})
        assert len(langs.structured_content["languages"]) > 30
        info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
        states = {m["role"]: m["state"] for m in info["models"]}
        assert states == {"generation": "loaded", "embedding": "loaded"}


async def test_handshake_does_not_wait_for_an_unavailable_model(tiny_embed: Path) -> None:
    # A hub model that is not cached cannot load offline; the handshake must not even try.
    params = stdio_params("--model", "Qwen/Qwen3-32B-GGUF:Q4_K_M", "--embed-model", str(tiny_embed))
    async with Client(params) as client:
        assert len((await client.list_tools()).tools) == 6
        info = json.loads((await client.read_resource("mcp-open://info")).contents[0].text)
        assert {m["role"]: m["state"] for m in info["models"]}["generation"] == "unloaded"
        failed = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 2})
        assert failed.is_error and "models pull" in failed.content[0].text
        assert not (await client.call_tool("embed", {"texts": "still serving"})).is_error


def _rpc(proc: subprocess.Popen[bytes], message: dict[str, object]) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def test_verbose_stdio_keeps_stdout_pure_json_rpc(tiny_chat: Path, tiny_embed: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [console_script(), "serve", "-v", *tiny_args(tiny_chat, tiny_embed)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _rpc(
        proc,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
    )
    _rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    _rpc(
        proc,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "generate", "arguments": {"prompt": "Hi", "max_tokens": 5}},
        },
    )
    _rpc(
        proc,
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "embed", "arguments": {"texts": ["x"]}}},
    )
    assert proc.stdout is not None
    messages: list[dict[str, object]] = []
    while not {1, 2, 3} <= {m.get("id") for m in messages}:
        line = proc.stdout.readline()
        assert line, "server closed stdout early"
        messages.append(json.loads(line))  # every stdout line must be one JSON-RPC message
    rest, stderr = proc.communicate(timeout=60)
    messages += [json.loads(line) for line in rest.splitlines() if line.strip()]
    assert all(m["jsonrpc"] == "2.0" for m in messages)
    assert {m.get("id") for m in messages} >= {1, 2, 3}
    results = [m["result"] for m in messages if m.get("id") in (2, 3)]
    assert len(results) == 2 and not any(r.get("isError") for r in results)  # type: ignore[union-attr]
    # -v really is louder: our load log and llama.cpp's native log both went to stderr.
    assert b"loaded" in stderr and b"llama" in stderr


async def test_progress_over_stdio(gemma: Path, tiny_embed: Path) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    params = stdio_params("--model", str(gemma), "--embed-model", str(tiny_embed), "--ctx", "512")
    async with Client(params) as client:
        result = await client.call_tool(
            "generate",
            {"prompt": "Once upon a time", "max_tokens": 48, "temperature": 0, "stop": ["\u0000"]},
            progress_callback=on_progress,
        )
    assert not result.is_error
    assert len(seen) >= 3
    values = [p for p, _, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)  # strictly increasing
    assert any(total == 48 for _, total, _ in seen)
    assert any(msg and "tokens" in msg for _, _, msg in seen)


def test_cli_rejects_bad_settings_with_a_clear_message() -> None:
    out = subprocess.run(
        [console_script(), "serve", "--gpu-layers", "lots"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    assert "--gpu-layers" in out.stderr and "auto" in out.stderr
    assert out.stdout == ""


def test_module_entry_point_version() -> None:
    out = subprocess.run([sys.executable, "-m", "mcp_open", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("mcp-open ")


async def test_client_going_away_ends_the_server(tiny_chat: Path, tiny_embed: Path) -> None:
    cmd = [console_script(), "serve", *tiny_args(tiny_chat, tiny_embed)]
    proc = await anyio.open_process(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.stdin is not None
    await proc.stdin.aclose()
    with anyio.fail_after(30):
        code = await proc.wait()
    assert code == 0
