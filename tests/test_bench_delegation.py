"""The delegation suite runs end to end at a tiny size, both modes doing the same local work (so it cannot rot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("delegation")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_OPEN_")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--delegation", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "delegation-latest.json").read_text()), out


@pytest.mark.parametrize("job", ["summarise", "translate", "extract"])
def test_both_modes_do_the_same_local_work_and_the_ledger_counts_them(
    results: tuple[dict[str, Any], Path], job: str
) -> None:
    data, _ = results
    block = data["jobs"][job]
    value, reference = block["by_value"], block["by_reference"]
    assert block["same_local_work"] and value["local_tokens_written"] == reference["local_tokens_written"]
    assert value["agent_tokens_sent"] > reference["agent_tokens_sent"] > 0  # the material stays on the machine
    for mode in (value, reference):
        assert mode["agent_tokens"] == mode["agent_tokens_sent"] + mode["agent_tokens_received"]
        expected_usd = (mode["agent_tokens_sent"] * 25 + mode["agent_tokens_received"] * 5) / 1e6
        assert mode["agent_usd"] == pytest.approx(expected_usd, abs=1e-6)
        assert mode["wall_seconds"] > 0 and list(mode["counted_by"]) == ["tokenizer of tiny-qwen3.gguf"]
    assert block["agent_tokens_ratio"] == round(value["agent_tokens"] / reference["agent_tokens"], 2)


def test_files_out_are_written_only_by_reference(results: tuple[dict[str, Any], Path]) -> None:
    data, _ = results
    sizes, jobs = data["sizes"], data["jobs"]
    assert jobs["translate"]["by_reference"]["files_written"] == sizes["texts"]
    assert jobs["extract"]["by_reference"]["files_written"] == sizes["invoices"]
    assert jobs["extract"]["by_value"]["calls"] == sizes["invoices"]
    assert all(job["by_value"]["files_written"] == 0 for job in jobs.values())


def test_goals_and_markdown(results: tuple[dict[str, Any], Path]) -> None:
    data, out = results
    assert len(data["goals"]) == 6 and {g["verdict"] for g in data["goals"]} <= {"pass", "miss", "unclear"}
    markdown = (out / "delegation-latest.md").read_text()
    assert "| job | mode | calls | agent wrote |" in markdown and "## Goals" in markdown
    assert len(list(out.glob("delegation-*.json"))) == 2
