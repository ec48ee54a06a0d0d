"""The stdio transport: checked frames in front of the SDK's server loop, and a clean stop on SIGINT/SIGTERM.

The SDK's own stdio transport drops frames it cannot validate without an answer, reads lines of any size and
cannot be stopped while it waits for stdin; this one answers every request that has an id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import mcp_types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server import MCPServer
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from mcp_open.edge.framing import INVALID_REQUEST, PARSE_ERROR, Assembler, LineSplitter, Rejection
from mcp_open.edge.lifecycle import in_flight_of
from mcp_open.edge.results import compact
from mcp_open.edge.rpcerrors import describe

log = logging.getLogger(__name__)

REPLY_SECONDS = 0.5  # replies are written straight to stdout: half a second is plenty

READ_CHUNK = 65536
Outgoing = SessionMessage | dict[str, Any]


@contextmanager
def claimed_stdio() -> Iterator[tuple[int, int]]:
    """Private copies of stdin and stdout for the wire; fd 0 reads nothing and fd 1 goes to stderr meanwhile.

    llama.cpp and stray prints write to fd 1; they must never reach the JSON-RPC stream.
    """
    wire_in, wire_out = os.dup(0), os.dup(1)
    saved_in = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        yield wire_in, wire_out
    finally:
        os.dup2(wire_out, 1)
        os.dup2(saved_in, 0)
        os.close(saved_in)


class OpenIds:
    """Ids of requests handed to the SDK and not answered yet (a reused one would get no answer of its own)."""

    def __init__(self) -> None:
        self._ids: set[tuple[str, Any]] = set()

    @staticmethod
    def key(request_id: Any) -> tuple[str, Any]:
        return type(request_id).__name__, request_id

    def open(self, request_id: Any) -> bool:
        """Record a new request; False if the id is already in flight."""
        if self.key(request_id) in self._ids:
            return False
        self._ids.add(self.key(request_id))
        return True

    def close(self, request_id: Any) -> None:
        self._ids.discard(self.key(request_id))

    def __len__(self) -> int:
        return len(self._ids)


def _start_reader(fd: int) -> asyncio.Queue[bytes]:
    """A daemon thread reading raw chunks (b'' at the end); raw os.read so nothing blocks interpreter exit."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=64)

    def pump() -> None:
        while True:
            try:
                chunk = os.read(fd, READ_CHUNK)
            except OSError:
                chunk = b""
            asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
            if not chunk:
                return

    threading.Thread(target=pump, name="mcp-open-stdin", daemon=True).start()
    return queue


class StdioWire:
    """Frames from stdin to the SDK and messages from the SDK (or our own rejections) to stdout."""

    def __init__(
        self,
        wire_out: int,
        to_sdk: MemoryObjectSendStream[SessionMessage | Exception],
        outgoing: MemoryObjectSendStream[Outgoing],
    ) -> None:
        self.wire_out = wire_out
        self.to_sdk = to_sdk
        self.outgoing = outgoing
        self.ids = OpenIds()

    async def read(self, queue: asyncio.Queue[bytes]) -> None:
        """Split, check and forward frames until stdin ends."""
        splitter, assembler = LineSplitter(), Assembler()
        async with self.to_sdk:
            while chunk := await queue.get():
                for line in splitter.feed(chunk):
                    await self._lines(line, assembler)
            for line in splitter.finish():
                await self._lines(line, assembler)

    async def _lines(self, line: bytes | Rejection, assembler: Assembler) -> None:
        try:
            checked = [line] if isinstance(line, Rejection) else assembler.feed(line)
        except Exception:  # a bug in our checks must cost one message, not the server
            log.exception("could not check a frame")
            checked = [Rejection(None, PARSE_ERROR, "this message could not be read; the server's stderr says why")]
        for item in checked:
            if isinstance(item, Rejection):
                await self.outgoing.send(item.reply())
            else:
                await self._forward(item)

    async def _forward(self, value: dict[str, Any]) -> None:
        """Hand a checked message to the SDK, refusing a request id still in flight."""
        is_request = "method" in value and "id" in value
        if is_request and not self.ids.open(value["id"]):
            why = f"id {value['id']!r} is already used by a request in flight; use a new id for each request"
            await self.outgoing.send(Rejection(value["id"], INVALID_REQUEST, why).reply())
            return
        if value.get("method") == "notifications/cancelled":
            self.ids.close((value.get("params") or {}).get("requestId"))  # a cancelled request is never answered
        try:
            message = types.jsonrpc_message_adapter.validate_python(value, by_name=False)
        except ValidationError as exc:
            if is_request:
                self.ids.close(value["id"])
            reply_id = value.get("id") if is_request else None
            await self.outgoing.send(Rejection(reply_id, INVALID_REQUEST, f"invalid message: {describe(exc)}").reply())
            return
        await self.to_sdk.send(SessionMessage(message))

    async def write(self, stream: MemoryObjectReceiveStream[Outgoing]) -> None:
        """One writer for the SDK's messages and our own answers, so lines never interleave."""
        async with stream:
            async for item in stream:
                if isinstance(item, SessionMessage):
                    answered = getattr(item.message, "id", None)
                    if not hasattr(item.message, "method") and answered is not None:
                        self.ids.close(answered)
                    data = item.message.model_dump_json(by_alias=True, exclude_unset=True)
                else:
                    data = compact(item)
                await anyio.to_thread.run_sync(_write_all, self.wire_out, (data + "\n").encode("utf-8"))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


async def serve_stdio(server: MCPServer) -> None:
    """Serve one client over stdin/stdout until stdin ends or a stop signal arrives."""
    in_flight = in_flight_of(server)
    lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async does the same
    to_sdk, from_wire = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, to_write = anyio.create_memory_object_stream[Outgoing](16)
    with claimed_stdio() as (wire_in, wire_out):
        wire = StdioWire(wire_out, to_sdk, outgoing.clone())
        async with anyio.create_task_group() as tg:
            tg.start_soon(wire.write, to_write)
            reading = anyio.CancelScope()
            tg.start_soon(_read_until_stopped, wire, _start_reader(wire_in), reading)
            tg.start_soon(_stop_on_signal, in_flight, wire, reading, tg.cancel_scope)
            async with outgoing:
                await lowlevel.run(from_wire, outgoing, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()


async def _read_until_stopped(wire: StdioWire, queue: asyncio.Queue[bytes], scope: anyio.CancelScope) -> None:
    with scope:
        await wire.read(queue)
    await wire.to_sdk.aclose()
    await wire.outgoing.aclose()


async def _stop_on_signal(in_flight: Any, wire: StdioWire, reading: anyio.CancelScope, everything: Any) -> None:
    """On SIGINT/SIGTERM: stop reading, stop running calls (they answer with an error), then end the loop."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.warning("received %s: stopping", signal.Signals(signum).name)
            break
        else:
            return
    # Then let the writer put the error replies on the wire.
    await in_flight.stop_and_drain(lambda: len(wire.ids), reply_seconds=REPLY_SECONDS)
    reading.cancel()
    await anyio.sleep(0.3)
    everything.cancel()  # the lifespan still closes the models on the way out
