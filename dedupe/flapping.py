"""Flapping: an incident whose state changes too often within a window (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FlapState:
    changes: int  # state changes counted in the current window
    window_start: datetime | None
    flapping: bool


def record_change(state: FlapState, now: datetime, window: float, threshold: int) -> FlapState:
    """Count one state change (recovered, fires again). `threshold` changes within `window` seconds make
    the incident flapping; it stays so until it settles (see `bridge.timers`)."""
    if state.window_start is None or (now - state.window_start).total_seconds() > window:
        return FlapState(1, now, state.flapping or threshold <= 1)
    changes = state.changes + 1
    return FlapState(changes, state.window_start, state.flapping or changes >= threshold)
