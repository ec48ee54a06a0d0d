"""HTTP to an OpenAI-compatible server: one exchange per request, read in a helper thread so it can be aborted.

The engine runs in the service's worker thread, which is the only thread that can ask whether the MCP call was
cancelled. A blocking read there could not notice a cancel while the server is silent (a long prompt, its own
queue), so the request runs in a helper thread and hands lines over a queue; the worker polls between them and
aborts by shutting the socket down, which the server sees as a disconnect and stops decoding.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2

from mcp_open.engines.protocol import Cancelled, StopFn

POLL_SECONDS = 0.05  # how often a silent server is interrupted to ask whether the call was cancelled
CONNECT_SECONDS = 10.0
CONNECT_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = (0.2, 0.5)
_END = object()


@dataclass(frozen=True)
class HttpFailure:
    """The server answered with an error status; body is its own error text."""

    status: int
    body: bytes


class Exchange:
    """One request in a helper thread: its lines (or whole body) come back over a queue; abort() ends it at once."""

    def __init__(self, client: httpx2.Client, path: str, body: dict[str, Any], *, streaming: bool) -> None:
        self._client = client
        self._path = path
        self._body = body
        self._streaming = streaming
        self._items: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._response: httpx2.Response | None = None
        self._aborted = threading.Event()
        self.retries = 0
        self._thread = threading.Thread(target=self._run, name=f"openai {path}", daemon=True)
        self._thread.start()

    def items(self, should_stop: StopFn) -> Iterator[str | bytes | HttpFailure]:
        """Lines (streaming), the whole body, or an HttpFailure; transport errors are raised; polls for cancel."""
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
            assert isinstance(item, str | bytes | HttpFailure)
            yield item

    def abort(self) -> None:
        """Stop the exchange now: the server sees the connection close and stops its work."""
        self._aborted.set()
        response = self._response
        if response is not None:
            _shutdown(response)

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
                with self._client.stream("POST", self._path, json=self._body) as response:
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
        if response.status_code >= 400:
            self._items.put(HttpFailure(response.status_code, response.read()))
        elif not self._streaming:
            self._items.put(response.read())
        else:
            for line in response.iter_lines():
                self._items.put(line)
                if self._aborted.is_set():
                    return


def _shutdown(response: httpx2.Response) -> None:
    """Shut the response's socket down so a read blocked in the helper thread returns, and the server notices."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def make_client(base_url: str, api_key: str | None, max_connections: int) -> httpx2.Client:
    """A pooled client for one backend; reads wait as long as the call may run (--timeout ends it)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx2.Client(
        base_url=base_url,
        headers=headers,
        timeout=httpx2.Timeout(None, connect=CONNECT_SECONDS),
        limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )
