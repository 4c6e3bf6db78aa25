"""The incident state machine: (incident as stored, alert as it was, what arrived) -> what to do.

Pure: no clock, no database. The bridge persists the result inside one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from connectors.alert import AlertStatus


class Action(StrEnum):
    OPEN = "open"  # no incident for this key: open one (and its ticket)
    REPEAT = "repeat"  # the same state again: count it, nothing else
    ATTACH = "attach"  # another alert (or this one again) fires on an open incident
    DETACH = "detach"  # an alert of an incident resolved, others still fire
    RESOLVE = "resolve"  # the last firing alert resolved: resolve the incident
    REOPEN = "reopen"  # a relapse within the reopen window: the same incident again
    SUPERSEDE = "supersede"  # a relapse after the window (or after a close): close it, open a new one
    NOTE = "note"  # an update from the source (acknowledge, comment): an internal article
    IGNORE = "ignore"  # nothing to do (stale resend, recovery of an unknown alert)


class Notice(StrEnum):
    AFFECTED = "affected"
    RESTORED = "restored"


@dataclass(frozen=True, slots=True)
class IncidentView:
    """What the state machine needs to know of a stored incident."""

    state: str  # open | resolved | closed
    kind: str  # incident | fault
    resolved_at: datetime | None
    other_firing: int  # alerts of this incident still firing, not counting the one arriving
    affected_notice_sent: bool  # an "affected" notice was queued for the current episode


@dataclass(frozen=True, slots=True)
class Transition:
    action: Action
    why: str
    notice: Notice | None = None
    counts: bool = False  # counts as an occurrence
    alert_state_changed: bool = False


def transition(
    incident: IncidentView | None,
    alert_was: AlertStatus | None,
    arriving: AlertStatus,
    *,
    kind: str,
    closes: bool = False,
    stale: bool = False,
    now: datetime,
    reopen_window: float,
) -> Transition:
    """Decide what an arriving alert state does to its incident.

    `alert_was` is the alert's stored status (None: never seen); `kind` is what the classifier made
    of the arriving alert (a new incident of kind "incident" tells the curator); `stale` means the
    source's own ordering says this is an old state resent after a newer one.
    """
    if stale:
        return Transition(Action.IGNORE, "stale resend: the source already sent a newer state of this alert")
    if arriving is AlertStatus.UPDATE:
        if incident is None:
            return Transition(Action.IGNORE, "update for an alert without an incident")
        if closes and incident.state == "open" and incident.other_firing == 0:
            return Transition(Action.RESOLVE, "closed at the source", _restored(incident), alert_state_changed=True)
        return Transition(Action.NOTE, "update from the source")
    if arriving is AlertStatus.RESOLVED:
        if incident is None or alert_was is None:
            return Transition(Action.IGNORE, "recovery of an alert that opened no incident")
        if alert_was is AlertStatus.RESOLVED:
            return Transition(Action.REPEAT, "recovery repeated")
        if incident.state != "open":
            return Transition(
                Action.REPEAT, f"alert resolved; incident already {incident.state}", alert_state_changed=True
            )
        if incident.other_firing > 0:
            return Transition(
                Action.DETACH,
                f"alert resolved; {incident.other_firing} other alert(s) still firing",
                alert_state_changed=True,
            )
        return Transition(Action.RESOLVE, "recovered", _restored(incident), alert_state_changed=True)
    # firing
    if incident is None:
        return Transition(Action.OPEN, "new problem", _affected(kind), counts=True, alert_state_changed=True)
    if incident.state == "open":
        if alert_was is AlertStatus.FIRING:
            return Transition(Action.REPEAT, "repeat of a firing alert", counts=True)
        return Transition(Action.ATTACH, "alert fires on the open incident", counts=True, alert_state_changed=True)
    if incident.state == "resolved" and incident.resolved_at is not None:
        age = (now - incident.resolved_at).total_seconds()
        if age <= reopen_window:
            # the curator hears of a relapse like of a new outage (the notice says "again" if they were told before)
            notice = Notice.AFFECTED if incident.kind == "incident" else None
            return Transition(
                Action.REOPEN,
                f"relapse {int(age)}s after recovery (window {int(reopen_window)}s)",
                notice,
                counts=True,
                alert_state_changed=True,
            )
        return Transition(
            Action.SUPERSEDE,
            f"relapse {int(age)}s after recovery, past the reopen window",
            _affected(kind),
            counts=True,
            alert_state_changed=True,
        )
    return Transition(
        Action.SUPERSEDE,
        f"relapse after the incident was {incident.state}",
        _affected(kind),
        counts=True,
        alert_state_changed=True,
    )


def _affected(kind: str) -> Notice | None:
    """A new incident tells the curator only when it is service-affecting; a silent fault never."""
    return Notice.AFFECTED if kind == "incident" else None


def _restored(incident: IncidentView) -> Notice | None:
    return Notice.RESTORED if incident.kind == "incident" and incident.affected_notice_sent else None
