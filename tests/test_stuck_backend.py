"""Issue 23, findings 8-10: a backend that misbehaves costs one call a clear error, never memory or a secret."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from mcp_open.edge.server import build_server
from mcp_open.settings import Settings
from tests.badbackend import MODEL, BadBackend, bad_backend

pytestmark = pytest.mark.anyio
KEY = "sk-test-0123456789abcdef"
PASSWORD = "hunter2-pw"


@pytest.fixture(scope="module")
def backend() -> Iterator[BadBackend]:
    with bad_backend() as server:
        yield server


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "backend": url,
        "model": MODEL,
        "embed_backend": url,
        "embed_model": MODEL,
        "backend_api_key": KEY,
        **overrides,
    }
    return Settings(**values)


async def generate_error(client: Client, **args: Any) -> str:
    result = await client.call_tool("generate", {"prompt": "hi", "max_tokens": 20, **args})
    text = result.content[0].text
    assert result.is_error, text
    return text


async def test_a_backend_that_ignores_max_tokens_is_cut_off(backend: BadBackend) -> None:
    backend.mode = "forever"
    async with Client(build_server(settings_for(backend.url))) as client:
        started = time.monotonic()
        error = await generate_error(client)
        assert time.monotonic() - started < 5
    assert "kept sending past max_tokens=20" in error and "stream was closed" in error, error
    sent = backend.streamed_tokens
    time.sleep(0.3)
    assert backend.streamed_tokens - sent < 50  # the connection was closed, so the server stopped


@pytest.mark.parametrize("mode", ["leak401", "leak500", "sse_error"])
async def test_no_credential_appears_in_any_error_or_log(
    backend: BadBackend, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    host = backend.url.removeprefix("http://")
    caplog.set_level(logging.DEBUG)
    for url in (backend.url, f"http://user:{PASSWORD}@{host}"):
        backend.mode = "normal"
        async with Client(build_server(settings_for(url))) as client:
            backend.mode = mode
            error = await generate_error(client)
            info = (await client.read_resource("mcp-open://info")).contents[0].text
        for secret in (KEY, PASSWORD, "dXNlcjpodW50ZXIyLXB3"):  # the key, the password, its Basic-auth form
            assert secret not in error and secret not in info and secret not in caplog.text, (secret, error)
        assert "***" in error, error


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("garbage", "sent an event that is not JSON"),
        ("redirect", "redirected the request (HTTP 307 to http://127.0.0.1:1/v1/chat/completions)"),
        ("json_body", "answered with application/json instead of a stream of events"),
        ("huge_event", "sent an event over 1 MiB"),
    ],
)
async def test_protocol_breaks_are_named(backend: BadBackend, mode: str, expected: str) -> None:
    backend.mode = "normal"
    async with Client(build_server(settings_for(backend.url))) as client:
        backend.mode = mode
        error = await generate_error(client)
    assert expected in error and "unexpected" not in error and "without saying why" not in error, error


async def test_a_cancelled_embeddings_batch_is_closed_before_its_headers(backend: BadBackend) -> None:
    backend.mode = "normal"
    backend.embed_disconnected.clear()
    async with Client(build_server(settings_for(backend.url, timeout=1.0))) as client:
        backend.mode = "slow_embed"
        started = time.monotonic()
        result = await client.call_tool("embed", {"texts": ["a", "b"]})
        assert result.is_error and "--timeout of 1 s" in result.content[0].text, result.content
        assert time.monotonic() - started < 3
        assert backend.embed_disconnected.wait(2), "the backend never saw the request closed"
