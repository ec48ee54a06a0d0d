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
PROBE_TOKENS = 60
TARGET_SECONDS = 4.5
MAX_TOKENS = 900  # the server runs with --ctx 1024


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


@pytest.fixture(scope="module")
def plan(node: str, gemma: Path) -> tuple[int, int]:
    """(timeout_ms, max_tokens) sized from this machine's measured speed: the call lasts about 3x the timeout."""
    probe = long_call(node, gemma, timeout_ms=600_000, reset=True, max_tokens=PROBE_TOKENS)
    assert probe["ok"], probe
    per_token = probe["seconds"] / PROBE_TOKENS  # load included: an overestimate, which only lengthens the call
    max_tokens = min(MAX_TOKENS, max(PROBE_TOKENS, int(TARGET_SECONDS / per_token)))
    # Progress arrives at least every 0.5 s, so the timeout must stay above that to be resettable at all.
    timeout_ms = max(1000, int(max_tokens * per_token * 1000 / 3))
    return timeout_ms, max_tokens


def test_progress_resets_a_short_client_timeout(node: str, gemma: Path, plan: tuple[int, int]) -> None:
    timeout_ms, max_tokens = plan
    # The timeout is a third of the call; only progress notifications keep it alive.
    kept = long_call(node, gemma, timeout_ms=timeout_ms, reset=True, max_tokens=max_tokens)
    assert kept["ok"], kept
    assert kept["usage"]["completion_tokens"] == max_tokens
    assert kept["notifications"] >= 3


def test_without_progress_reset_the_same_call_times_out(node: str, gemma: Path, plan: tuple[int, int]) -> None:
    timeout_ms, max_tokens = plan
    dropped = long_call(node, gemma, timeout_ms=timeout_ms, reset=False, max_tokens=max_tokens)
    assert not dropped["ok"] and "timed out" in dropped["error"].lower()
