"""HTTP to an OpenAI-compatible server: one exchange per request, read in a helper thread so it can be aborted.

The engine runs in the service's worker thread, which is the only thread that can ask whether the MCP call was
cancelled. A blocking read there could not notice a cancel while the server is silent (a long prompt, its own
queue), so the request runs in a helper thread and hands lines over a queue; the worker polls between them and
aborts by shutting the socket down, which the server sees as a disconnect and stops decoding.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx2

from mcp_open.engines.protocol import Cancelled, StopFn
from mcp_open.errors import keep_secret, redact

POLL_SECONDS = 0.05  # how often a silent server is interrupted to ask whether the call was cancelled
CONNECT_SECONDS = 10.0
CONNECT_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = (0.2, 0.5)
# What one answer may hold, whatever the server sends: a line of the event stream, a whole JSON body (a batch of
# embeddings), an error page. Past a bound the connection is closed and the call gets a clear error.
MAX_EVENT_BYTES = 1 << 20
MAX_BODY_BYTES = 64 << 20
MAX_ERROR_BYTES = 64 << 10
_END = object()
# Trace events that hand over a new connection's network stream (so a request can be aborted before its headers).
_CONNECTED = (
    "connection.connect_tcp.complete",
    "connection.connect_unix_socket.complete",
    "connection.start_tls.complete",
)


@dataclass(frozen=True)
class HttpFailure:
    """The server answered with an error status or a redirect; body is its own error text."""

    status: int
    body: bytes
    location: str | None = None  # where a redirect points


@dataclass(frozen=True)
class Misbehaved:
    """The server broke the protocol or a bound: the reason, in words, to put after the server's address."""

    reason: str


class Exchange:
    """One request in a helper thread: its lines (or whole body) come back over a queue; abort() ends it at once."""

    def __init__(self, client: httpx2.Client, path: str, body: dict[str, Any], *, streaming: bool) -> None:
        self._client = client
        self._path = path
        self._body = body
        self._streaming = streaming
        self._items: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._response: httpx2.Response | None = None
        self._network: object = None
        self._aborted = threading.Event()
        self.retries = 0
        self._thread = threading.Thread(target=self._run, name=f"openai {path}", daemon=True)
        self._thread.start()

    def items(self, should_stop: StopFn) -> Iterator[str | bytes | HttpFailure | Misbehaved]:
        """Lines (streaming), the whole body, an HttpFailure or Misbehaved; transport errors are raised; polls for
        cancel."""
        while True:
            try:
                item = self._items.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if should_stop():
                    raise Cancelled from None
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, str | bytes | HttpFailure | Misbehaved)
            yield item

    def abort(self) -> None:
        """Stop the exchange now, before or after the answer's headers: the server sees the connection close and
        stops its work (a batch of embeddings included)."""
        self._aborted.set()
        response = self._response
        if response is not None:
            _shutdown(response.extensions.get("network_stream"))
        _shutdown(self._network)

    def _trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: keep the connection's stream, so abort() can close it while headers are awaited."""
        if name in _CONNECTED and info.get("return_value") is not None:
            self._network = info["return_value"]
            if self._aborted.is_set():
                _shutdown(self._network)

    def _run(self) -> None:
        try:
            self._exchange()
        except BaseException as exc:  # handed to the caller, which explains it
            if not self._aborted.is_set():
                self._items.put(exc)
        finally:
            self._items.put(_END)

    def _exchange(self) -> None:
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                with self._client.stream(
                    "POST", self._path, json=self._body, extensions={"trace": self._trace}
                ) as response:
                    self._read(response)
                return
            except httpx2.ConnectError:
                # Nothing reached the server, so nothing was generated: trying again is safe.
                if attempt + 1 == CONNECT_ATTEMPTS or self._aborted.is_set():
                    raise
                self.retries += 1
                time.sleep(RETRY_BACKOFF_SECONDS[min(attempt, len(RETRY_BACKOFF_SECONDS) - 1)])

    def _read(self, response: httpx2.Response) -> None:
        self._response = response
        if self._aborted.is_set():
            return
        status = response.status_code
        if status >= 400 or 300 <= status < 400:
            page = _capped(response, MAX_ERROR_BYTES) or b""
            self._items.put(HttpFailure(status, page, response.headers.get("location")))
        elif not self._streaming:
            body = _capped(response, MAX_BODY_BYTES)
            self._items.put(body if body is not None else Misbehaved(_over("answer", MAX_BODY_BYTES)))
        elif "text/event-stream" not in response.headers.get("content-type", ""):
            kind = response.headers.get("content-type") or "no content type"
            self._items.put(Misbehaved(f"answered with {kind} instead of a stream of events (text/event-stream)"))
        else:
            for line in _lines(response, MAX_EVENT_BYTES):
                self._items.put(line)
                if self._aborted.is_set() or isinstance(line, Misbehaved):
                    return


def _capped(response: httpx2.Response, limit: int) -> bytes | None:
    """The whole body, or None once it grows past limit bytes (the rest is never read)."""
    parts, size = [], 0
    for part in response.iter_bytes():
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
    return b"".join(parts)


def _lines(response: httpx2.Response, limit: int) -> Iterator[str | Misbehaved]:
    """The stream's lines (CR, LF or CRLF ends), or Misbehaved for a line over limit bytes."""
    pending = b""
    for part in response.iter_bytes():
        pending += part
        *complete, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace")
        if len(pending) > limit:
            yield Misbehaved(_over("event", limit))
            return
    if pending:
        yield pending.decode("utf-8", "replace")


def _over(what: str, limit: int) -> str:
    return f"sent an {what} over {limit // (1 << 20)} MiB, more than any answer needs; the connection was closed"


def _shutdown(stream: object) -> None:
    """Shut a connection's socket down so a read blocked in the helper thread returns, and the server notices."""
    get = getattr(stream, "get_extra_info", None)
    sock = get("socket") if get is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def make_client(base_url: str, api_key: str | None, max_connections: int) -> httpx2.Client:
    """A client for one backend; reads wait as long as the call may run (--timeout ends it).

    No kept-alive connections: each request opens its own, so the trace hook sees it and a cancel can close it even
    before the answer's headers (a reused connection gives no such handle); a connect on loopback or a LAN costs
    well under a millisecond against answers that take tenths of seconds at least.
    """
    keep_credentials(base_url, api_key)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx2.Client(
        base_url=base_url,
        headers=headers,
        timeout=httpx2.Timeout(None, connect=CONNECT_SECONDS),
        limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=0),
    )


class _Redacting(logging.Filter):
    """Credentials out of the HTTP library's own log lines (it logs every URL, passwords included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


for _name in ("httpx2", "httpcore2.connection", "httpcore2.http11", "httpcore2.connection_pool"):
    logging.getLogger(_name).addFilter(_Redacting())


def keep_credentials(base_url: str, api_key: str | None) -> None:
    """Make sure no error text ever shows the API key or the URL's password (or its Basic-auth form)."""
    keep_secret(api_key)
    parts = urlsplit(base_url)
    if parts.password:
        keep_secret(parts.password)
        keep_secret(unquote(parts.password))
        basic = f"{unquote(parts.username or '')}:{unquote(parts.password)}".encode()
        keep_secret(base64.b64encode(basic).decode())
