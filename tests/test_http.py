"""Streamable HTTP: many clients at once, progress, bearer auth, and refusing an open bind without a token."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import console_script

pytestmark = pytest.mark.anyio

TOKEN = "test-token-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def http_server(model: Path, embed: Path, *extra: str) -> Iterator[str]:
    """Run `mcp-open serve --transport http` on a free loopback port until the block ends."""
    port = free_port()
    cmd = [
        console_script(),
        "serve",
        "--transport",
        "http",
        "--port",
        str(port),
        "--model",
        str(model),
        "--embed-model",
        str(embed),
        "--ctx",
        "1024",
        "--threads",
        "2",
        *extra,
    ]
    proc = subprocess.Popen(cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode() if proc.stderr else "server exited")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@asynccontextmanager
async def authed_client(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def test_eight_concurrent_clients(tiny_chat: Path, tiny_embed: Path) -> None:
    outcomes: list[bool] = []

    async def one_client(index: int, url: str) -> None:
        async with Client(url) as client:
            for turn in range(3):
                gen = await client.call_tool("generate", {"prompt": f"client {index} turn {turn}", "max_tokens": 6})
                emb = await client.call_tool("embed", {"texts": [f"text {index}", f"turn {turn}"]})
                outcomes.append(not gen.is_error and not emb.is_error)

    with http_server(tiny_chat, tiny_embed) as url:
        async with anyio.create_task_group() as tg:
            for index in range(8):
                tg.start_soon(one_client, index, url)
    assert outcomes == [True] * 24


async def test_progress_over_http(gemma: Path, tiny_embed: Path) -> None:
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    with http_server(gemma, tiny_embed) as url:
        async with Client(url) as client:
            result = await client.call_tool(
                "generate",
                {"prompt": "Once upon a time", "max_tokens": 48, "temperature": 0},
                progress_callback=on_progress,
            )
    assert not result.is_error
    assert len(seen) >= 3 and seen == sorted(seen)


async def test_bearer_token_required_when_configured(tiny_chat: Path, tiny_embed: Path) -> None:
    with http_server(tiny_chat, tiny_embed, "--auth-token", TOKEN) as url:
        async with httpx2.AsyncClient() as http:
            anonymous = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Accept": "application/json, text/event-stream"},
            )
            wrong = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Authorization": "Bearer nope", "Accept": "application/json, text/event-stream"},
            )
        assert anonymous.status_code == 401 and wrong.status_code == 401
        async with authed_client(url, TOKEN) as client:
            langs = await client.call_tool("languages", {})
            assert not langs.is_error


async def test_dns_rebinding_protection_stays_on(tiny_chat: Path, tiny_embed: Path) -> None:
    with http_server(tiny_chat, tiny_embed) as url:
        async with httpx2.AsyncClient() as http:
            response = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Host": "evil.example.com", "Accept": "application/json, text/event-stream"},
            )
    assert response.status_code == 421


def test_refuses_open_bind_without_token(tiny_chat: Path, tiny_embed: Path) -> None:
    out = subprocess.run(
        [console_script(), "serve", "--transport", "http", "--host", "0.0.0.0", "--model", str(tiny_chat)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 2
    assert "0.0.0.0" in out.stderr and "--auth-token" in out.stderr
    assert out.stdout == ""


async def test_401_says_how_to_send_the_token_and_advertises_no_oauth(tiny_chat: Path, tiny_embed: Path) -> None:
    with http_server(tiny_chat, tiny_embed, "--auth-token", TOKEN) as url:
        base = url.removesuffix("/mcp")
        async with httpx2.AsyncClient() as http:
            refused = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Accept": "application/json, text/event-stream"},
            )
            discovery = [
                (await http.get(f"{base}{path}")).status_code
                for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-authorization-server")
            ]
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="mcp-open"'  # no resource_metadata to follow
    body = refused.json()
    assert body["error"] == "missing_token"
    assert (
        "'Authorization: Bearer <token>'" in body["error_description"] and "--auth-token" in body["error_description"]
    )
    assert discovery == [404, 404]
