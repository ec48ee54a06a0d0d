"""Issue 23, finding 12: HTTP requests that arrive too slowly are dropped, idle sessions expire."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx2

from tests.fuzzkit import PROTOCOL, initialize
from tests.test_http import http_server

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing the connection, or None if it stayed open that long."""
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        return None
    return data


def test_slow_requests_are_dropped_and_real_calls_still_served(tiny_chat: Path, tiny_embed: Path) -> None:
    with http_server(tiny_chat, tiny_embed, "--request-seconds", "1") as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        partial_headers = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
        for sock in partial_headers:
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
        slow_body = socket.create_connection(("127.0.0.1", port))
        slow_body.sendall(
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            'Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{"jsonrpc"'.encode()
        )
        first = httpx2.post(url, json=initialize(1), headers=HEADERS, timeout=10)  # served meanwhile
        assert first.status_code == 200
        started = time.monotonic()
        assert all(closed_within(sock, 5) == b"" for sock in partial_headers)
        assert time.monotonic() - started < 3
        slow_body.settimeout(3)
        answer = b""
        while b"did not arrive" not in answer and (chunk := slow_body.recv(65536)):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer, answer


def test_an_idle_session_expires(tiny_chat: Path, tiny_embed: Path) -> None:
    with http_server(tiny_chat, tiny_embed, "--session-idle", "1") as url, httpx2.Client(timeout=10) as http:
        first = http.post(url, json=initialize(1), headers=HEADERS)
        session = {**HEADERS, "mcp-session-id": first.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert http.post(url, json=ping, headers=session).status_code == 200
        time.sleep(2.5)
        assert http.post(url, json=ping, headers=session).status_code == 404  # gone: the client starts anew
