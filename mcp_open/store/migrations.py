"""Numbered schema migrations, as simonw/llm and sqlite-utils keep them: each runs once per file, in order.

A file records the migrations it has had in `_migrations`; a file from before this table existed simply gets
every migration, which is why each one is written to be a no-op where its change is already there.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from mcp_open.store.db import retrying

Step = Callable[[sqlite3.Connection], None]
Migration = tuple[str, Step]  # ("m001_calls", step): the name orders it and is what a file records

TABLE = "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"


def statements(*sql: str) -> Step:
    """A migration made of plain SQL statements (run one by one, inside the migration's transaction)."""

    def step(conn: sqlite3.Connection) -> None:
        for statement in sql:
            conn.execute(statement)

    return step


def add_column(table: str, column: str, decl: str) -> Step:
    """ALTER TABLE ... ADD COLUMN, unless the column is already there."""

    def step(conn: sqlite3.Connection) -> None:
        if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    return step


def applied(conn: sqlite3.Connection) -> list[str]:
    """The migrations a file has had, in order."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_migrations'").fetchone() is None:
        return []
    return [row[0] for row in conn.execute("SELECT name FROM _migrations ORDER BY name")]


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], path: Path) -> list[str]:
    """Apply the migrations a file has not had, each in its own transaction; returns the names applied now."""
    names = [name for name, _ in migrations]
    if names != sorted(names) or len(set(names)) != len(names):
        raise ValueError(f"migrations must have unique names in order: {names}")
    if _done(conn, path) >= set(names):
        return []  # the common case: no write lock taken
    done_now: list[str] = []
    for name, step in migrations:
        if retrying(lambda name=name, step=step: _apply(conn, name, step), path):  # type: ignore[misc]
            done_now.append(name)
    return done_now


def _done(conn: sqlite3.Connection, path: Path) -> set[str]:
    return set(retrying(lambda: applied(conn), path))


def _apply(conn: sqlite3.Connection, name: str, step: Step) -> bool:
    """One migration in one transaction, unless another process applied it meanwhile."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(TABLE)
        if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone() is not None:
            conn.execute("COMMIT")
            return False
        step(conn)
        conn.execute("INSERT INTO _migrations(name, applied_at) VALUES (?, ?)", (name, time.time()))
        conn.execute("COMMIT")
        return True
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
