"""What the llama.cpp build can do, asked of a worker process once (the server never imports llama_cpp)."""

from __future__ import annotations

import threading

_known: dict[str, object] = {}
_lock = threading.Lock()


def remember(found: dict[str, object]) -> None:
    """Keep a worker's answer: every worker runs the same build."""
    with _lock:
        _known.clear()
        _known.update(found)


def build_features() -> dict[str, object]:
    """The build's features: the answer already known, else one short-lived worker's."""
    with _lock:
        if _known:
            return dict(_known)
    from mcp_open.engines.worker.proxy import WorkerEngine

    probe = WorkerEngine.start("llama.cpp build probe")
    try:
        found = probe.features()
    finally:
        probe.close()
    remember(found)
    return found
