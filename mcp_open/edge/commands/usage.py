"""`mcp-open usage`: the ledger over a time window, grouped, as a table or JSON."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from mcp_open.errors import ConfigError
from mcp_open.features.accounting.account import FORMULA, NOTE, Account, Prices
from mcp_open.features.accounting.ledger import Grouping, ledger_at
from mcp_open.settings import Settings

SECONDS_PER_UNIT = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
COLUMNS = [
    ("calls", "calls"),
    ("failed", "failed"),
    ("agent wrote", "agent_tokens_sent"),
    ("agent read", "agent_tokens_received"),
    ("local read", "local_tokens_read"),
    ("local wrote", "local_tokens_written"),
]


def usage_text(settings: Settings, *, since: str | None, by: Grouping | None, as_json: bool) -> str:
    """What `mcp-open usage` prints."""
    account = Account(ledger_at(settings.data_path), Prices(settings.price_input, settings.price_output), _none)
    try:
        report = build_report(account, since=since, by=by, now=time.time())
    finally:
        account.ledger.close()
    return json.dumps(report, indent=2) if as_json else render(report)


def parse_since(text: str, now: float) -> float:
    """'30m', '12h', '7d', '2w' before now, or an ISO date or time (UTC unless it says otherwise), as Unix time."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mhdw])", text.strip())
    if match:
        return now - float(match[1]) * SECONDS_PER_UNIT[match[2]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r} is neither a duration nor a date; use e.g. 30m, 12h, 7d, 2w or 2026-11-01"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def build_report(account: Account, *, since: str | None, by: Grouping | None, now: float) -> dict[str, Any]:
    """Totals (and groups) with prices, formula and how agent-side tokens were counted."""
    start = parse_since(since, now) if since else None
    return {
        "ledger": str(account.ledger.path),
        "since": since or "all time",
        "by": by,
        "groups": account.rows(since=start, by=by) if by else [],
        "total": account.rows(since=start)[0],
        "prices_usd_per_mtok": {"input": account.prices.input_per_mtok, "output": account.prices.output_per_mtok},
        "formula": FORMULA,
        "agent_tokens_counted_by": account.counted_by(start),
        "note": NOTE,
    }


def render(report: dict[str, Any]) -> str:
    """The report as a plain text table with its explanation underneath."""
    total = report["total"]
    if not total["calls"]:
        return f"No calls recorded in {report['ledger']} ({report['since']})."
    rows = [*report["groups"], {**total, "key": "total"}]
    header = [report["by"] or "", *(name for name, _ in COLUMNS), "saved USD"]
    cells = [[str(r["key"] or "-"), *(f"{r[key]:,}" for _, key in COLUMNS), f"{r['saved_usd']:+.4f}"] for r in rows]
    return "\n".join([_table(header, cells), "", *_footer(report, rows)])


def _table(header: list[str], cells: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned numbers."""
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    lines = (
        [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        for row in [header, *cells]
    )
    return "\n".join("  ".join(line).rstrip() for line in lines)


def _footer(report: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    prices = report["prices_usd_per_mtok"]
    counted = "; ".join(f"{how}: {n} calls" for how, n in report["agent_tokens_counted_by"].items())
    lines = [
        f"Since: {report['since']}. Ledger: {report['ledger']}.",
        f"Prices: ${prices['input']:g} input, ${prices['output']:g} output per million tokens "
        "(reference; --price-input, --price-output).",
        FORMULA + ".",
        f"Agent-side tokens counted by {counted}. All counts are estimates.",
    ]
    if any(r["saved_usd"] < 0 for r in rows):
        lines.append("Negative saved: delegating cost the agent more than doing that work in its own context.")
    return lines


def _none(_model: str) -> None:
    """No engine is loaded in the CLI (every count is already in the ledger)."""
    return None
