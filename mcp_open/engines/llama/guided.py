"""Guided decoding's compiler: one model's vocabulary for llguidance (the stream masks only when a grammar rejects)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_open.engines.constraints import Guides, Vocabulary
from mcp_open.engines.llama.native import Native


class Guided:
    """The constraint compiler for one model's vocabulary, built on first use."""

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
