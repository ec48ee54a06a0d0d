"""The usage ledger: one SQLite row per tool call, shared safely by every server using the data directory."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Literal

from mcp_open.store.db import connect, retrying

FILE_NAME = "usage.sqlite3"

Grouping = Literal["tool", "model", "day", "counted_by"]

# Each grouping as an SQL expression; days are UTC calendar days.
GROUP_SQL: dict[Grouping, str] = {
    "tool": "tool",
    "model": "model",
    "day": "date(at, 'unixepoch')",
    "counted_by": "counted_by",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    tool TEXT NOT NULL,
    model TEXT NOT NULL,
    ok INTEGER NOT NULL,
    seconds REAL NOT NULL,
    agent_sent INTEGER NOT NULL,
    agent_received INTEGER NOT NULL,
    local_read INTEGER NOT NULL,
    local_written INTEGER NOT NULL,
    own_read INTEGER NOT NULL,
    own_written INTEGER NOT NULL,
    counted_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_at ON calls (at);
"""


@dataclass(frozen=True)
class CallRecord:
    """One finished tool call, in tokens (see features/accounting/account.py for what each count means)."""

    at: float  # Unix time the call ended
    tool: str
    model: str  # "" when the call failed before a model answered
    ok: bool
    seconds: float
    agent_sent: int  # the arguments the agent wrote
    agent_received: int  # the result (or error) the agent reads
    local_read: int  # prompt tokens the local model read
    local_written: int  # tokens the local model generated
    own_read: int  # what the agent would have read doing the work itself
    own_written: int  # what it would have written doing the work itself
    counted_by: str  # how agent-side tokens were counted: a tokenizer's model name, or the estimate


@dataclass(frozen=True)
class Totals:
    """Sums over a set of calls; key is the group (tool, model or UTC day), "" for all calls."""

    key: str
    calls: int
    failed: int
    seconds: float
    agent_sent: int
    agent_received: int
    local_read: int
    local_written: int
    own_read: int
    own_written: int


COLUMNS = [f.name for f in fields(CallRecord)]
SUMS = [f.name for f in fields(Totals)][4:]


class Ledger:
    """The calls table of one database file; opened on first use, one connection shared by threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def record(self, call: CallRecord) -> None:
        """Append one call (a single autocommit INSERT: atomic, and waits out other writers)."""
        sql = f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        with self._lock:
            conn = self._open()
            retrying(lambda: conn.execute(sql, astuple(call)))

    def totals(self, *, since: float | None = None, by: Grouping | None = None) -> list[Totals]:
        """Sums since a Unix time (all calls if None): one row per group in order, or one row for all."""
        key = GROUP_SQL[by] if by else "''"
        sums = ", ".join(f"COALESCE(SUM({name}), 0)" for name in SUMS)
        sql = (
            f"SELECT {key} AS k, COUNT(*), COALESCE(SUM(1 - ok), 0), COALESCE(SUM(seconds), 0.0), {sums} "
            "FROM calls WHERE at >= ?" + (" GROUP BY k ORDER BY k" if by else "")
        )
        with self._lock:
            if self._conn is None and not self.path.exists():  # reading never creates the file
                return [] if by else [Totals("", 0, 0, 0.0, *([0] * len(SUMS)))]
            rows = self._open().execute(sql, (since or 0.0,)).fetchall()
        return [Totals(str(row[0]), *row[1:]) for row in rows]

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = connect(self.path)
            retrying(lambda: conn.executescript(SCHEMA))
            self._conn = conn
        return self._conn


def ledger_at(data_dir: Path) -> Ledger:
    """The ledger of a data directory."""
    return Ledger(data_dir / FILE_NAME)
