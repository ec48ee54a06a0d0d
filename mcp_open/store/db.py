"""SQLite files under the user's data directory: shared safely by several servers, every wait on them bounded."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import anyio.from_thread
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

from mcp_open.errors import StoreError, os_error_meaning

T = TypeVar("T")

# SQLite's own wait per statement is kept short: it cannot be interrupted, while retrying() below checks between
# tries whether the call was cancelled and gives up after LOCK_WAIT_SECONDS in all.
BUSY_TIMEOUT_MS = 100
LOCK_WAIT_SECONDS = 5.0
# How often (in SQLite VM steps) a long statement asks whether its call was cancelled.
PROGRESS_STEPS = 20_000


def default_data_dir() -> Path:
    """Where mcp-open keeps what lasts (platformdirs' user data directory for mcp-open)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("mcp-open", appauthor=False))


def connect(path: Path, *, budget: float | None = None) -> sqlite3.Connection:
    """Open (creating) a database in WAL mode; autocommit, so callers scope transactions; bounded lock waits."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise store_error(path, exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.set_progress_handler(_stop_requested, PROGRESS_STEPS)
        retrying(lambda: conn.execute("PRAGMA journal_mode = WAL"), path, budget=budget)
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        conn.close()  # a failed switch to WAL must not leak the connection
        raise store_error(path, exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn


def is_busy(exc: BaseException) -> bool:
    """Whether an SQLite error means another connection holds the file (worth waiting for)."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def retrying(step: Callable[[], T], path: Path, *, budget: float | None = None) -> T:
    """Run a statement (or a whole transaction) again while another process holds the file, for budget seconds.

    The retries are short and check between them whether the call that waits was cancelled (--timeout, a client's
    cancel, a stop signal), so a file locked by someone else costs a call at most budget seconds and a clear error.
    """
    budget = LOCK_WAIT_SECONDS if budget is None else budget
    retryer = Retrying(
        retry=retry_if_exception(is_busy),
        stop=stop_after_delay(budget),
        wait=wait_random_exponential(multiplier=0.02, max=0.25),
        sleep=_sleep_unless_stopped,
        reraise=True,
    )
    try:
        return retryer(step)
    except sqlite3.Error as exc:
        raise store_error(path, exc, waited=budget) from exc


def store_error(path: Path, exc: BaseException, *, waited: float | None = None) -> StoreError:
    """What went wrong with one of our files, and what to do about it."""
    if isinstance(exc, OSError):
        return StoreError(f"cannot use {path}: {os_error_meaning(exc, path)}", path=path)
    if is_busy(exc):
        return StoreError(
            f"{path} is locked by another program (another mcp-open, an `mcp-open index` run, or a tool such as "
            f"sqlite3 holding it open) and stayed locked for {waited or LOCK_WAIT_SECONDS:g} s; nothing was changed. "
            "Try again once it is released, or give this server its own --data-dir.",
            path=path,
            busy=True,
        )
    text = str(exc)
    if "unable to open" in text or "readonly" in text or "read-only" in text:
        return StoreError(
            f"cannot write {path} ({text}): its folder or the file is read-only or missing. Make "
            f"{path.parent} writable, or point --data-dir at a writable folder.",
            path=path,
            read_only=True,
        )
    if getattr(exc, "sqlite_errorcode", None) in (11, 26) or type(exc) is sqlite3.DatabaseError:
        return StoreError(
            f"{path} is damaged or is not an SQLite database ({text}). Move it aside (mcp-open starts a new "
            "one), or restore it from a backup.",
            path=path,
            damaged=True,
        )
    if getattr(exc, "sqlite_errorcode", None) == 13:  # SQLITE_FULL
        return StoreError(f"cannot write {path}: the disk is full. Free some space, then try again.", path=path)
    return StoreError(f"{path}: SQLite failed ({text})", path=path)


def _sleep_unless_stopped(seconds: float) -> None:
    """Sleep between retries, raising the call's cancellation if it came meanwhile."""
    _raise_if_cancelled()
    time.sleep(seconds)
    _raise_if_cancelled()


def _raise_if_cancelled() -> None:
    try:
        anyio.from_thread.check_cancelled()
    except RuntimeError:  # not a call's worker thread (the ledger's own thread, the CLI): nobody to cancel
        return


def _stop_requested() -> int:
    """SQLite's progress handler: non-zero interrupts the running statement once the call was cancelled."""
    try:
        anyio.from_thread.check_cancelled()
    except RuntimeError:
        return 0
    except BaseException:  # the cancellation itself: SQLite raises "interrupted" in the caller
        return 1
    return 0


@contextmanager
def holding(lock: threading.Lock | threading.RLock, path: Path, budget: float | None = None) -> Iterator[None]:
    """A thread lock around one of our files, waited for at most budget seconds and given up on a cancel."""
    budget = LOCK_WAIT_SECONDS if budget is None else budget
    deadline = time.monotonic() + budget
    while not lock.acquire(timeout=0.1):
        _raise_if_cancelled()
        if time.monotonic() > deadline:
            raise StoreError(
                f"{path} is busy: another call of this server has been waiting for it for {budget:g} s (another "
                "program may hold it). Try again in a moment.",
                path=path,
                busy=True,
            )
    try:
        yield
    finally:
        lock.release()


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open an existing database that cannot be written (a read-only folder): reads only, no locks taken."""
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?immutable=1", uri=True, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise store_error(path, exc) from exc
    conn.set_progress_handler(_stop_requested, PROGRESS_STEPS)
    return conn
