"""The benchmark suite runs end to end at a tiny size and writes every section (so it cannot rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Headline numbers each section must report, as paths into results[section][...].
HEADLINES: dict[str, list[tuple[str, ...]]] = {
    "roundtrip": [
        ("stdio", "languages_ms"),
        ("stdio", "tools_list_ms"),
        ("http", "tools_list_ms"),
        ("memory", "languages_ms"),
    ],
    "generate": [
        ("mcp", "decode_tps"),
        ("engine", "decode_tps"),
        ("direct", "prompt_tps"),
        ("ratio", "mcp", "decode_tps"),
    ],
    "embed": [("batches", "1", "mcp_tps"), ("batches", "64", "direct_tps"), ("speedup", "mcp")],
    "prefix": [("cold", "ttft_s"), ("warm", "ttft_s"), ("speedup",), ("direct", "cold", "ttft_s")],
    "initialize": [("stdio_total_s",), ("http_handshake_s",), ("import_floor_s",)],
    "worker": [("startup", "worker_s"), ("decode", "worker_wall_s"), ("decode", "ratio"), ("embed", "worker_wall_s")],
}


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "latest.json").read_text()), out


@pytest.mark.parametrize("section", sorted(HEADLINES))
def test_section_has_positive_medians(results: tuple[dict[str, Any], Path], section: str) -> None:
    data, _ = results
    per_model = section in ("generate", "embed", "prefix", "worker")
    blocks = list(data[section].values()) if per_model else [data[section]]
    assert blocks, f"{section} is empty"
    for block in blocks:
        for path in HEADLINES[section]:
            summary = _dig(block, path)
            assert summary["median"] > 0 and summary["n"] >= 1, (section, path, summary)


def test_generation_really_ran_full_length(results: tuple[dict[str, Any], Path]) -> None:
    data, _ = results
    for block in data["generate"].values():
        assert block["checks"]["full_length"] and block["checks"]["prompt_tokens_match"], block["checks"]


def test_memory_and_machine_are_described(results: tuple[dict[str, Any], Path]) -> None:
    data, _ = results
    for block in data["memory"].values():
        assert block["server"]["rss_mb"] > 0 and block["direct"]["rss_mb"] > 0
    assert data["machine"]["logical_cores"] > 0 and data["machine"]["llama_cpp"]["system_info"]
    assert data["initialize"]["models_loaded_after_handshake"] is False


def test_goals_have_verdicts_and_markdown_exists(results: tuple[dict[str, Any], Path]) -> None:
    data, out = results
    assert {g["verdict"] for g in data["goals"]} <= {"pass", "miss", "unclear", "invalid"}
    assert len(data["goals"]) >= 8
    markdown = (out / "latest.md").read_text()
    assert "| goal | model | target |" in markdown and "## Machine" in markdown
    assert len(list(out.glob("*.json"))) == 2 and len(list(out.glob("*.md"))) == 2
