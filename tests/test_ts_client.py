"""The TypeScript MCP SDK (what Claude Desktop is built on) keeps a long call alive through our progress."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import console_script

JS = Path(__file__).resolve().parent / "js"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node() -> str:
    """Node with the pinned TypeScript SDK installed from tests/js/package-lock.json."""
    exe, npm = shutil.which("node"), shutil.which("npm")
    if exe is None or npm is None:
        pytest.fail("node and npm are needed for the TypeScript-client test (apt-get install nodejs npm)")
    if not (JS / "node_modules" / "@modelcontextprotocol" / "sdk").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, timeout=600, capture_output=True)
    return exe


def long_call(node: str, gemma: Path, *, timeout_ms: int, reset: bool, max_tokens: int) -> dict[str, Any]:
    server = ["serve", "--model", str(gemma), "--embed-model", str(gemma), "--ctx", "1024"]
    args = [node, str(JS / "long_call.mjs"), console_script(), str(timeout_ms), str(reset).lower(), str(max_tokens)]
    out = subprocess.run(
        [*args, "--", *server], capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"}
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_progress_resets_a_short_client_timeout(node: str, gemma: Path) -> None:
    # A second and a half is far shorter than the call; only progress notifications keep it alive.
    kept = long_call(node, gemma, timeout_ms=1500, reset=True, max_tokens=120)
    assert kept["ok"], kept
    assert kept["usage"]["completion_tokens"] == 120
    assert kept["seconds"] > 1.5 and kept["notifications"] >= 3


def test_without_progress_reset_the_same_call_times_out(node: str, gemma: Path) -> None:
    dropped = long_call(node, gemma, timeout_ms=1500, reset=False, max_tokens=120)
    assert not dropped["ok"] and "timed out" in dropped["error"].lower()
