"""Embedding on any engine: fitting texts, Matryoshka truncation, cosine ranking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_open.engines.protocol import Embedded, Engine, Hooks
from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.embedding import unit_rows
from mcp_open.features.common.limits import byte_limit, check_bytes, cut_to_bytes, utf8_size
from mcp_open.runtime.calls import CallContext

if TYPE_CHECKING:
    import numpy as np


def fit_bytes(texts: list[str], n_ctx: int, truncate: bool) -> list[str]:
    """Texts within the context's byte limit: longer ones cut (truncate) or refused, before any tokenizing."""
    limit = byte_limit(n_ctx)
    fitted = []
    for i, text in enumerate(texts):
        if utf8_size(text) > limit:
            if not truncate:
                check_bytes(utf8_size(text), n_ctx, f"texts[{i}]", "split it, or pass truncate=true")
            text = cut_to_bytes(text, limit)
        fitted.append(text)
    return fitted


def embed_texts(engine: Engine, texts: list[str], truncate: bool, call: CallContext) -> Embedded:
    """Pooled vectors for texts, in as few batches as the engine allows (blocking)."""
    texts = fit_bytes(texts, engine.info.n_ctx, truncate)
    hooks = Hooks(
        on_token=lambda done, n: call.progress.update(done, n, f"{done}/{n} texts embedded"),
        should_stop=call.should_stop,
    )
    return engine.embed(texts, truncate=truncate, hooks=hooks)


def shape_vectors(vectors: np.ndarray, *, normalize: bool, dimensions: int | None) -> np.ndarray:
    """Cut to the first `dimensions` components (Matryoshka) and optionally scale to unit length."""
    if dimensions is not None:
        if dimensions > vectors.shape[1]:
            raise InvalidRequestError(
                f"dimensions={dimensions} but the model's vectors have {vectors.shape[1]}; pass at most that"
            )
        vectors = vectors[:, :dimensions]
    return unit_rows(vectors) if normalize else vectors


def to_lists(vectors: np.ndarray) -> list[list[float]]:
    """Plain lists for JSON, rounded to the precision a float32 holds."""
    import numpy as np

    return np.round(vectors.astype(np.float64), 7).tolist()


def rank(vectors: np.ndarray, top_k: int) -> list[tuple[int, float]]:
    """Documents (rows 1..n) ordered by cosine similarity to the query (row 0)."""
    import numpy as np

    unit = unit_rows(vectors)
    scores = unit[1:] @ unit[0]
    order = np.argsort(-scores, kind="stable")[:top_k]
    return [(int(i), float(scores[i])) for i in order]
