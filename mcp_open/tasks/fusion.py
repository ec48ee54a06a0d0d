"""Lexical queries for FTS5 and the fusion of semantic and lexical rankings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Why = Literal["semantic", "lexical", "both"]
RRF_K = 60  # the constant of Cormack et al.; ranks matter, raw scores (cosine vs bm25) are not comparable

WORD = re.compile(r"\w+")


def fts_query(query: str) -> str | None:
    """Every word of the query as a quoted FTS5 phrase, OR-ed; bm25 weighs them. None if there are no words.

    Quoting keeps identifiers exact: `parse_retry_header` becomes the phrase "parse retry header" in FTS5's
    tokens, which matches that identifier and not a passage that merely mentions parsing.
    """
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(query)))
    return " OR ".join(f'"{w}"' for w in words) or None


def reciprocal_rank_fusion(
    semantic: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], k: int = RRF_K
) -> list[tuple[int, float, Why]]:
    """(id, fused score, why) best first: each list adds 1 / (k + rank) for the ids it holds."""
    scores: dict[int, float] = {}
    seen: dict[int, set[str]] = {}
    for source, ranking in (("semantic", semantic), ("lexical", lexical)):
        for rank, (item, _score) in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
            seen.setdefault(item, set()).add(source)
    order = sorted(scores, key=lambda i: -scores[i])
    return [(i, scores[i], _why(seen[i])) for i in order]


def single(ranking: Sequence[tuple[int, float]], why: Why) -> list[tuple[int, float, Why]]:
    """One ranking as fused results."""
    return [(item, score, why) for item, score in ranking]


def _why(sources: set[str]) -> Why:
    if len(sources) == 2:
        return "both"
    return "semantic" if "semantic" in sources else "lexical"
