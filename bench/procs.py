"""Server processes: stdio and HTTP launches of `mcp-open serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from mcp import Client, StdioServerParameters, stdio_client

from bench.config import Config
from bench.models import BenchModel

# PYTHONPATH passes through so a server spawned from a git worktree runs that worktree's code.
SERVER_ENV = {"HF_HUB_OFFLINE": "1", **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}}
READY_TIMEOUT_SECONDS = 60.0


def console_script() -> list[str]:
    """The installed mcp-open console script, or `python -m mcp_open` when it is not installed."""
    script = Path(sys.executable).with_name("mcp-open")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mcp_open"]


def serve_args(model: str, embed_model: str, config: Config, *extra: str) -> list[str]:
    """`serve` flags that configure the server exactly as the direct side is configured."""
    return [
        "serve",
        "--model",
        model,
        "--embed-model",
        embed_model,
        "--ctx",
        str(config.ctx),
        "--threads",
        str(config.threads),
        "--gpu-layers",
        "all" if config.gpu_layers < 0 else str(config.gpu_layers),
        *extra,
    ]


def model_args(model: BenchModel, config: Config) -> list[str]:
    """`serve` flags for one model under test."""
    return serve_args(model.path, model.embed_path, config)


def server_env() -> dict[str, str]:
    """The stdio child's extra environment; PYTHONPATH passes on, so a checkout's servers run its own code."""
    passed = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {**SERVER_ENV, **passed}


def stdio_server(args: list[str], errlog: TextIO) -> Client:
    """A client that spawns `mcp-open ARGS` over stdio, the way a desktop client does."""
    command, *prefix = console_script()
    params = StdioServerParameters(command=command, args=[*prefix, *args], env=server_env())
    return Client(stdio_client(params, errlog=errlog))


@contextmanager
def http_server(args: list[str], errlog: TextIO) -> Iterator[tuple[str, int]]:
    """Run `mcp-open ARGS --transport http` on a free loopback port; yields its URL and pid once it accepts."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_OPEN_")} | SERVER_ENV
    cmd = [*console_script(), *args, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog, env=env)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Block until something accepts on the port; fail if the process dies first."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the HTTP server exited with status {proc.returncode} before accepting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"the HTTP server did not accept on port {port} within {READY_TIMEOUT_SECONDS:.0f} s")
