"""An OpenAI-compatible backend that misbehaves on purpose, on loopback (127.0.0.1) only: it streams past
max_tokens, echoes credentials in its errors, sends garbage, redirects, answers a stream with plain JSON, and
holds an embeddings batch before its headers (noticing when the client closes the connection)."""

from __future__ import annotations

import json
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "bad-model"


class BadBackend:
    """The server's state: how it misbehaves now, and what it saw."""

    def __init__(self) -> None:
        self.mode = "normal"
        self.streamed_tokens = 0
        self.embed_disconnected = threading.Event()
        self.embed_started = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def bad_backend() -> Iterator[BadBackend]:
    backend = BadBackend()
    try:
        yield backend
    finally:
        backend.close()


def _chunk(text: str, finish: str | None = None) -> bytes:
    event = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def _handler(state: BadBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            return

        def do_GET(self) -> None:
            if self.path.endswith("/v1/models"):
                self._json(200, {"data": [{"id": MODEL, "object": "model"}]})
            else:
                self._json(404, {"error": {"message": "no such route"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            auth = self.headers.get("authorization", "")
            if "tokenize" in self.path:
                self._json(404, {"error": {"message": "no tokenizer"}})
            elif self.path.endswith("/v1/embeddings"):
                self._embeddings(body)
            else:
                self._completion(body, auth)

        def _completion(self, body: dict[str, Any], auth: str) -> None:
            mode = state.mode
            if mode == "leak401":
                self._json(401, {"error": {"message": f"invalid credentials in header 'Authorization: {auth}'"}})
            elif mode == "leak500":
                page = f"<html><body><h1>500</h1><pre>headers: Authorization: {auth}</pre></body></html>"
                self._send(500, "text/html", page.encode())
            elif mode == "redirect":
                self.send_response(307)
                self.send_header("Location", "http://127.0.0.1:1/v1/chat/completions")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif mode == "json_body":
                self._json(200, {"choices": [{"message": {"content": "hello"}, "finish_reason": "stop"}]})
            else:
                self._stream(body, auth, mode)

        def _stream(self, body: dict[str, Any], auth: str, mode: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                if mode == "garbage":
                    self.wfile.write(b"data: {this is not json\n\n")
                elif mode == "sse_error":
                    self.wfile.write(_chunk("Hi"))
                    error = {"error": {"message": f"upstream refused 'Authorization: {auth}'"}}
                    self.wfile.write(b"data: " + json.dumps(error).encode() + b"\n\n")
                elif mode == "huge_event":
                    self.wfile.write(b"data: " + b"x" * (3 << 20) + b"\n\n")
                elif mode == "forever":
                    while True:  # ignores max_tokens
                        self.wfile.write(_chunk("word "))
                        state.streamed_tokens += 1
                else:
                    for _ in range(int(body.get("max_tokens", 4))):
                        self.wfile.write(_chunk("ok "))
                    self.wfile.write(_chunk("", "length") + b"data: [DONE]\n\n")
                self.wfile.flush()
            except OSError:
                return  # the client closed the stream

        def _embeddings(self, body: dict[str, Any]) -> None:
            if state.mode == "slow_embed":
                state.embed_started.set()
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:  # "computing" before any header is sent
                    readable, _, _ = select.select([self.connection], [], [], 0.05)
                    if readable and not self.connection.recv(1, 0x2):  # MSG_PEEK: b"" means the client closed
                        state.embed_disconnected.set()
                        return
            texts = body.get("input") or []
            data = [{"index": i, "embedding": [1.0, 0.0, 0.0, 0.0]} for i in range(len(texts))]
            self._json(200, {"data": data, "usage": {"prompt_tokens": len(texts)}})

        def _json(self, status: int, data: Any) -> None:
            self._send(status, "application/json", json.dumps(data).encode())

        def _send(self, status: int, kind: str, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
