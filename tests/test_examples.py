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


def test_delegate_script_shows_errors_as_errors(tmp_path: Path) -> None:
    # (The run on the starter model is README's quick start line: tests/test_quickstart.py.)
    bad = str(tmp_path / "nope.gguf")
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "delegate.py"), "--model", bad, "--embed-model", bad],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    for tool in ("generate", "translate", "embed", "rank"):
        assert lines[tool].startswith("error: ") and f"no such file: {bad}" in lines[tool]
    assert lines["languages"] == "41 codes"


@pytest.mark.parametrize("name", ["claude_desktop_config.json", "claude_desktop_config.offline.json"])
def test_claude_desktop_configs_launch_serve(name: str) -> None:
    config = json.loads((EXAMPLES / name).read_text())
    (server,) = config["mcpServers"].values()
    assert server["command"] == "mcp-open"
    args = build_parser().parse_args(server["args"])  # the flags really exist
    assert args.command == "serve" and args.model
    # Variables go in the server's env block: clients do not pass on the shell's environment.
    assert all(name.startswith(("HF_", "MCP_OPEN_", "CUDA_")) for name in server.get("env", {}))


def test_files_config_allows_folders() -> None:
    config = json.loads((EXAMPLES / "claude_desktop_config.files.json").read_text())
    (server,) = config["mcpServers"].values()
    args = build_parser().parse_args(server["args"])
    assert args.command == "serve" and len(args.allow_dirs) == 2


@pytest.mark.slow
def test_by_reference_script_writes_files_and_prints_receipts() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "by_reference.py")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1] for line in out.stdout.splitlines() if ":" in line}
    generated, translated = json.loads(lines["generate"]), json.loads(lines["translate"])
    assert [w["path"] for w in generated] == ["summaries/coffee.md", "summaries/garden.md", "summaries/station.md"]
    assert [w["path"] for w in translated] == ["fr/coffee.fr.md", "fr/garden.fr.md", "fr/station.fr.md"]
    assert all(w["bytes"] > 0 for w in generated + translated)
    assert json.loads(lines["rank"])[0]["path"].endswith(".md")
    hit = json.loads(lines["search"])
    assert hit["path"] == "coffee.md" and hit["index"] == {"files": 3, "chunks_embedded": 3}
    assert "fr/coffee.fr.md" in lines["files"]
