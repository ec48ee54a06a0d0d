"""Embedding: texts to tokens within the context, packed into as few llama.cpp batches as fit, pooled vectors out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcp_open.engines.llama.native import Native
from mcp_open.engines.llama.tokens import Tokens
from mcp_open.engines.protocol import Cancelled, Embedded, Hooks, ProgressFn, StopFn
from mcp_open.errors import InvalidRequestError, ModelLoadError

if TYPE_CHECKING:
    import numpy as np

# Texts packed into one embedding batch stop at this many tokens (a longer text still gets a batch of its own):
# every sequence's tokens are masked against the whole batch, so cost grows with its square (3.8x on the
# tiny model at 64 texts, unchanged on Gemma; bench/).
EMBED_PACK_TOKENS = 512


class Embedder:
    """Pooled vectors from one model loaded for embeddings."""

    def __init__(self, llama: Any, native: Native, tokens: Tokens, n_ctx: int, n_embd: int, pooling: str | None):
        self._llama = llama
        self._native = native
        self._tokens = tokens
        self._n_ctx = n_ctx
        self._n_embd = n_embd
        self._pooling = pooling
        self.embed_batches = 0
        self.texts_embedded = 0

    def embed(self, texts: Sequence[str], *, truncate: bool, hooks: Hooks) -> Embedded:
        """Pooled vectors, one row per text, packing as many texts into each batch as fit."""
        token_lists, truncated = self.embedding_tokens(texts, truncate, hooks.should_stop)
        vectors = self._embed_tokens(token_lists, hooks.on_token, hooks.should_stop)
        return Embedded(vectors, sum(len(t) for t in token_lists), truncated)

    def embedding_tokens(
        self, texts: Sequence[str], truncate: bool, should_stop: StopFn
    ) -> tuple[list[list[int]], list[int]]:
        """Tokens per text within the context; too long is an error unless truncate is set."""
        limit = self._n_ctx
        closing = self._pooled_token()
        token_lists, truncated = [], []
        for i, text in enumerate(texts):
            if should_stop():
                raise Cancelled
            tokens = self._tokens.tokenize(text, add_special=True, should_stop=should_stop, limit=limit)
            if closing is not None and (not tokens or tokens[-1] != closing):
                tokens.append(closing)  # last-token pooling reads this token; older GGUFs forget to add it
            if len(tokens) > limit:
                if not truncate:
                    raise InvalidRequestError(
                        f"texts[{i}] is {len(tokens)} tokens but the embedding model takes at most {limit}; "
                        "split it, or pass truncate=true to embed only its first part"
                    )
                tokens = tokens[: limit - 1] + tokens[-1:]  # keep the final token last-token pooling reads
                truncated.append(i)
            token_lists.append(tokens)
        return token_lists, truncated

    def _pooled_token(self) -> int | None:
        """The token a last-token-pooling model must end on (<|endoftext|> for Qwen3-Embedding), else None."""
        if self._pooling != "last":
            return None
        eot = self._tokens.tokenize("<|endoftext|>", add_special=False, parse_special=True)
        return eot[0] if len(eot) == 1 else int(self._llama.token_eos())

    def _embed_tokens(
        self, token_lists: Sequence[list[int]], on_batch: ProgressFn | None, should_stop: StopFn
    ) -> np.ndarray:
        """Pooled embeddings for token lists in as few llama.cpp batches as fit."""
        pack = min(self._llama.n_batch, EMBED_PACK_TOKENS)
        n_seq_max = self._native.n_seq_max()
        import numpy as np  # only embedding needs it; keeps it out of the server's start-up

        out = np.zeros((len(token_lists), self._n_embd), dtype=np.float32)
        batch: list[int] = []
        used = 0
        for index, tokens in enumerate(token_lists):
            if batch and (used + len(tokens) > pack or len(batch) >= n_seq_max):
                self._embed_batch(token_lists, batch, out)
                if on_batch:
                    on_batch(index, len(token_lists))
                if should_stop():
                    raise Cancelled
                batch, used = [], 0
            batch.append(index)
            used += len(tokens)
        if batch:
            self._embed_batch(token_lists, batch, out)
        if on_batch:
            on_batch(len(token_lists), len(token_lists))
        return out

    def _embed_batch(self, token_lists: Sequence[list[int]], indexes: list[int], out: np.ndarray) -> None:
        """Decode one packed batch and read each sequence's pooled vector."""
        rows = self._native.pooled([token_lists[i] for i in indexes], self._n_embd)
        self.embed_batches += 1
        self.texts_embedded += len(indexes)
        for index, row in zip(indexes, rows, strict=True):
            if row is None:
                raise ModelLoadError(
                    "llama.cpp returned no pooled embedding; the model's pooling type is 'none'. "
                    "Use an embedding model such as qwen3-embedding-0.6b."
                )
            out[index] = row
