"""Long-lived mcp-open servers spoken to in raw frames (stdio and HTTP), and the judge of what they answer.

Every answer is classified as a clear error or a correct success; anything else fails the test: no answer in
time (a hang), a dead server (a crash), a stdout line that is not JSON-RPC (corruption) or a vague error.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2

from tests.conftest import console_script

REPLY_SECONDS = 30.0
PROTOCOL = "2025-11-25"
KNOWN_CODES = {-32700, -32600, -32601, -32602}
# What a client cannot act on: the SDK's catch-alls, our own "unexpected" (a bug), a traceback.
VAGUE = ("Invalid request parameters", "Internal server error", "Internal error", "unexpected ", "Traceback")
TALLY: Counter[str] = Counter()


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Hang(AssertionError):
    """No answer in time."""


def server_args(chat: Path, embed: Path) -> list[str]:
    """Small, quick settings: every generation stops within 16 tokens."""
    return ["--model", str(chat), "--embed-model", str(embed), "--ctx", "512", "--threads", "2", "--max-tokens", "16"]


def initialize(request_id: Any) -> dict[str, Any]:
    """An initialize request for a 2025-11-25 session."""
    params = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


class StdioServer:
    """One `mcp-open serve` over pipes; a thread reads stdout and checks that every line is JSON-RPC."""

    def __init__(self, args: list[str], stderr: Path, *, handshake: bool = True) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self._stderr = stderr.open("wb")
        cmd = [console_script(), "serve", *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.corrupt: list[bytes] = []
        self.notifications: list[dict[str, Any]] = []
        self._ids = itertools.count()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        if handshake:
            self.call(initialize(self.next_id()))
            self.send_json({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line, parse_constant=_not_json)
                assert isinstance(message, dict) and message.get("jsonrpc") == "2.0"
            except (ValueError, AssertionError):
                self.corrupt.append(line)
                continue
            if "method" in message:
                self.notifications.append(message)  # progress and other notifications
                continue
            with self._cond:
                self.replies.setdefault(json.dumps(message.get("id")), []).append(message)
                self._cond.notify_all()

    def next_id(self) -> str:
        return f"fuzz-{next(self._ids)}"

    def send(self, raw: bytes) -> None:
        """Write one frame (a newline is added)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def send_json(self, message: Any) -> None:
        self.send(json.dumps(message).encode())

    def wait(self, request_id: Any, timeout: float = REPLY_SECONDS) -> dict[str, Any]:
        """The answer to request_id (taken, so an id may be reused later)."""
        key = json.dumps(request_id)
        with self._cond:
            if not self._cond.wait_for(lambda: self.replies.get(key) or self.proc.poll() is not None, timeout):
                raise Hang(f"no answer to id {request_id!r} within {timeout} s")
            assert self.proc.poll() is None, f"the server died (exit {self.proc.returncode})"
            return self.replies[key].pop(0)

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send_json(message)
        return self.wait(message["id"])

    def alive(self) -> None:
        """The server still answers, in order, and stdout is still clean."""
        reply = self.call({"jsonrpc": "2.0", "id": self.next_id(), "method": "ping"})
        assert "result" in reply, reply
        assert not self.corrupt, f"stdout carried non-JSON-RPC lines: {self.corrupt[:3]!r}"

    def close(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        self._stderr.close()
        return code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HttpServer:
    """One `mcp-open serve --transport http` and a 2025-11-25 session on it, spoken to in raw POST bodies."""

    def __init__(self, args: list[str], stderr: Path, *, token: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self._stderr = stderr.open("wb")
        cmd = [console_script(), "serve", "--transport", "http", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(cmd, stderr=self._stderr, env=env)
        self._wait_listening()
        self.http = httpx2.Client(timeout=REPLY_SECONDS)
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self._ids = itertools.count()
        first = self.http.post(self.url, json=initialize(0), headers=self.headers)
        self.headers |= {"mcp-session-id": first.headers["mcp-session-id"], "mcp-protocol-version": PROTOCOL}
        self.post(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode())

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the HTTP server exited at start"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise Hang("the HTTP server did not start listening")

    def next_id(self) -> str:
        return f"fuzz-{next(self._ids)}"

    def post(self, body: bytes) -> tuple[int, list[dict[str, Any]]]:
        """Status and the JSON-RPC messages of the answer (JSON or an event stream), notifications left out."""
        try:
            response = self.http.post(self.url, content=body, headers=self.headers)
        except httpx2.TimeoutException as exc:
            raise Hang(f"no HTTP answer within {REPLY_SECONDS} s") from exc
        assert response.status_code < 500, (response.status_code, response.text[:500])
        return response.status_code, [m for m in _messages(response) if "method" not in m]

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        status, messages = self.post(json.dumps(message).encode())
        assert len(messages) == 1, (status, messages)
        return messages[0]

    def alive(self) -> None:
        reply = self.call({"jsonrpc": "2.0", "id": self.next_id(), "method": "ping"})
        assert "result" in reply, reply

    def close(self) -> int:
        self.http.close()
        self.proc.terminate()
        code = self.proc.wait(timeout=30)
        self._stderr.close()
        return code


def _messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """JSON-RPC messages in a response body: one JSON object, or the data lines of an event stream."""
    text = response.text
    if not text.strip():
        return []
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        return [json.loads(d) for d in data if d]
    message = json.loads(text)
    assert isinstance(message, dict), message
    return [message]


def judge(reply: dict[str, Any], tool: str | None = None, args: Any = None) -> str:
    """'clear error' or 'success'; fails on a vague error or a success of the wrong shape."""
    assert reply.get("jsonrpc") == "2.0", reply
    if "error" in reply:
        error = reply["error"]
        assert error["code"] in KNOWN_CODES, reply
        _assert_clear(error["message"])
        return _count("clear error")
    result = reply["result"]
    if isinstance(result, dict) and result.get("isError"):
        _assert_clear(result["content"][0]["text"])
        return _count("clear error")
    if tool is not None:
        check_success(tool, args, result)
    return _count("success")


def _count(kind: str) -> str:
    TALLY[kind] += 1
    return kind


def _assert_clear(message: str) -> None:
    assert message and len(message) >= 12, f"vague error: {message!r}"
    assert not any(v in message for v in VAGUE), f"vague error: {message!r}"


def check_success(tool: str, args: Any, result: dict[str, Any]) -> None:
    """A successful tool result has the tool's shape, compact text and no vectors in the text."""
    data = result["structuredContent"]
    text = result["content"][0]["text"]
    assert text == json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")), "not compact JSON"
    if tool == "embed":
        texts = args["texts"]
        assert len(data["embeddings"]) == (1 if isinstance(texts, str) else len(texts))
        assert "[" not in json.loads(text)["embeddings"], "vectors must not be sent twice"
    elif tool == "rank":
        assert len(data["results"]) <= min(args.get("top_k", 5), len(args["documents"]))
    elif tool == "translate":
        texts = args["text"]
        assert len(data["translations"]) == (1 if isinstance(texts, str) else len(texts))
    elif tool == "generate":
        assert isinstance(data["text"], str) and data["usage"]["completion_tokens"] <= 16
