"""One model worker process: started, watched (its replies, its stderr, its exit) and ended by the server."""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import subprocess
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from mcp_open.engines.worker.wire import Channel

log = logging.getLogger(__name__)

ENTRY = "mcp_open.engines.worker.main"
PARENT_ENV = "MCP_OPEN_WORKER_PARENT"  # the server's pid: the worker exits if it is not its parent
TAIL_LINES = 12  # stderr lines kept for a crash report
STDERR_DRAIN_SECONDS = 1.0  # after the worker ended, wait this long for its last stderr lines
CLOSE_SECONDS = 2.0  # a worker asked to quit gets this long before it is killed
DIED = "died"

_live: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()


class _Spawner:
    """Starts workers from one thread that lives as long as the server.

    The worker asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG), and Linux means the parent
    *thread*: a worker started from a short-lived pool thread would be killed when that thread retires.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, fn: Callable[[], Any]) -> Any:
        """fn's result (or exception), computed on the spawner thread."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="mcp-open-spawner", daemon=True)
                self._thread.start()
        answer: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._jobs.put((fn, answer))
        ok, value = answer.get()
        if not ok:
            raise value
        return value

    def _serve(self) -> None:
        while True:
            fn, answer = self._jobs.get()
            try:
                answer.put((True, fn()))
            except BaseException as exc:
                answer.put((False, exc))


_spawner = _Spawner()


class WorkerProcess:
    """A running worker: requests go in by id, replies come back to that request's inbox."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._ids = itertools.count(1)
        self._inboxes: dict[int, queue.Queue[tuple[Any, ...]]] = {}
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self.killed_on_purpose = False
        env = {**os.environ, PARENT_ENV: str(os.getpid())}
        self._proc: subprocess.Popen[bytes] = _spawner.run(
            lambda: subprocess.Popen(
                [sys.executable, "-m", ENTRY],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                close_fds=True,
            )
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._channel = Channel(self._proc.stdout, self._proc.stdin)
        self._stderr = threading.Thread(target=self._read_stderr, name=f"worker-stderr-{self.pid}", daemon=True)
        self._stderr.start()
        threading.Thread(target=self._read_replies, name=f"worker-replies-{self.pid}", daemon=True).start()
        _live.add(self)

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._proc.pid

    @property
    def alive(self) -> bool:
        """Whether the worker still runs and answers."""
        return not self._ended.is_set()

    @property
    def returncode(self) -> int | None:
        """How it ended (negative: the signal), once it has."""
        return self._proc.returncode

    def open(self) -> tuple[int, queue.Queue[tuple[Any, ...]]]:
        """A new request id and the inbox its replies arrive in (a dead worker's inbox already holds DIED)."""
        inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        with self._lock:
            rid = next(self._ids)
            self._inboxes[rid] = inbox
            if self._ended.is_set():
                inbox.put((rid, DIED))
        return rid, inbox

    def done(self, rid: int) -> None:
        """Forget a finished request's inbox."""
        with self._lock:
            self._inboxes.pop(rid, None)

    def send(self, message: tuple[Any, ...]) -> None:
        """Send a request; a worker that is gone shows up as DIED in the inbox, not as an error here."""
        try:
            self._channel.send(message)
        except (OSError, ValueError):
            self._ended.wait(STDERR_DRAIN_SECONDS)

    def kill(self) -> None:
        """End the worker now (SIGKILL): a cancel it did not answer, or the server going away."""
        self.killed_on_purpose = True
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def close(self) -> None:
        """Ask the worker to quit (closing its pipe), kill it if it has not within CLOSE_SECONDS."""
        self.killed_on_purpose = True
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(CLOSE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
        _live.discard(self)

    def _read_replies(self) -> None:
        """Route each reply to its request's inbox; when the pipe closes, tell every waiting request."""
        while True:
            try:
                message = self._channel.receive()
            except Exception:  # a torn message from a dying worker
                message = None
            if message is None:
                break
            with self._lock:
                inbox = self._inboxes.get(message[0])
            if inbox is not None:
                inbox.put(message)
        self._proc.wait()
        self._stderr.join(STDERR_DRAIN_SECONDS)
        with self._lock:
            self._ended.set()
            for rid, inbox in self._inboxes.items():
                inbox.put((rid, DIED))
        _live.discard(self)

    def _read_stderr(self) -> None:
        """Pass the worker's stderr on to ours and keep its last lines for a crash report."""
        assert self._proc.stderr is not None
        for raw in iter(self._proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace")
            self.tail.append(line.rstrip("\n"))
            try:
                sys.stderr.write(line)
                sys.stderr.flush()
            except (OSError, ValueError):
                pass


@atexit.register
def _end_all() -> None:
    """No worker outlives a server that exits normally (PR_SET_PDEATHSIG and the pipe cover the other ways)."""
    for worker in list(_live):
        worker.kill()
