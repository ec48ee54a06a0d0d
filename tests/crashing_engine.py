"""A scripted engine that a model worker serves, and that dies on command: the native crashes, in miniature.

A prompt "crash:HOW" makes complete() end the worker process the way llama.cpp can: SIGSEGV (a real null read),
SIGILL, abort (after an assertion line on stderr, as GGML_ASSERT prints), SIGKILL (as the OOM killer does), or
"hang" (a native call that never looks at the cancel). "slow:SECONDS" decodes normally after a pause.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from mcp_open.engines.protocol import Completion, Prompt
from mcp_open.engines.scripted import ScriptedEngine
from mcp_open.engines.worker.proxy import WorkerEngine
from mcp_open.runtime.slots import LoadedModel
from mcp_open.settings import Settings

ASSERTION = "llama.cpp/ggml/src/ggml.c:1234: GGML_ASSERT(n_tokens_all <= cparams.n_batch) failed"
LAST_WORDS = "llama_context: about to decode the crash test's batch"


def crash(how: str) -> None:
    """End this process the way a native failure would."""
    sys.stderr.write(LAST_WORDS + "\n")
    sys.stderr.flush()
    if how == "SIGSEGV":
        ctypes.string_at(0)
    elif how == "abort":
        sys.stderr.write(ASSERTION + "\n")
        sys.stderr.flush()
        os.abort()
    elif how == "hang":
        while True:
            time.sleep(0.05)
    os.kill(os.getpid(), getattr(signal, how))
    time.sleep(5)


class CrashingEngine(ScriptedEngine):
    """Scripted replies, except for prompts that say how to die."""

    def complete(self, prompt: Prompt, **kwargs: Any) -> Completion:
        said = prompt.turns[-1].content if prompt.turns else prompt.text or ""
        if said.startswith("crash:"):
            crash(said.split(":", 1)[1].strip())
        if said.startswith("slow:"):
            time.sleep(float(said.split(":", 1)[1]))
        return super().complete(prompt, **kwargs)


def make(**kwargs: Any) -> CrashingEngine:
    """The worker's factory."""
    return CrashingEngine(**kwargs)


def worker_loader(**engine: Any) -> Callable[..., LoadedModel]:
    """A slot loader that starts a worker process serving a CrashingEngine (named after the slot's spec)."""

    def load(spec: str, _settings: Settings, embedding: bool, _progress: Callable[[str], None]) -> LoadedModel:
        worker = WorkerEngine.start(spec)
        try:
            worker.load_factory("tests.crashing_engine:make", {"name": spec, "embedding": embedding, **engine})
        except BaseException:
            worker.close()
            raise
        return LoadedModel(worker, 0.0)

    return load


def worker_pids(parent: int | None = None) -> list[int]:
    """Model workers that parent (this process by default) started and that still run (zombies excluded)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and b"mcp_open.engines.worker.main" in cmdline and int(fields[1]) == parent:
            found.append(int(entry))
    return found
