"""Embedding on a loaded model: token limits, batching, Matryoshka truncation, cosine ranking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcp_open.calls import CallContext
from mcp_open.engine import LlamaEngine
from mcp_open.errors import InvalidRequestError

if TYPE_CHECKING:
    import numpy as np

QWEN_QUERY_TEMPLATE = "Instruct: {instruction}\nQuery:{query}"
DEFAULT_INSTRUCTION = "Given a query, retrieve the passages most relevant to it"


@dataclass
class Embedded:
    """Raw pooled vectors and what they cost."""

    vectors: np.ndarray
    prompt_tokens: int
    truncated: list[int]


def check_texts(texts: list[str], field: str = "texts") -> None:
    """Reject an empty list or empty strings with a message that says which."""
    if not texts:
        raise InvalidRequestError(f"'{field}' is empty; pass a string or a non-empty list of strings")
    blank = [i for i, t in enumerate(texts) if not t.strip()]
    if blank:
        raise InvalidRequestError(f"{field}[{blank[0]}] is empty; every text needs some content to embed")


def tokenize_all(engine: LlamaEngine, texts: list[str], truncate: bool) -> tuple[list[list[int]], list[int]]:
    """Tokens per text within the context; too long is an error unless truncate is set."""
    limit = engine.n_ctx
    token_lists, truncated = [], []
    for i, text in enumerate(texts):
        tokens = engine.tokenize(text, add_special=True)
        if len(tokens) > limit:
            if not truncate:
                raise InvalidRequestError(
                    f"texts[{i}] is {len(tokens)} tokens but the embedding model takes at most {limit}; "
                    "split it, or pass truncate=true to embed only its first part"
                )
            tokens = tokens[: limit - 1] + tokens[-1:]  # keep the final (EOS) token last-token pooling reads
            truncated.append(i)
        token_lists.append(tokens)
    return token_lists, truncated


def embed_texts(engine: LlamaEngine, texts: list[str], truncate: bool, call: CallContext) -> Embedded:
    """Pooled vectors for texts, in as few llama.cpp batches as the context allows (blocking)."""
    token_lists, truncated = tokenize_all(engine, texts, truncate)
    vectors = engine.embed(
        token_lists,
        on_batch=lambda done, n: call.progress.update(done, n, f"{done}/{n} texts embedded"),
        should_stop=call.should_stop,
    )
    return Embedded(vectors, sum(len(t) for t in token_lists), truncated)


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
