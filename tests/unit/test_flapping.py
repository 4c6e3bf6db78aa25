"""Flapping as a pure count of state changes within a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dedupe.flapping import FlapState, record_change

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
QUIET = FlapState(0, None, False)


def run(minutes: list[int], window: float = 1800, threshold: int = 4) -> list[FlapState]:
    state, out = QUIET, []
    for m in minutes:
        state = record_change(state, T0 + timedelta(minutes=m), window, threshold)
        out.append(state)
    return out


@pytest.mark.parametrize(
    ("minutes", "flapping"),
    [
        ([0, 2, 4], [False, False, False]),  # three changes: not yet
        ([0, 2, 4, 6], [False, False, False, True]),  # the fourth within the window
        ([0, 20, 40, 60], [False, False, False, False]),  # spread out: the window restarts
        ([0, 2, 4, 40, 42, 44, 46], [False, False, False, False, False, False, True]),
    ],
)
def test_threshold_within_window(minutes: list[int], flapping: list[bool]) -> None:
    assert [s.flapping for s in run(minutes)] == flapping


def test_flapping_sticks_once_marked_and_the_count_restarts_per_window() -> None:
    states = run([0, 1, 2, 3, 50])
    assert states[3].flapping and states[4].flapping  # stays until the incident settles
    assert (states[4].changes, states[4].window_start) == (1, T0 + timedelta(minutes=50))


def test_threshold_of_one() -> None:
    assert record_change(QUIET, T0, 60, 1).flapping
