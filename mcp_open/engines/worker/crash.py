"""Why a model worker died, in words: the signal, its last lines on stderr, and what to do about it."""

from __future__ import annotations

import signal
from collections.abc import Sequence

from mcp_open.engines.buildflags import reinstall_command
from mcp_open.errors import EngineCrashedError

# llama.cpp's own words when it gives up on purpose (GGML_ASSERT, GGML_ABORT, a CUDA error).
ASSERTION_MARKS = ("GGML_ASSERT", "GGML_ABORT", "assert", "CUDA error", "error:", "failed")


def signal_name(returncode: int) -> str | None:
    """SIGILL for a process ended by signal 4 (Popen reports it as -4), None for a plain exit."""
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def advice(sig: str | None, tail: Sequence[str], returncode: int) -> str:
    """What to do about a worker that ended this way."""
    if sig == "SIGILL":
        return (
            "the llama.cpp build uses CPU instructions this machine cannot run (a native build on a virtual machine "
            "that advertises AMX or AVX-512 it does not execute is the usual cause). Rebuild llama-cpp-python for "
            f"this CPU without them: {reinstall_command()}"
        )
    if sig == "SIGKILL":
        return (
            "it was killed from outside, most likely by the kernel's out-of-memory killer: the model and its context "
            "need more memory than is free. Use a smaller quantisation (e.g. Q4_K_M), a smaller --ctx, or "
            "--kv-cache-type q8_0 (or q4_0)"
        )
    if sig == "SIGABRT":
        said = assertion(tail)
        found = f"llama.cpp stopped on its own check: {said}" if said else "llama.cpp stopped on one of its checks"
        return (
            f"{found}. A damaged or unsupported GGUF, or a context the GPU cannot hold, are the usual causes: check "
            "the file with `mcp-open models info`, or try a smaller --ctx"
        )
    if sig in ("SIGSEGV", "SIGBUS"):
        return (
            "llama.cpp crashed reading memory it does not own: a damaged or truncated GGUF file, or a bug in this "
            "llama.cpp build. Check the file with `mcp-open models info`, and run `mcp-open doctor`"
        )
    if sig is not None:
        return "run `mcp-open doctor` to see whether the model decodes at all"
    return f"the worker exited with code {returncode}; run `mcp-open doctor` to see whether the model decodes at all"


def assertion(tail: Sequence[str]) -> str | None:
    """The line where llama.cpp says why it aborted, if it said so."""
    for line in reversed(tail):
        if any(mark in line for mark in ASSERTION_MARKS):
            return line.strip()
    return None


def crash_error(model: str, returncode: int, tail: Sequence[str], doing: str) -> EngineCrashedError:
    """The one call's error: which model, which signal, the last stderr lines and the fix."""
    sig = signal_name(returncode)
    how = f"died with {sig}" if sig else f"exited with code {returncode}"
    if sig == "SIGILL":
        how += " (illegal instruction, exit code 132)"
    shown = "\n".join(f"  {line}" for line in tail) if tail else "  (nothing)"
    message = (
        f"the worker process of the model {model} {how} while {doing}: {advice(sig, tail, returncode)}. "
        f"Its last lines on stderr:\n{shown}\nOther models and tools are unaffected; the next call on this model "
        "starts a fresh worker."
    )
    return EngineCrashedError(message, signal_name=sig, model=model)
