"""A real OpenAI-compatible server for tests and benchmarks: llama-cpp-python's own, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2

START_SECONDS = 120.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OpenAIServer:
    """One running `python -m llama_cpp.server`."""

    process: subprocess.Popen[bytes]
    port: int
    alias: str
    log: Path

    @property
    def url(self) -> str:
        """The base URL as a user passes it to --backend."""
        return f"http://127.0.0.1:{self.port}/v1"

    def kill(self) -> None:
        """Kill it hard, as a crash would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop it politely, then hard."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_server(model: Path, alias: str, log: Path, *extra: str, n_ctx: int = 2048, threads: int = 2) -> OpenAIServer:
    """Start the server and wait until /v1/models answers (any status: a keyed server answers 401)."""
    port = free_port()
    command = [
        sys.executable,
        *("-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias),
        *("--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads)),
        # Its default cuts a streaming answer short whenever another request arrives.
        *("--interrupt_requests", "false"),
        *extra,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    server = OpenAIServer(process, port, alias, log)
    _wait_ready(server)
    _warm_up(server, extra)
    return server


def _warm_up(server: OpenAIServer, extra: tuple[str, ...]) -> None:
    """One tiny request, so the first test does not pay for paging the weights in."""
    key = extra[extra.index("--api_key") + 1] if "--api_key" in extra else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    embedding = "--embedding" in extra
    path, body = ("/embeddings", {"input": "warm"}) if embedding else ("/completions", {"prompt": "A", "max_tokens": 1})
    httpx2.post(f"{server.url}{path}", json=body, headers=headers, timeout=START_SECONDS).raise_for_status()


def _wait_ready(server: OpenAIServer) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {server.log.read_text()[-2000:]}")
        try:
            httpx2.get(f"http://127.0.0.1:{server.port}/v1/models", timeout=1.0)
            return
        except httpx2.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"llama_cpp.server did not start in {START_SECONDS} s: {server.log.read_text()[-2000:]}")
