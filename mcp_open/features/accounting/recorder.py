"""Calls go into the ledger from one background thread, so counting and writing never delay a result."""

from __future__ import annotations

import logging
import queue
import threading

from mcp_open.features.accounting.account import Account, FinishedCall

log = logging.getLogger(__name__)


class Recorder:
    """A queue of finished calls and the thread that records them; drained on flush and on close."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self._queue: queue.SimpleQueue[FinishedCall | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """Whether calls are waiting or being recorded (their model's tokenizer may be in use)."""
        return self._pending > 0

    def submit(self, call: FinishedCall) -> None:
        """Queue a finished call; returns at once."""
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mcp-open-ledger", daemon=True)
                self._thread.start()
        self._queue.put(call)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued call is in the ledger; False if the timeout came first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Record what is queued, stop the thread and close the ledger."""
        self.flush()
        with self._idle:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()
        self.account.ledger.close()

    def _run(self) -> None:
        while (call := self._queue.get()) is not None:
            try:
                self.account.record(call)
            except Exception:  # a full disk or a locked-out file must not take the server down
                log.exception("could not record a %s call in the ledger at %s", call.tool, self.account.ledger.path)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
