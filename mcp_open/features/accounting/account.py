"""The honest account of delegation: what each call cost the agent, against what doing the work itself would have."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mcp_open.engines.estimates import ESTIMATE, estimate_tokens
from mcp_open.engines.pieces import split_pieces
from mcp_open.engines.protocol import Engine
from mcp_open.features.accounting.ledger import CallRecord, Grouping, Ledger, Totals

# Without a loaded model, agent-side tokens are estimated from characters (engines/estimates.py): about 4 per
# token for English prose and JSON in the BPE vocabularies of frontier models (fewer for code, non-Latin scripts).
# Long texts are tokenized in pieces: llama.cpp's tokenizers slow down sharply on one long unbroken text
# (a megabyte of embedding JSON took 92 s whole and 0.8 s in 4 KB pieces, with the same count).
PIECE_CHARS = 4096

# An agent cannot produce vectors in its own context, so an embed call saves it no work: its "saved" is minus
# what delegating cost (the vectors it reads are the expensive part). Every other tool's work is priced as
# reading what the local model read and writing what it wrote.
NO_IN_CONTEXT_EQUIVALENT = frozenset({"embed"})

FORMULA = (
    "saved = (local read x input price + local wrote x output price) "
    "- (agent wrote x output price + agent read x input price); embed saves no work"
)


@dataclass(frozen=True)
class Prices:
    """Reference frontier-model list prices in USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True)
class FinishedCall:
    """What the edge knows about a tool call once it ended."""

    tool: str
    arguments: str  # the arguments as JSON text: what the agent wrote
    result: str  # the result or error as the client receives it: what the agent reads
    usage: Mapping[str, object]  # the result's usage (empty for failures)
    model: str
    seconds: float
    ok: bool


# The loaded engine that served a model name, if any (its tokenizer counts the agent's side).
TokenizerLookup = Callable[[str], Engine | None]


class Account:
    """Records calls in the ledger and prices them."""

    def __init__(self, ledger: Ledger, prices: Prices, tokenizer_for: TokenizerLookup) -> None:
        self.ledger = ledger
        self.prices = prices
        self.tokenizer_for = tokenizer_for

    def record(self, call: FinishedCall) -> CallRecord:
        """Count a call (entry_of) and append it to the ledger."""
        entry = self.entry_of(call)
        self.ledger.record(entry)
        return entry

    def entry_of(self, call: FinishedCall, *, estimate: bool = False) -> CallRecord:
        """Count the agent's side of a call and work out its own-work equivalent (estimate: without a tokenizer)."""
        count, counted_by = (estimate_tokens, ESTIMATE) if estimate else self._counter(call.model)
        read, written = _int(call.usage, "prompt_tokens"), _int(call.usage, "completion_tokens")
        own_read, own_written = own_work(call.tool, read, written)
        return CallRecord(
            at=time.time(),
            tool=call.tool,
            model=call.model,
            ok=call.ok,
            seconds=round(call.seconds, 4),
            agent_sent=count(call.arguments),
            agent_received=count(call.result),
            local_read=read,
            local_written=written,
            own_read=own_read,
            own_written=own_written,
            counted_by=counted_by,
            uid=uuid.uuid4().hex,  # the row's key: written once, however often it is retried
        )

    def rows(self, *, since: float | None = None, by: Grouping | None = None) -> list[dict[str, object]]:
        """Priced totals, one per group (or one for all calls)."""
        return [priced(t, self.prices) for t in self.ledger.totals(since=since, by=by)]

    def counted_by(self, since: float | None = None) -> dict[str, int]:
        """Calls per way of counting agent-side tokens."""
        return {t.key: t.calls for t in self.ledger.totals(since=since, by="counted_by")}

    def summary(self) -> dict[str, object]:
        """All-time totals for the info resource, with the prices, the formula and how tokens were counted."""
        return {
            **self.rows()[0],
            "prices_usd_per_mtok": {"input": self.prices.input_per_mtok, "output": self.prices.output_per_mtok},
            "formula": FORMULA,
            "agent_tokens_counted_by": self.counted_by(),
            "note": NOTE,
        }

    def _counter(self, model: str) -> tuple[Callable[[str], int], str]:
        """The served model's tokenizer when it is loaded, else the character estimate."""
        engine = self.tokenizer_for(model) if model else None
        if engine is None:
            return estimate_tokens, ESTIMATE
        count = engine.count_tokens

        def counted(text: str) -> int:
            return sum(count(piece) for piece in split_pieces(text, PIECE_CHARS, hard=True))

        return counted, f"tokenizer of {engine.info.name}"


NOTE = (
    "Estimates. Agent-side tokens are counted with the local model's tokenizer (or a character estimate), "
    "not the agent's own; the work the agent would have done is priced as reading the prompt the local model "
    "read and writing what it wrote. Negative saved means delegating cost the agent more than doing the work "
    "itself (e.g. material pasted into the arguments, or vectors read back). Electricity and hardware are not "
    "counted."
)


def own_work(tool: str, local_read: int, local_written: int) -> tuple[int, int]:
    """Tokens the agent would have read and written doing the call's work in its own context."""
    if tool in NO_IN_CONTEXT_EQUIVALENT:
        return 0, 0
    return local_read, local_written


def priced(totals: Totals, prices: Prices) -> dict[str, object]:
    """A totals row with its dollars: own work, delegation cost and saved (negative when delegating cost more)."""
    own = (totals.own_read * prices.input_per_mtok + totals.own_written * prices.output_per_mtok) / 1e6
    cost = (totals.agent_sent * prices.output_per_mtok + totals.agent_received * prices.input_per_mtok) / 1e6
    return {
        "key": totals.key,
        "calls": totals.calls,
        "failed": totals.failed,
        "seconds": round(totals.seconds, 3),
        "agent_tokens_sent": totals.agent_sent,
        "agent_tokens_received": totals.agent_received,
        "local_tokens_read": totals.local_read,
        "local_tokens_written": totals.local_written,
        "own_work_usd": round(own, 6),
        "delegation_usd": round(cost, 6),
        "saved_usd": round(own - cost, 6),
    }


def _int(usage: Mapping[str, object], key: str) -> int:
    value = usage.get(key, 0)
    return value if isinstance(value, int) else 0
