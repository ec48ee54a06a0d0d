"""Lexical queries for FTS5 and the fusion of semantic and lexical rankings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

Why = Literal["semantic", "lexical", "both"]
RRF_K = 60  # the constant of Cormack et al.; ranks matter, raw scores (cosine vs bm25) are not comparable

WORD = re.compile(r"\w+")
TIE_ORDER = {"both": 0, "lexical": 1, "semantic": 2}


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


def relative_score_fusion(
    semantic: Sequence[tuple[int, float]], lexical: Sequence[tuple[int, float]], semantic_weight: float = 0.5
) -> list[tuple[int, float, Why]]:
    """(id, fused score in [0, 1], why) best first: each list's scores scaled to [0, 1] over its candidates,
    then blended (Weaviate's relative score fusion). It keeps how far apart candidates are, which rank fusion
    throws away; on Gemma it matched the better side where rank fusion fell below it (bench/results/search-*).
    Ties go to passages found both ways, then to exact word matches."""
    scores: dict[int, float] = {}
    seen: dict[int, set[str]] = {}
    for source, weight, ranking in (("semantic", semantic_weight, semantic), ("lexical", 1 - semantic_weight, lexical)):
        for item, scaled in _scaled(ranking):
            scores[item] = scores.get(item, 0.0) + weight * scaled
            seen.setdefault(item, set()).add(source)
    order = sorted(scores, key=lambda i: (-round(scores[i], 9), TIE_ORDER[_why(seen[i])]))
    return [(i, scores[i], _why(seen[i])) for i in order]


def _scaled(ranking: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """Scores mapped to [0, 1] over the list (all 1 when they are equal)."""
    if not ranking:
        return []
    values = [score for _item, score in ranking]
    low, span = min(values), max(values) - min(values)
    return [(item, (score - low) / span if span else 1.0) for item, score in ranking]


def single(ranking: Sequence[tuple[int, float]], why: Why) -> list[tuple[int, float, Why]]:
    """One ranking as fused results."""
    return [(item, score, why) for item, score in ranking]


def _why(sources: set[str]) -> Why:
    if len(sources) == 2:
        return "both"
    return "semantic" if "semantic" in sources else "lexical"
