"""What embed, rank and search share: text checks, the query wrapping Qwen embedders want, unit-length rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_open.errors import InvalidRequestError

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


def query_text(query: str, instruction: str | None, architecture: str | None) -> str:
    """Qwen embedding models want queries (not documents) wrapped in an instruction."""
    if architecture and architecture.startswith("qwen"):
        return QWEN_QUERY_TEMPLATE.format(instruction=instruction or DEFAULT_INSTRUCTION, query=query)
    return query


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows as float32 scaled to unit length (cosine becomes a dot product); a zero row stays zero."""
    import numpy as np  # numpy loads with the first embedding, not at server start

    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.where(norms == 0, 1.0, norms)
