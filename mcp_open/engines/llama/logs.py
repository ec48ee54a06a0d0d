"""llama.cpp's native log lines, to stderr (never stdout): errors only, everything from INFO with verbose."""

from __future__ import annotations

import sys

from mcp_open.engines.llama import native

# ggml's log levels (ggml.h); llama-cpp-python's own table predates DEBUG and shows warnings as errors.
GGML_DEBUG, GGML_INFO, GGML_WARN, GGML_ERROR, GGML_CONT = 1, 2, 3, 4, 5
# What llama.cpp logs as errors when the abort callback stops a batch.
ABORT_NOISE = (b"failed to compute graph", b"compute_async failed", b"failed to decode, ret = 2")
_state = {"threshold": GGML_ERROR, "last": GGML_INFO}


def set_native_logging(verbose: bool) -> None:
    """Send llama.cpp's native logs to stderr: errors only, everything from INFO with verbose."""
    _state["threshold"] = GGML_INFO if verbose else GGML_ERROR
    native.install_log_hook(forward)


def forward(level: int, text: bytes) -> None:
    """Write one native log line to stderr when its level (continuations keep the last one's) passes."""
    level = _state["last"] if level == GGML_CONT else level
    if any(noise in text for noise in ABORT_NOISE):
        level = GGML_INFO  # our own cancel, not an error
    _state["last"] = level
    if level >= _state["threshold"]:
        sys.stderr.write(text.decode("utf-8", "replace"))
        sys.stderr.flush()
