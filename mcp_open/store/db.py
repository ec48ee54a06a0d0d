"""SQLite files under the user's data directory, opened so that several servers can share them safely."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# A writer waits this long for another process's transaction instead of failing with "database is locked".
BUSY_TIMEOUT_MS = 30_000


def default_data_dir() -> Path:
    """Where mcp-open keeps what lasts (platformdirs' user data directory for mcp-open)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("mcp-open", appauthor=False))


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating) a database in WAL mode with a busy timeout; autocommit, so callers scope transactions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn
