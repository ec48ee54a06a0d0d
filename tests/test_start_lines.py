"""What a person at a terminal sees when the server starts: plain lines on stderr, never on stdout."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import console_script
from tests.test_http import free_port

pty = pytest.importorskip("pty")  # POSIX terminals only


def first_line_with(proc: subprocess.Popen[bytes], needle: str, seconds: float = 60) -> str:
    """Read the server's stderr until a line contains `needle`."""
    assert proc.stderr is not None
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if ready:
            line = proc.stderr.readline().decode()
            seen.append(line)
            if needle in line:
                return line.rstrip("\n")
    raise AssertionError(f"{needle!r} not on stderr: {''.join(seen)}")


def test_stdio_in_a_terminal_says_it_waits_for_a_client(tiny_chat: Path, tiny_embed: Path) -> None:
    controller, terminal = pty.openpty()
    cmd = [console_script(), "serve", "--model", str(tiny_chat), "--embed-model", str(tiny_embed)]
    proc = subprocess.Popen(cmd, stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
    try:
        line = first_line_with(proc, "waiting for an MCP client")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.close(controller)
        os.close(terminal)
    assert line.startswith("mcp-open: serving MCP on stdio: waiting for an MCP client")
    assert proc.stdout is not None and proc.stdout.read() == b""  # stdout stays the wire


def test_http_start_line_is_plain_not_a_warning(tiny_chat: Path, tiny_embed: Path) -> None:
    port = free_port()
    cmd = [console_script(), "serve", "--transport", "http", "--port", str(port), "--model", str(tiny_chat)]
    proc = subprocess.Popen([*cmd, "--embed-model", str(tiny_embed)], stderr=subprocess.PIPE, env=os.environ)
    try:
        line = first_line_with(proc, "streamable HTTP")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert line.startswith(f"mcp-open: serving MCP over streamable HTTP at http://127.0.0.1:{port}/mcp")
    assert "WARNING" not in line


def test_hub_warnings_are_printed_once(tiny_chat: Path) -> None:
    # huggingface_hub prints its warnings (download retries) through its own handler; ours must not add a copy.
    script = (
        "import logging, sys\n"
        "from mcp_open.edge.cli import main\n"
        f"main(['models', 'info', {str(tiny_chat)!r}])\n"
        "import huggingface_hub.file_download  # configures huggingface_hub's own handler, as a download does\n"
        "logging.getLogger('huggingface_hub.utils._http').warning('Retrying in 1s [Retry 1/5].')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("Retrying in 1s [Retry 1/5].") == 1
