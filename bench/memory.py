"""Suite 6: server memory beyond the model file, against a bare llama-cpp-python process doing the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.config import Config
from bench.models import BenchModel
from bench.procfs import tree_memory

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent


def measure(pid: int, model: BenchModel, config: Config) -> dict[str, Any]:
    """RSS of the server with its model workers (model loaded, generations done) and of a direct process."""
    server = tree_memory(pid)
    baseline = _direct_process(model, config)
    size = model.size_bytes
    return {
        "model_file_mb": round(size / MB, 1),
        "server": _breakdown(server, size),
        "direct": _breakdown(baseline, size),
        "server_beyond_model_mb": round((server["VmRSS"] - size) / MB, 1),
        "mcp_overhead_mb": round((server["VmRSS"] - baseline["VmRSS"]) / MB, 1),
    }


def _breakdown(memory: dict[str, int], size: int) -> dict[str, float]:
    return {
        "rss_mb": round(memory["VmRSS"] / MB, 1),
        "peak_rss_mb": round(memory["VmHWM"] / MB, 1),
        "anon_mb": round(memory["RssAnon"] / MB, 1),
        "file_mb": round(memory["RssFile"] / MB, 1),
        "beyond_model_mb": round((memory["VmRSS"] - size) / MB, 1),
    }


def _direct_process(model: BenchModel, config: Config) -> dict[str, int]:
    """Memory of a fresh process that loads the model with llama-cpp-python and generates a few tokens."""
    args = [model.path, str(model.n_ctx), str(config.threads), str(config.gpu_layers)]
    out = subprocess.run(
        [sys.executable, "-m", "bench.probe", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    return {k: int(v) for k, v in json.loads(out.stdout).items()}
