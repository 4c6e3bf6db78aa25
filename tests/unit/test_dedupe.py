"""dedupe: correlation keys, source ordering, and the incident state machine (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors import alertmanager, findings, zabbix
from connectors.alert import Alert, AlertStatus
from dedupe import Action, IncidentView, Notice, Transition, correlation_key, order_of, transition
from tests.unit.util import am_fixture, zbx_fixture

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = 3600.0
F, R, U = AlertStatus.FIRING, AlertStatus.RESOLVED, AlertStatus.UPDATE


def am(name: str, i: int = 0) -> Alert:
    return alertmanager.parse(am_fixture(name))[i]


def zbx(name: str) -> Alert:
    return zabbix.parse(zbx_fixture(name))[0]


# --- correlation keys -------------------------------------------------------------------------------


def test_key_starts_with_the_customer() -> None:
    a = am("firing.json")
    assert correlation_key("acme", a) == "acme/alertmanager/" + alertmanager.problem_id(a.labels)
    assert correlation_key("acme", a).startswith("acme/")


def test_same_alert_for_two_customers_has_two_keys() -> None:
    for a in (am("firing.json"), zbx("problem.json")):
        assert correlation_key("acme", a) != correlation_key("globex", a)
        assert correlation_key("globex", a).startswith("globex/")


def test_firing_and_resolved_share_a_key() -> None:
    assert correlation_key("acme", am("firing.json")) == correlation_key("acme", am("resolved.json"))
    assert correlation_key("acme", am("raid_degraded.json")) == correlation_key("acme", am("raid_resolved.json"))


def test_zabbix_key_is_the_trigger_so_a_relapse_finds_its_incident() -> None:
    keys = {
        correlation_key("acme", zbx(n))
        for n in (
            "problem.json",
            "recovery.json",
            "update_ack.json",
            "problem2.json",
            "update_close.json",
            "recovery_close.json",
        )
    }
    assert keys == {"acme/zabbix/trigger:23133"}


def test_grouped_alerts_have_their_own_keys() -> None:
    keys = [correlation_key("globex", a) for a in alertmanager.parse(am_fixture("grouped_firing.json"))]
    assert len(set(keys)) == 3


def test_key_ignores_severity_and_annotations() -> None:
    a = am("firing.json")
    b = am("firing.json")
    object.__setattr__(b, "annotations", {"summary": "changed"})
    object.__setattr__(b, "severity", "warning")
    assert correlation_key("acme", a) == correlation_key("acme", b)


def test_sources_do_not_share_keys() -> None:
    a = am("firing.json")
    b = Alert(source="zabbix", identity=a.identity, group=a.group, status=F, name="x", title="x")
    assert correlation_key("acme", a) != correlation_key("acme", b)


def test_finding_key_is_place_and_title() -> None:
    [a] = findings.parse({"customer": "acme", "title": "Fan noise", "engineer": "I", "host": "h1"})
    [b] = findings.parse({"customer": "acme", "title": "FAN  noise", "engineer": "J", "host": "h1"})
    assert correlation_key("acme", a) == correlation_key("acme", b)
    assert correlation_key("acme", a).startswith("acme/engineer/")


# --- ordering -------------------------------------------------------------------------------------------


def test_order_of_zabbix_problem_is_the_event_id() -> None:
    assert order_of(zbx("problem.json"), NOW) == 5.0
    assert order_of(zbx("problem2.json"), NOW) == 7.0


def test_order_of_zabbix_recovery_is_the_recovery_id() -> None:
    assert order_of(zbx("recovery.json"), NOW) == 6.0
    assert order_of(zbx("recovery_close.json"), NOW) == 8.0


def test_zabbix_problem_recovery_relapse_grow() -> None:
    seq = [order_of(zbx(n), NOW) for n in ("problem.json", "recovery.json", "problem2.json", "recovery_close.json")]
    assert seq == sorted(seq) and len(set(seq)) == 4


def test_order_of_zabbix_update() -> None:
    assert order_of(zbx("update_ack.json"), NOW) == 5.0


def test_order_of_am_firing_is_starts_at() -> None:
    a = am("firing.json")
    assert a.starts_at is not None
    assert order_of(a, NOW) == a.starts_at.timestamp()


def test_order_of_am_resolved_is_ends_at() -> None:
    a = am("resolved.json")
    assert a.ends_at is not None
    assert order_of(a, NOW) == a.ends_at.timestamp()
    assert order_of(a, NOW) > order_of(am("firing.json"), NOW)  # a resend of the firing state is older


def test_order_of_mixed_group_uses_each_alerts_own_time() -> None:
    alerts = alertmanager.parse(am_fixture("mixed_group.json"))
    assert alerts[0].starts_at and alerts[1].ends_at
    assert order_of(alerts[0], NOW) == alerts[0].starts_at.timestamp()
    assert order_of(alerts[1], NOW) == alerts[1].ends_at.timestamp()


def test_order_of_falls_back_to_arrival() -> None:
    base: dict[str, Any] = {"source": "alertmanager", "identity": "x", "group": "x", "name": "n", "title": "t"}
    assert order_of(Alert(status=F, **base), NOW) == NOW.timestamp()
    assert order_of(Alert(status=R, **base), NOW) == NOW.timestamp()  # resolved without an end
    start = NOW - timedelta(hours=1)
    assert order_of(Alert(status=R, starts_at=start, **base), NOW) == NOW.timestamp()
    assert order_of(Alert(status=U, starts_at=start, **base), NOW) == NOW.timestamp()
    assert order_of(Alert(status=F, starts_at=start, **base), NOW) == start.timestamp()


def test_order_of_prefers_source_seq_over_times() -> None:
    a = Alert(
        source="zabbix",
        identity="9",
        group="g",
        status=F,
        name="n",
        title="t",
        source_seq=9,
        starts_at=NOW - timedelta(days=1),
    )
    assert order_of(a, NOW) == 9.0


# --- the state machine -------------------------------------------------------------------------------------


def inc(
    state: str = "open", kind: str = "incident", resolved_ago: float | None = None, other: int = 0, sent: bool = True
) -> IncidentView:
    resolved_at = NOW - timedelta(seconds=resolved_ago) if resolved_ago is not None else None
    return IncidentView(state=state, kind=kind, resolved_at=resolved_at, other_firing=other, affected_notice_sent=sent)


def run(incident: IncidentView | None, was: AlertStatus | None, arriving: AlertStatus, **kw: Any) -> Transition:
    kw.setdefault("kind", "incident")
    kw.setdefault("now", NOW)
    kw.setdefault("reopen_window", WINDOW)
    return transition(incident, was, arriving, **kw)


# (id, incident, alert_was, arriving, keyword args, action, notice, flags): flags "c" counts, "s" alert state changed
A = Action
AFF, RES = Notice.AFFECTED, Notice.RESTORED
TABLE = [
    # firing
    ("new-incident", None, None, F, {"kind": "incident"}, A.OPEN, AFF, "cs"),
    ("new-fault", None, None, F, {"kind": "fault"}, A.OPEN, None, "cs"),
    ("new-alert-old-row", None, R, F, {"kind": "incident"}, A.OPEN, AFF, "cs"),
    ("repeat", inc(), F, F, {}, A.REPEAT, None, "c"),
    ("repeat-fault", inc(kind="fault"), F, F, {"kind": "fault"}, A.REPEAT, None, "c"),
    ("attach-new-alert", inc(other=1), None, F, {}, A.ATTACH, None, "cs"),
    ("attach-after-own-recovery", inc(other=2), R, F, {}, A.ATTACH, None, "cs"),
    ("reopen-within-window", inc("resolved", resolved_ago=600), R, F, {}, A.REOPEN, AFF, "cs"),
    ("reopen-at-window-edge", inc("resolved", resolved_ago=WINDOW), R, F, {}, A.REOPEN, AFF, "cs"),
    # never told (the blip stayed under the hold-down): a relapse is news to the curator
    ("reopen-no-notice-was-sent", inc("resolved", resolved_ago=60, sent=False), R, F, {}, A.REOPEN, AFF, "cs"),
    ("reopen-fault", inc("resolved", "fault", 60, sent=False), R, F, {"kind": "fault"}, A.REOPEN, None, "cs"),
    ("supersede-after-window", inc("resolved", resolved_ago=WINDOW + 1), R, F, {}, A.SUPERSEDE, AFF, "cs"),
    (
        "supersede-after-window-fault",
        inc("resolved", resolved_ago=WINDOW * 5),
        R,
        F,
        {"kind": "fault"},
        A.SUPERSEDE,
        None,
        "cs",
    ),
    ("supersede-after-closed", inc("closed"), R, F, {}, A.SUPERSEDE, AFF, "cs"),
    ("supersede-after-closed-fault", inc("closed", "fault"), F, F, {"kind": "fault"}, A.SUPERSEDE, None, "cs"),
    ("supersede-resolved-without-time", inc("resolved"), R, F, {}, A.SUPERSEDE, AFF, "cs"),
    ("reopen-window-zero", inc("resolved", resolved_ago=1), R, F, {"reopen_window": 0}, A.SUPERSEDE, AFF, "cs"),
    # resolved
    ("resolve-incident-notice-sent", inc(), F, R, {}, A.RESOLVE, RES, "s"),
    ("resolve-incident-no-notice-sent", inc(sent=False), F, R, {}, A.RESOLVE, None, "s"),
    ("resolve-fault", inc(kind="fault", sent=True), F, R, {"kind": "fault"}, A.RESOLVE, None, "s"),
    ("detach", inc(other=2), F, R, {}, A.DETACH, None, "s"),
    ("recovery-of-unknown-no-incident", None, None, R, {}, A.IGNORE, None, ""),
    ("recovery-of-unknown-alert", inc(), None, R, {}, A.IGNORE, None, ""),
    ("recovery-no-incident-known-alert", None, F, R, {}, A.IGNORE, None, ""),
    ("recovery-repeated", inc(), R, R, {}, A.REPEAT, None, ""),
    ("recovery-repeated-resolved", inc("resolved", resolved_ago=10), R, R, {}, A.REPEAT, None, ""),
    ("recovery-incident-already-resolved", inc("resolved", resolved_ago=10), F, R, {}, A.REPEAT, None, "s"),
    ("recovery-incident-already-closed", inc("closed"), F, R, {}, A.REPEAT, None, "s"),
    # stale
    ("stale-firing", inc(), R, F, {"stale": True}, A.IGNORE, None, ""),
    ("stale-resolved", inc(), F, R, {"stale": True}, A.IGNORE, None, ""),
    ("stale-new", None, None, F, {"stale": True}, A.IGNORE, None, ""),
    # updates
    ("update-note", inc(), F, U, {}, A.NOTE, None, ""),
    ("update-note-resolved", inc("resolved", resolved_ago=10), R, U, {}, A.NOTE, None, ""),
    ("update-closes", inc(), F, U, {"closes": True}, A.RESOLVE, RES, "s"),
    ("update-closes-no-notice-sent", inc(sent=False), F, U, {"closes": True}, A.RESOLVE, None, "s"),
    ("update-closes-fault", inc(kind="fault"), F, U, {"closes": True, "kind": "fault"}, A.RESOLVE, None, "s"),
    ("update-closes-others-firing", inc(other=1), F, U, {"closes": True}, A.NOTE, None, ""),
    ("update-closes-already-resolved", inc("resolved", resolved_ago=5), R, U, {"closes": True}, A.NOTE, None, ""),
    ("update-closes-closed", inc("closed"), F, U, {"closes": True}, A.NOTE, None, ""),
    ("update-without-incident", None, None, U, {}, A.IGNORE, None, ""),
    ("update-closes-without-incident", None, F, U, {"closes": True}, A.IGNORE, None, ""),
]


@pytest.mark.parametrize(
    ("incident", "was", "arriving", "kw", "action", "notice", "flags"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_transition(
    incident: IncidentView | None,
    was: AlertStatus | None,
    arriving: AlertStatus,
    kw: dict[str, Any],
    action: Action,
    notice: Notice | None,
    flags: str,
) -> None:
    t = run(incident, was, arriving, **kw)
    expected = (action, notice, "c" in flags, "s" in flags)
    assert (t.action, t.notice, t.counts, t.alert_state_changed) == expected, t.why
    assert t.why


def test_every_action_is_reachable_from_the_table() -> None:
    assert {row[5] for row in TABLE} == set(Action)


def test_why_explains() -> None:
    assert "stale" in run(inc(), F, F, stale=True).why
    assert run(inc(other=3), F, R).why == "alert resolved; 3 other alert(s) still firing"
    assert run(inc("resolved", resolved_ago=600), R, F).why == "relapse 600s after recovery (window 3600s)"
    assert "past the reopen window" in run(inc("resolved", resolved_ago=7200), R, F).why
    assert run(inc("closed"), R, F).why == "relapse after the incident was closed"
    assert run(inc("closed"), F, R).why == "alert resolved; incident already closed"
    assert run(None, None, U).why == "update for an alert without an incident"
    assert run(inc(), F, U, closes=True).why == "closed at the source"


def test_reopen_notice_follows_the_stored_incident_not_the_arriving_kind() -> None:
    # the stored incident told the curator: a relapse tells them again whatever the new verdict
    assert run(inc("resolved", resolved_ago=60), R, F, kind="fault").notice is Notice.AFFECTED
    # a stored fault never told anyone
    assert run(inc("resolved", kind="fault", resolved_ago=60, sent=False), R, F, kind="incident").notice is None


def test_supersede_notice_follows_the_arriving_kind() -> None:
    assert run(inc("closed", kind="fault"), R, F, kind="incident").notice is Notice.AFFECTED
    assert run(inc("closed", kind="incident"), R, F, kind="fault").notice is None


def test_transition_is_pure() -> None:
    i = inc()
    assert run(i, F, R) == run(i, F, R)
    assert i == inc()


# --- the lifecycle the fixtures describe ---------------------------------------------------------------------


def test_zabbix_story() -> None:
    """problem 5 -> ack -> recovery 6 -> problem 7 (relapse) -> close update -> recovery 8."""
    open_ = run(None, None, zbx("problem.json").status, kind="fault")
    assert (open_.action, open_.notice) == (Action.OPEN, None)
    ack = zbx("update_ack.json")
    assert (
        run(
            inc(kind="fault", sent=False),
            F,
            ack.status,
            closes=ack.update.closes if ack.update else False,
            kind="fault",
        ).action
        is Action.NOTE
    )
    rec = run(inc(kind="fault", sent=False), F, zbx("recovery.json").status, kind="fault")
    assert (rec.action, rec.notice) == (Action.RESOLVE, None)
    # problem2 is a new event id (alert never seen) on the same trigger: a relapse of the resolved incident
    relapse = run(
        inc("resolved", kind="fault", resolved_ago=3, sent=False), None, zbx("problem2.json").status, kind="fault"
    )
    assert relapse.action is Action.REOPEN
    close = zbx("update_close.json")
    assert close.update is not None and close.update.closes
    closed = run(inc(kind="fault", sent=False), F, close.status, closes=True, kind="fault")
    assert closed.action is Action.RESOLVE
    late = run(
        inc("resolved", kind="fault", resolved_ago=2, sent=False), F, zbx("recovery_close.json").status, kind="fault"
    )
    assert late.action is Action.REPEAT


def test_alertmanager_story() -> None:
    fire = run(None, None, am("firing.json").status)
    assert (fire.action, fire.notice) == (Action.OPEN, Notice.AFFECTED)
    assert run(inc(), F, am("firing.json").status).action is Action.REPEAT
    res = run(inc(), F, am("resolved.json").status)
    assert (res.action, res.notice) == (Action.RESOLVE, Notice.RESTORED)
    # a resend of the firing state after the resolution is older by the source's clock: stale
    stale = order_of(am("firing.json"), NOW) < order_of(am("resolved.json"), NOW)
    assert run(inc("resolved", resolved_ago=5), R, F, stale=stale).action is Action.IGNORE
