"""Calls go into the ledger from one background thread, so counting and writing never delay a result.

A ledger that cannot be written (locked by another program, read-only, damaged, a full disk) costs no call: its
rows are kept and written once it can be; at shutdown, what is still kept goes to a side file that the next
server writes in. Shutdown waits for the ledger at most CLOSE_SECONDS.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from mcp_open.errors import StoreError
from mcp_open.features.accounting.account import Account, FinishedCall
from mcp_open.features.accounting.ledger import CallRecord

log = logging.getLogger(__name__)

RETRY_KEPT_SECONDS = 2.0  # how often kept rows are tried again while no new call comes
CLOSE_SECONDS = 0.8


class Recorder:
    """A queue of finished calls and the thread that records them; drained on flush and (bounded) on close."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self._queue: queue.SimpleQueue[FinishedCall | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._kept: list[CallRecord] = []  # counted, not yet in the ledger (guarded by _idle)
        self.problem: str | None = None  # why the ledger cannot be written now; logged once per episode

    @property
    def busy(self) -> bool:
        """Whether calls are waiting or being recorded (their model's tokenizer may be in use)."""
        return self._pending > 0

    @property
    def kept(self) -> int:
        """Calls counted but not yet in the ledger."""
        with self._idle:
            return len(self._kept)

    def submit(self, call: FinishedCall) -> None:
        """Queue a finished call; returns at once."""
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mcp-open-ledger", daemon=True)
                self._thread.start()
        self._queue.put(call)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued call was counted and written (or kept); False if the timeout came first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Record what is queued within timeout seconds, set aside what could not be, and close the ledger."""
        deadline = time.monotonic() + timeout
        self.flush(timeout)
        with self._idle:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(max(0.0, deadline - time.monotonic()))
        left = self._leftovers()
        if left:
            self._set_aside(left)
        self.account.ledger.close(timeout=max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while True:
            try:
                call = self._queue.get(timeout=RETRY_KEPT_SECONDS if self._kept else None)
            except queue.Empty:
                self._write()
                continue
            if call is None:
                return
            try:
                entry = self.account.entry_of(call)
            except Exception:  # a tokenizer failure: count it by the estimate rather than lose it
                log.exception("could not count a %s call with its model's tokenizer; estimating", call.tool)
                entry = self.account.entry_of(call, estimate=True)
            with self._idle:
                self._kept.append(entry)
            self._write()
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _write(self) -> None:
        """Write every kept row; on failure keep them and say why once."""
        with self._idle:
            batch = list(self._kept)
        if not batch:
            return
        try:
            self.account.ledger.record(*batch)
        except (StoreError, OSError) as exc:
            if self.problem != str(exc):
                log.warning("the usage ledger cannot be written now (%s); %d calls are kept and written later",
                            exc, len(batch))  # fmt: skip
            self.problem = str(exc)
            return
        except Exception:  # a bug must not take the server down; the rows stay kept
            log.exception("could not record calls in the ledger at %s", self.account.ledger.path)
            return
        with self._idle:
            written = {entry.uid for entry in batch}
            self._kept = [entry for entry in self._kept if entry.uid not in written]
        if self.problem is not None:
            log.warning("the usage ledger is writable again; %d kept calls were written", len(batch))
            self.problem = None

    def _leftovers(self) -> list[CallRecord]:
        """Rows still kept and calls never counted (estimated now: no tokenizer is waited for at shutdown)."""
        left: list[CallRecord] = []
        while True:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                break
            if call is not None:
                left.append(self.account.entry_of(call, estimate=True))
        with self._idle:
            return [*self._kept, *left]

    def _set_aside(self, calls: list[CallRecord]) -> None:
        try:
            side = self.account.ledger.spill(calls)
        except OSError as exc:
            log.error("%d calls could not be recorded in the usage ledger or set aside: %s", len(calls), exc)
            return
        log.warning("%d calls could not reach the usage ledger in time; set aside in %s (written in next time)",
                    len(calls), side)  # fmt: skip
