"""The search benchmark runs end to end at a small size and reports every number (so it cannot rot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_search_bench_quick_reports_latency_scaling_and_one_file_reembedded(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.search", "--quick", "--repeats", "3", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "search-latest.json").read_text())
    e2e = results["end_to_end"]
    assert e2e["first_index"]["chunks"] == 200 and e2e["first_index"]["updated"] == 20
    assert all(e2e[mode]["server_ms"]["median"] > 0 for mode in ("hybrid", "semantic", "lexical"))
    changed = e2e["one_file_changed"]
    assert (changed["updated"], changed["unchanged"], changed["chunks_embedded"]) == (1, 19, 10)
    assert changed["texts_embedded"] == 11  # that file's 10 passages and the query
    assert set(results["scaling"]) == {"200", "1000", "growth"}
    assert "## Ranking alone" in (tmp_path / "search-latest.md").read_text()
