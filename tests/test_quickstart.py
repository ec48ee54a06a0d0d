"""README's quick start, line by line, so it cannot drift.

The install lines (clone, venv, pip install) are not re-run here: a fresh venv compiles llama.cpp for about ten
minutes. CI runs them verbatim from a clean clone (.ci/run holds the same lines, checked below), and this test
runs every line after them against that installed project, exactly as written.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def quickstart() -> list[str]:
    """The commands of README's quick start block, without their trailing comments."""
    block = re.search(r"<!-- quickstart:start -->\n```bash\n(.*?)```\n<!-- quickstart:end -->", README, re.S)
    assert block, "README lost its quick start block"
    return [line.split("  #")[0].strip() for line in block[1].splitlines() if line.strip()]


def test_quickstart_installs_as_ci_does() -> None:
    clone, venv, install, *_ = quickstart()
    assert clone.startswith("git clone ") and clone.endswith("&& cd mcp-open")
    assert venv == "python3 -m venv .venv && . .venv/bin/activate" and venv in CI
    assert install == 'pip install -e ".[test]"' and install in CI.splitlines()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11" and "Python 3.11 or newer" in README
    assert "test" in project["optional-dependencies"]


def test_quickstart_ends_with_the_test_command_ci_runs() -> None:
    assert quickstart()[-1] == "python -m pytest -q"
    assert CI.rstrip().splitlines()[-1] == "python -m pytest -q"


def run(line: str) -> subprocess.CompletedProcess[str]:
    """One README line through bash in the checkout, with this venv first on PATH (as after `activate`)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def test_quickstart_doctor_line() -> None:
    (line,) = [line for line in quickstart() if line.startswith("mcp-open doctor")]
    out = run(line)
    problems = [row for row in out.stdout.splitlines() if row.startswith("PROBLEM")]
    assert all(row.startswith("PROBLEM  GPU:") for row in problems), out.stdout  # a GPU line depends on the machine
    assert out.returncode == (1 if problems else 0), out.stdout + out.stderr
    assert "ok       generation model: starter:" in out.stdout and "ok       embedding model: starter:" in out.stdout


@pytest.mark.slow
def test_quickstart_first_served_call() -> None:
    (line,) = [line for line in quickstart() if "delegate.py" in line]
    out = run(line)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = dict(row.split(": ", 1) for row in out.stdout.splitlines() if ": " in row)
    assert set(lines) >= {"tools", "generate", "translate", "embed", "rank", "languages"}
    assert "café" in lines["translate"]
    assert lines["generate"] == "red, yellow and blue"  # a short completion, ended by its stop string
    assert "a toy for trying the tools offline" in out.stderr
    assert json.loads(lines["rank"])[0]["index"] == 1
    assert len(json.loads(lines["embed"])) == 8
    assert "  ... loading gemma" in out.stderr  # progress notifications reached the client (every first call loads)
    shown = [row for row in out.stderr.splitlines() if row.startswith("  ... ")]
    assert all(a != b for a, b in itertools.pairwise(shown))  # a repeated heartbeat message is shown once


def test_every_quickstart_line_is_checked() -> None:
    checked = ("git clone", "python3 -m venv", "pip install", "mcp-open doctor", "python examples/delegate.py")
    assert all(line.startswith((*checked, "python -m pytest -q")) for line in quickstart())
