"""The shipped examples work as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_open.edge.cli import build_parser

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
def test_delegate_script_calls_every_tool_on_the_starter_model() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "delegate.py")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1] for line in out.stdout.splitlines() if ":" in line}
    assert set(lines) >= {"tools", "generate", "translate", "embed", "rank", "languages"}
    assert "café" in lines["translate"]
    assert json.loads(lines["rank"])[0]["index"] == 1
    assert len(json.loads(lines["embed"])) == 8
    assert "tokens" in out.stderr  # progress notifications reached the client


@pytest.mark.parametrize("name", ["claude_desktop_config.json", "claude_desktop_config.offline.json"])
def test_claude_desktop_configs_launch_serve(name: str) -> None:
    config = json.loads((EXAMPLES / name).read_text())
    (server,) = config["mcpServers"].values()
    assert server["command"] == "mcp-open"
    args = build_parser().parse_args(server["args"])  # the flags really exist
    assert args.command == "serve" and args.model
