"""Download progress: a drawn tqdm bar for `models pull`, short messages every few seconds for tool calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

REPORT_EVERY_S = 2.0
Progress = Callable[[str], None]
BarFactory = Callable[[str], type[Any]]


class ReportingBar(tqdm):
    """A silent progress bar that turns download progress into short messages every few seconds."""

    label = ""
    every_s = REPORT_EVERY_S

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)
        self.done = 0.0
        self.last = 0.0

    def notify(self, message: str) -> None:
        """Where messages go; replaced per download."""

    def update(self, n: float | None = 1) -> bool | None:
        """Count bytes and report now and then."""
        self.done += n or 0
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            self.notify(f"downloading {self.label}: {progress_text(self.done, self.total)}")
        return bool(super().update(n))


def progress_text(done: float, total: float | None) -> str:
    """'41% of 2.5 GB' or '1.2 GB' when the total is unknown."""
    if not total:
        return f"{done / 1e9:.1f} GB"
    return f"{100 * done / total:.0f}% of {total / 1e9:.1f} GB"


def reporting_bar(report: Progress) -> BarFactory:
    """A factory of per-file bar classes that send progress to `report` every REPORT_EVERY_S."""

    def make(label: str) -> type[Any]:
        members = {"label": label, "every_s": REPORT_EVERY_S, "notify": lambda self, m: report(m)}
        return type("_Bar", (ReportingBar,), members)

    return make


def visible_bar(_label: str) -> type[Any]:
    """The plain tqdm bar, drawn on stderr."""
    return tqdm


def ignore(_message: str) -> None:
    """A progress callback that drops messages."""
