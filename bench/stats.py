"""Medians and spread over repeats."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

Summary = dict[str, float]


def summarize(values: Sequence[float], digits: int = 4) -> Summary:
    """Median, quartiles, min, max and count of values."""
    if not values:
        raise ValueError("nothing measured")
    ordered = sorted(values)
    q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else (ordered[0],) * 3
    return {
        "median": round(statistics.median(ordered), digits),
        "q1": round(q1, digits),
        "q3": round(q3, digits),
        "min": round(ordered[0], digits),
        "max": round(ordered[-1], digits),
        "n": len(ordered),
    }


def ratio(numerator: float, denominator: float, digits: int = 4) -> float:
    """numerator / denominator, 0 when the denominator is 0."""
    return round(numerator / denominator, digits) if denominator else 0.0
