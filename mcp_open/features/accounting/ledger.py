"""The usage ledger: one SQLite row per tool call, shared safely by every server using the data directory."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, astuple, dataclass, fields
from pathlib import Path
from typing import Literal

from mcp_open.errors import StoreError
from mcp_open.store import db
from mcp_open.store.db import connect, retrying
from mcp_open.store.migrations import Migration, add_column, migrate, statements

FILE_NAME = "usage.sqlite3"
SPILL_PREFIX = "usage.pending."  # calls set aside at shutdown while the ledger could not be written
log = logging.getLogger(__name__)

Grouping = Literal["tool", "model", "day", "counted_by"]

# Each grouping as an SQL expression; days are UTC calendar days.
GROUP_SQL: dict[Grouping, str] = {
    "tool": "tool",
    "model": "model",
    "day": "date(at, 'unixepoch')",
    "counted_by": "counted_by",
}

# Numbered, never edited once released: a new change is a new migration (tested from old files).
MIGRATIONS: list[Migration] = [
    (
        "m001_calls",
        statements(
            """CREATE TABLE IF NOT EXISTS calls (
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
            )""",
            "CREATE INDEX IF NOT EXISTS calls_at ON calls (at)",
        ),
    ),
    # A row kept while the file was locked may be written twice (by the ledger thread and at shutdown): once only.
    ("m002_call_uid", add_column("calls", "uid", "TEXT")),
    ("m003_call_uid_unique", statements("CREATE UNIQUE INDEX IF NOT EXISTS calls_uid ON calls (uid)")),
]


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
    uid: str | None = None  # unique per call, so a row is never written twice (NULL in rows from before)


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

    def __init__(self, path: Path, *, budget: float | None = None) -> None:
        self.path = path
        self._budget = budget  # how long one statement waits for another process's lock, in all (None: default)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    @property
    def budget(self) -> float:
        """Seconds a statement waits for another process's lock, in all."""
        return db.LOCK_WAIT_SECONDS if self._budget is None else self._budget

    def record(self, *calls: CallRecord) -> None:
        """Append calls in one transaction; a call already there (same uid) is skipped. Raises StoreError."""
        with self._locked():
            self._open()
            self._write(list(calls))

    def _write(self, calls: list[CallRecord]) -> None:
        sql = f"INSERT OR IGNORE INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        rows = [astuple(call) for call in calls]
        conn = self._conn
        assert conn is not None

        def write() -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        retrying(write, self.path, budget=self.budget)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """This ledger's lock, waited for as long as a statement may wait for the file (then StoreError)."""
        if not self._lock.acquire(timeout=self.budget):
            raise StoreError(
                f"{self.path} is locked by another program: this server's own write has waited {self.budget:g} s for "
                "it. Try again in a moment.",
                path=self.path,
                busy=True,
            )
        try:
            yield
        finally:
            self._lock.release()

    def totals(self, *, since: float | None = None, by: Grouping | None = None) -> list[Totals]:
        """Sums since a Unix time (all calls if None): one row per group in order, or one row for all."""
        key = GROUP_SQL[by] if by else "''"
        sums = ", ".join(f"COALESCE(SUM({name}), 0)" for name in SUMS)
        sql = (
            f"SELECT {key} AS k, COUNT(*), COALESCE(SUM(1 - ok), 0), COALESCE(SUM(seconds), 0.0), {sums} "
            "FROM calls WHERE at >= ?" + (" GROUP BY k ORDER BY k" if by else "")
        )
        with self._locked():
            if self._conn is None and not self.path.exists():  # reading never creates the file
                return [] if by else [Totals("", 0, 0, 0.0, *([0] * len(SUMS)))]
            conn = self._open()
            rows = retrying(lambda: conn.execute(sql, (since or 0.0,)).fetchall(), self.path, budget=self.budget)
        return [Totals(str(row[0]), *row[1:]) for row in rows]

    def close(self, timeout: float = -1) -> None:
        """Close the connection (reopened on next use); gives up after timeout seconds if a write holds it."""
        if not self._lock.acquire(timeout=timeout):
            return
        try:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        finally:
            self._lock.release()

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.path.is_dir():
                raise StoreError(
                    f"{self.path} is a folder, but the usage ledger is a database file kept there; move the folder "
                    "away (mcp-open then starts a new ledger), or point --data-dir elsewhere.",
                    path=self.path,
                    damaged=True,
                )
            conn = connect(self.path, budget=self.budget)
            try:
                migrate(conn, MIGRATIONS, self.path)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self._merge_spilled()
        return self._conn

    def spill(self, calls: list[CallRecord]) -> Path:
        """Save calls the ledger could not take (at shutdown) in a side file that the next opening writes in."""
        side = self.path.with_name(f"{SPILL_PREFIX}{uuid.uuid4().hex}.jsonl")
        with side.open("w", encoding="utf-8") as out:
            for call in calls:
                out.write(json.dumps(asdict(call)) + "\n")
            out.flush()
            os.fsync(out.fileno())
        return side

    def _merge_spilled(self) -> None:
        """Write in the calls earlier servers had to set aside; safe when two servers do it at once (uids)."""
        for side in sorted(self.path.parent.glob(f"{SPILL_PREFIX}*.jsonl")):
            try:
                calls = [CallRecord(**json.loads(line)) for line in side.read_text("utf-8").splitlines() if line]
            except (OSError, ValueError, TypeError) as exc:
                log.warning("could not read set-aside ledger rows in %s (%s); left in place", side, exc)
                continue
            try:
                self._write(calls)
            except StoreError as exc:
                log.warning("could not write set-aside ledger rows from %s yet: %s", side, exc)
                return
            side.unlink(missing_ok=True)
            log.info("wrote %d set-aside calls from %s into the ledger", len(calls), side.name)


def ledger_at(data_dir: Path) -> Ledger:
    """The ledger of a data directory."""
    return Ledger(data_dir / FILE_NAME)
