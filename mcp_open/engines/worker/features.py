"""What the llama.cpp build can do, asked of another process once (the server never imports llama_cpp)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from mcp_open.engines.worker.crash import signal_name

PROBE = "mcp_open.engines.worker.probe"
PROBE_SECONDS = 60.0

_known: dict[str, object] = {}
_lock = threading.Lock()


def remember(found: dict[str, object]) -> None:
    """Keep a worker's answer: every worker runs the same build."""
    with _lock:
        _known.clear()
        _known.update(found)


def build_features() -> dict[str, object]:
    """The build's features: the answer already known, else a short probe process's (about 0.05 s of CPU)."""
    with _lock:
        if not _known:
            _known.update(_probe())
        return dict(_known)


def _probe() -> dict[str, object]:
    """Ask a probe process; a build that cannot even load says so instead of failing the server."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", PROBE], capture_output=True, text=True, timeout=PROBE_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _unknown(f"the llama.cpp build probe did not answer: {exc}")
    if out.returncode != 0:
        how = signal_name(out.returncode) or f"exit code {out.returncode}"
        return _unknown(f"the llama.cpp build probe failed ({how}): {out.stderr.strip()[-500:]}")
    found: dict[str, object] = json.loads(out.stdout)
    return found


def _unknown(error: str) -> dict[str, object]:
    return {"llama_cpp_python": None, "gpu_offload": False, "max_devices": 0, "system_info": "", "error": error}
