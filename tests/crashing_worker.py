"""A model worker whose llama.cpp build dies with SIGILL on its first decode, as a native AMX build on a VM does.

Tests point the server's worker entry (`process.ENTRY`) here to see what a user with such a build sees.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from mcp_open.engines.worker import main as worker

LAST_WORDS = "load_tensors: CPU_REPACK model buffer size = 1.00 MiB"


class IllegalInstructionWorker(worker.Worker):
    """Loads for real, then faults where the AMX kernels would."""

    def do_complete(self, rid: int, prompt: Any, **kwargs: Any) -> Any:
        sys.stderr.write(LAST_WORDS + "\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGILL)
        raise AssertionError("SIGILL did not end the worker")


if __name__ == "__main__":
    worker.main(IllegalInstructionWorker)
