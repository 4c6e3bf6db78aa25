"""What a redundancy group's state means for the service: pure, from counted members."""

from __future__ import annotations

from enum import StrEnum


class GroupAction(StrEnum):
    HOLD = "hold"  # the group still carries the service and has no open incident: nothing to do
    OPEN = "open"  # more members down than tolerated: open (or reopen) the service's incident
    LINK = "link"  # still exhausted, incident already open: link the new member fault to it
    RESOLVE = "resolve"  # carried again: resolve the service's incident


def group_transition(down: int, tolerate: int, incident_open: bool) -> GroupAction:
    """`down` distinct members are down now; the group carries the service with up to `tolerate` down."""
    exhausted = down > tolerate
    if exhausted:
        return GroupAction.LINK if incident_open else GroupAction.OPEN
    return GroupAction.RESOLVE if incident_open else GroupAction.HOLD
