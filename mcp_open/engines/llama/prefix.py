"""Prompt evaluation: reuse the KV cache's shared prefix, evaluate the rest in batches a cancel can interrupt."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mcp_open.engines.llama.native import Native
from mcp_open.engines.protocol import Cancelled, ProgressFn, StopFn

# While a prompt batch is evaluated, llama.cpp asks the abort callback after each graph node; asking the event
# loop whether the call was cancelled at most this often keeps that cheap and a cancel still lands in ~10 ms.
ABORT_POLL_SECONDS = 0.01


class Prefix:
    """Evaluates prompts into one model's KV cache, keeping what the previous prompt shares with this one."""

    def __init__(self, llama: Any, native: Native) -> None:
        self._llama = llama
        self._native = native
        self._abort_requested = False
        self.prompt_tokens_evaluated = 0

    def prefill(self, tokens: list[int], on_prompt: ProgressFn | None, should_stop: StopFn) -> int:
        """Evaluate the prompt but its last batch, reusing the cached prefix; returns tokens reused.

        The last batch (at most n_batch tokens, at least the final one) is left to the decode loop, which evaluates
        it together with its first draft: a prompt that fits one batch then costs one batch, as in llama.cpp.
        """
        llama = self._llama
        reused = common_prefix(llama.input_ids[: llama.n_tokens].tolist(), tokens)
        # The decode loop replays at least the last prompt token itself to get fresh logits.
        reused = self._native.keep_cache(max(0, min(reused, len(tokens) - 1)))
        done = reused
        end = reused + (len(tokens) - reused - 1) // llama.n_batch * llama.n_batch
        while done < end:
            piece = tokens[done : done + llama.n_batch]
            with self.guarded(should_stop):
                self._llama.eval(piece)
            done += len(piece)
            self.prompt_tokens_evaluated += len(piece)
            if on_prompt:
                on_prompt(done, len(tokens))
        return reused

    @contextmanager
    def guarded(self, should_stop: StopFn) -> Iterator[None]:
        """Evaluate a batch that a cancel can stop midway: Cancelled instead of llama.cpp's failed decode."""
        if should_stop():
            raise Cancelled
        self._abort_requested = False
        with self._native.abort_hook(self._poller(should_stop)):
            try:
                yield
            except RuntimeError:
                if self._abort_requested:
                    raise Cancelled from None
                raise

    def _poller(self, should_stop: StopFn) -> StopFn:
        """What the abort hook asks: should_stop, at most every ABORT_POLL_SECONDS, sticky once true."""
        last_poll = 0.0

        def poll() -> bool:
            nonlocal last_poll
            now = time.monotonic()
            if not self._abort_requested and now - last_poll >= ABORT_POLL_SECONDS:
                last_poll = now
                self._abort_requested = should_stop()
            return self._abort_requested

        return poll


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the shared prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
