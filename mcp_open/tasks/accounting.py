"""What the local model did for the agent, priced as if a frontier model had done it."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Prices:
    """Reference frontier-model list prices in USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


# Tools whose work a frontier model would otherwise do in its own context (rank: reading every document).
# Raw embeddings are not priced: frontier chat models do not sell them and embedding APIs cost little.
PRICED_TOOLS = frozenset({"generate", "translate", "rank"})


class Ledger:
    """Tokens served per tool, thread-safe, with the frontier-price equivalent."""

    def __init__(self, prices: Prices) -> None:
        self.prices = prices
        self._lock = threading.Lock()
        self._tools: dict[str, dict[str, int]] = {}

    def record(self, tool: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Count one finished call."""
        with self._lock:
            row = self._tools.setdefault(tool, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0})
            row["calls"] += 1
            row["prompt_tokens"] += prompt_tokens
            row["completion_tokens"] += completion_tokens

    def report(self) -> dict[str, object]:
        """Totals per tool and what they would have cost at the reference prices."""
        with self._lock:
            tools = {name: dict(row) for name, row in self._tools.items()}
        priced = [row for name, row in tools.items() if name in PRICED_TOOLS]
        prompt = sum(row["prompt_tokens"] for row in tools.values())
        completion = sum(row["completion_tokens"] for row in tools.values())
        cost = (
            sum(
                row["prompt_tokens"] * self.prices.input_per_mtok
                + row["completion_tokens"] * self.prices.output_per_mtok
                for row in priced
            )
            / 1e6
        )
        return {
            "tools": tools,
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "frontier_equivalent_usd": round(cost, 6),
            "reference_prices_usd_per_mtok": {
                "input": self.prices.input_per_mtok,
                "output": self.prices.output_per_mtok,
            },
            "note": "list-price cost of the generate, translate and rank tokens on the reference frontier model "
            "(rank: the documents it would have read); embed is not priced; local electricity and hardware are "
            "not subtracted, and a frontier model might have used a different number of tokens",
        }
