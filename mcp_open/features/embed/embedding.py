"""Embedding on any engine: checks, Matryoshka truncation, normalisation, cosine ranking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_open.engines.protocol import Embedded, Engine, Hooks
from mcp_open.errors import InvalidRequestError
from mcp_open.features.common.limits import byte_limit, check_bytes, cut_to_bytes, utf8_size
from mcp_open.runtime.calls import CallContext

if TYPE_CHECKING:
    import numpy as np

QWEN_QUERY_TEMPLATE = "Instruct: {instruction}\nQuery:{query}"
DEFAULT_INSTRUCTION = "Given a query, retrieve the passages most relevant to it"


def check_texts(
    texts: list[str], field: str = "texts", expected: str = "a string or a non-empty list of strings"
) -> None:
    """Reject an empty list or empty strings with a message that says which."""
    if not texts:
        raise InvalidRequestError(f"'{field}' is empty; pass {expected}")
    blank = [i for i, t in enumerate(texts) if not t.strip()]
    if blank:
        raise InvalidRequestError(f"{field}[{blank[0]}] is empty; every text needs some content to embed")


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
    if normalize:
        import numpy as np  # numpy loads with the first embedding, not at server start

        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.where(norms == 0, 1.0, norms)
    return vectors


def to_lists(vectors: np.ndarray) -> list[list[float]]:
    """Plain lists for JSON, rounded to the precision a float32 holds."""
    import numpy as np

    return np.round(vectors.astype(np.float64), 7).tolist()


def query_text(query: str, instruction: str | None, architecture: str | None) -> str:
    """Qwen embedding models want queries (not documents) wrapped in an instruction."""
    if architecture and architecture.startswith("qwen"):
        return QWEN_QUERY_TEMPLATE.format(instruction=instruction or DEFAULT_INSTRUCTION, query=query)
    return query


def rank(vectors: np.ndarray, top_k: int) -> list[tuple[int, float]]:
    """Documents (rows 1..n) ordered by cosine similarity to the query (row 0)."""
    import numpy as np

    unit = shape_vectors(vectors, normalize=True, dimensions=None)
    scores = unit[1:] @ unit[0]
    order = np.argsort(-scores, kind="stable")[:top_k]
    return [(int(i), float(scores[i])) for i in order]
