"""SQLite files under the user's data directory, opened so that several servers can share them safely."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
RETRIES = 20
RETRY_SECONDS = 0.02

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
    retrying(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def retrying(step: Callable[[], T], attempts: int = RETRIES) -> T:
    """Run a statement again when another process holds a lock SQLite does not wait for by itself.

    Switching to WAL and upgrading a read to a write can fail at once with "database is locked" while another
    process opens or writes the same file; a short wait and a retry then succeed, so nothing is lost.
    """
    for attempt in range(attempts):
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == attempts - 1:
                raise
            time.sleep(RETRY_SECONDS * (attempt + 1))
    raise AssertionError("unreachable")
