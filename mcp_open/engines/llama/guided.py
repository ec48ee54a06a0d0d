"""Guided decoding: tokens under a JSON Schema or choices, sampled freely and masked only when the grammar rejects."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

from mcp_open.engines.constraints import Guide, Guides, Vocabulary
from mcp_open.engines.llama.native import Native


class Guided:
    """The constraint compiler for one model's vocabulary (built on first use) and the guided token stream."""

    def __init__(self, llama: Any, native: Native, tokenize_bytes: Callable[[bytes], list[int]]) -> None:
        self._llama = llama
        self._native = native
        self._tokenize_bytes = tokenize_bytes
        self._guides: Guides | None = None

    def guides(self) -> Guides:
        """The constraint compiler for this vocabulary, built on first use."""
        if self._guides is None:
            self._guides = Guides(self._vocabulary())
        return self._guides

    def _vocabulary(self) -> Vocabulary:
        """Every token's bytes, which ones are control tokens, and the end-of-generation tokens."""
        pieces, special, ends = [], set(), [int(self._llama.token_eos())]
        for token, piece, control, eog in self._native.vocabulary():
            if control:
                special.add(token)
            if eog and token not in ends:
                ends.append(token)
            pieces.append(piece)
        return Vocabulary(pieces, frozenset(special), [t for t in ends if t >= 0], self._tokenize_bytes)

    def stream(
        self, prompt_tokens: list[int], sampler_args: dict[str, Any], guide: Guide
    ) -> Generator[int, Sequence[int] | None, None]:
        """Tokens under a constraint: sample freely, mask only when the grammar rejects; forced runs in one batch."""
        llama, native = self._llama, self._native
        with native.sampler(sampler_args) as sample:
            llama.eval(prompt_tokens[llama.n_tokens :])  # the tail the prefill left, for fresh logits
            # A forced run is a few tokens, decode-sized work: with the batch thread count (all cores) it ran 7x
            # slower than single tokens on a busy 2-core machine (bench/results/structured-speed-*), so it gets
            # decode's.
            with native.decode_threads():
                while True:
                    token = sample()
                    if not guide.allows(token):
                        guide.restrict(native.logits())
                        token = sample()
                    forced = guide.accept(token)
                    yield token
                    yield from forced
                    if guide.finished:
                        yield guide.end()
                        return
                    llama.eval([token, *forced])
