"""Child process for the memory baseline: load a GGUF with llama-cpp-python, generate, print /proc memory as JSON."""

from __future__ import annotations

import json
import os
import sys

from llama_cpp import Llama

from bench.procfs import memory_of

PROBE_TOKENS = 16
# A ~1,100-token prompt, so llama.cpp sizes its buffers for full prompt batches as the server's did.
LONG_PROMPT = " ".join(f"Sentence number {i} of the memory probe." for i in range(150))


def main(argv: list[str]) -> int:
    """argv: model path, n_ctx, threads, GPU layers."""
    path, n_ctx, threads, gpu_layers = argv
    llama = Llama(
        model_path=path, n_ctx=int(n_ctx), n_threads=int(threads), n_gpu_layers=int(gpu_layers), verbose=False
    )
    tokens = llama.tokenize(LONG_PROMPT.encode())[: int(n_ctx) - PROBE_TOKENS - 1]
    for done, _ in enumerate(llama.generate(tokens, temp=0.0), start=1):
        if done >= PROBE_TOKENS:
            break
    print(json.dumps(memory_of(os.getpid())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
