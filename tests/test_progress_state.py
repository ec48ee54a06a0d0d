"""Progress values: real progress as is, heartbeats strictly above the last value but below the next unit."""

from __future__ import annotations

import itertools

from mcp_open.runtime.calls import HEARTBEAT_CAP, ProgressState


def test_reports_strictly_increase_while_nothing_happens() -> None:
    state = ProgressState()
    values = [state.next_report()[0] for _ in range(50)]
    assert values[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(values))
    assert values[-1] < 1.0


def test_real_progress_is_reported_as_is_and_never_goes_back() -> None:
    state = ProgressState()
    state.next_report()
    state.update(5, 100, "5/100 tokens")
    assert state.next_report() == (5.0, 100.0, "5/100 tokens")
    state.update(3, 100)  # a later phase restarting its own count does not move the value back
    nudged = state.next_report()[0]
    assert 5.0 < nudged < 6.0


def test_nudges_stop_below_the_next_unit() -> None:
    state = ProgressState()
    values = [state.next_report()[0] for _ in range(5000)]
    assert max(values) <= HEARTBEAT_CAP
    assert values == sorted(values)
