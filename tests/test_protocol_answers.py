"""JSON-RPC answers the MCP revisions ask for: unknown tool, cursor, resource, protocol version; resumable streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, MCPError

from mcp_open.edge.server import build_server
from tests.conftest import ClientFactory, tiny_settings
from tests.test_http import http_server

pytestmark = pytest.mark.anyio

SSE = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "raw", "version": "1"},
}


async def test_unknown_tool_is_invalid_params_naming_the_tools(
    connect: ClientFactory, tiny_chat: Path, tiny_embed: Path
) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("generat", {"prompt": "hi"})
    assert caught.value.error.code == -32602
    assert "unknown tool 'generat'" in caught.value.error.message
    assert "generate" in caught.value.error.message


async def test_a_cursor_is_invalid_params(connect: ClientFactory, tiny_chat: Path, tiny_embed: Path) -> None:
    async with connect(tiny_settings(tiny_chat, tiny_embed)) as client:
        with pytest.raises(MCPError) as caught:
            await client.list_tools(cursor="page-2")
    assert caught.value.error.code == -32602
    assert "invalid cursor" in caught.value.error.message


@pytest.mark.parametrize(("mode", "code"), [("legacy", -32002), ("auto", -32602)])
async def test_unknown_resource_code_follows_the_revision(
    tiny_chat: Path, tiny_embed: Path, mode: str, code: int
) -> None:
    """2025-11-25 says -32002 (resource not found); 2026-07-28 retired that code for -32602."""
    async with Client(build_server(tiny_settings(tiny_chat, tiny_embed)), mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as caught:
            await client.read_resource("mcp-open://nothing")
    assert caught.value.error.code == code
    assert caught.value.error.data == {"uri": "mcp-open://nothing"}


def events(body: str) -> list[dict[str, str]]:
    """The SSE events of a response body, each as its fields."""
    parsed = []
    for block in body.replace("\r\n", "\n").strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.removeprefix(" ")
        parsed.append(fields)
    return parsed


def open_session(http: httpx2.Client, url: str) -> dict[str, str]:
    """Initialize a 2025-11-25 session over raw HTTP; the headers its later requests carry."""
    reply = http.post(url, headers=SSE, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INITIALIZE})
    headers = {**SSE, "mcp-session-id": reply.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
    http.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return headers


def call(http: httpx2.Client, url: str, headers: dict[str, str], id: int, name: str) -> list[dict[str, str]]:
    """POST one tools/call; the events of its stream."""
    body = {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": {}}}
    return events(http.post(url, headers=headers, json=body).text)


def test_streams_are_resumable_and_replay_stays_in_its_session(tiny_chat: Path, tiny_embed: Path) -> None:
    with http_server(tiny_chat, tiny_embed) as url, httpx2.Client(timeout=30) as http:
        first = open_session(http, url)
        stream = call(http, url, first, 2, "languages")
        priming, answer = stream[0], stream[-1]
        assert priming["data"] == "" and priming["id"] and priming["retry"] == "2000"
        assert answer["id"] and json.loads(answer["data"])["id"] == 2

        # The client lost the stream after the priming event: Last-Event-ID brings the answer back.
        resumed = {**first, "Accept": "text/event-stream", "Last-Event-ID": priming["id"]}
        with http.stream("GET", url, headers=resumed) as replay:
            replayed: list[Any] = []
            for line in replay.iter_lines():
                if line.startswith("data: {"):
                    replayed.append(json.loads(line.removeprefix("data: ")))
                    break
        assert replayed[0]["id"] == 2 and "languages" in replayed[0]["result"]["structuredContent"]

        # Another session with the same event id (request ids repeat across sessions) never sees the first's events.
        second = open_session(http, url)
        other = {**second, "Accept": "text/event-stream", "Last-Event-ID": priming["id"]}
        with http.stream("GET", url, headers=other) as replay:
            seen = []
            for line in replay.iter_lines():
                seen.append(line)
                if line.startswith("data: {") or len(seen) > 8:
                    break
        assert not any("languages" in line for line in seen)


def test_an_unsupported_protocol_version_header_is_named(tiny_chat: Path, tiny_embed: Path) -> None:
    with http_server(tiny_chat, tiny_embed) as url, httpx2.Client(timeout=30) as http:
        headers = {**SSE, "MCP-Protocol-Version": "1999-01-01"}
        reply = http.post(url, headers=headers, json={"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
        got = http.get(url, headers={"Accept": "text/event-stream", "MCP-Protocol-Version": "1999-01-01"})
    assert reply.status_code == 400 and got.status_code == 400
    error = reply.json()["error"]
    assert reply.json()["id"] == 7
    assert error["code"] == -32022
    assert "unsupported MCP-Protocol-Version '1999-01-01'" in error["message"]
    assert "2025-11-25" in error["message"] and "envelope" not in error["message"]
    assert error["data"]["requested"] == "1999-01-01"
