"""The walking pipeline on a real database (SQLite and PostgreSQL) and a real SMTP server."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from tests.conftest import fixture_json, load_settings
from tests.integration import bodies
from tests.integration.api import ENG, Api

ACME = "curator@acme.example"
GLOBEX = "it-manager@globex.example"


@pytest.fixture
async def api(database_url: str, mailbox: Any, service_factory: Any) -> Api:
    svc = await service_factory(load_settings(database_url, mailbox.url))
    return Api(svc)


async def test_outage_opens_one_incident_ticket_and_one_mail_then_restored(api: Api, mailbox: Any) -> None:
    status, body = await api.am(bodies.website())
    assert status == 200, body
    assert body["status"] == "accepted" and body["alerts"][0]["action"] == "open"
    [inc] = await api.incidents(customer="acme")
    assert (inc["kind"], inc["customer"], inc["service"], inc["state"]) == ("incident", "acme", "website", "open")
    assert inc["origin"] == "monitoring" and inc["requester"] == "Monitoring"
    assert inc["rule"] == "endpoint-down" and inc["ticket"] and inc["priority"] == "critical"
    assert inc["curator_notified"] is False
    assert await api.deliver() == 1
    [mail] = mailbox.to(ACME)
    assert mail["subject"].startswith("[Acme Ltd] Service affected") and inc["ticket"] in mail["subject"]
    assert "Company website" in mail["body"] and "is down" in mail["body"]
    assert mail["headers"]["Auto-Submitted"] == "auto-generated"
    inc = await api.incident(inc["id"])
    assert inc["curator_notified"] is True

    ticket = await api.ticket(inc["ticket"])
    assert ticket["queue"] == "Incidents" and ticket["requester"] == "Monitoring" and ticket["origin"] == "monitoring"
    visible = [a for a in ticket["articles"] if a["visible_to_customer"]]
    assert len(visible) == 1 and "Service affected" in visible[0]["body"]

    for _ in range(5):
        status, body = await api.am(bodies.website())
        assert status == 200 and body["alerts"][0]["action"] == "repeat"
    assert await api.deliver() == 0
    [inc] = await api.incidents(customer="acme")
    assert inc["occurrences"] == 6
    assert len(mailbox.to(ACME)) == 1
    assert len((await api.ticket(inc["ticket"]))["articles"]) == len(ticket["articles"])  # repeats add none

    status, body = await api.am(bodies.website("resolved"))
    assert status == 200 and body["alerts"][0]["action"] == "resolve"
    [inc] = await api.incidents(customer="acme", state="resolved")
    assert inc["resolved_at"]
    assert (await api.ticket(inc["ticket"]))["state"] == "resolved"
    assert await api.deliver() == 1
    first, second = mailbox.to(ACME)
    assert "Service restored" in second["subject"]
    assert second["headers"]["In-Reply-To"] == first["message_id"]

    # a resend of the old firing state (same startsAt) after the recovery changes nothing
    status, body = await api.am(bodies.website())
    assert body["alerts"][0]["action"] == "ignore"
    assert (await api.incidents(customer="acme"))[0]["state"] == "resolved"


async def test_relapse_within_window_reopens_the_same_incident(api: Api, mailbox: Any) -> None:
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    await api.deliver()
    status, body = await api.am(bodies.website(starts="2026-11-23T10:30:00Z"))
    assert body["alerts"][0]["action"] == "reopen"
    [inc] = await api.incidents(customer="acme")
    assert inc["state"] == "open" and inc["reopened"] == 1 and inc["resolved_at"] is None
    await api.deliver()
    subjects = [m["subject"] for m in mailbox.to(ACME)]
    assert len(subjects) == 2  # told of it a moment ago: the relapse notice waits out min_notice_interval
    again = [r for r in await api.outbox() if r["state"] == "pending"]
    assert len(again) == 1 and "affected again" in again[0]["payload"]["subject"]
    first = (await api.outbox())[0]
    waits = (again[0]["next_attempt_at"] - first["next_attempt_at"]).total_seconds()
    assert 899 <= waits <= 901  # 15 minutes after the first "affected" notice
    # and if it recovers before then, the curator is spared both the relapse and its recovery
    await api.am(bodies.website("resolved", starts="2026-11-23T10:30:00Z", ends="2026-11-23T10:35:00Z"))
    await api.deliver()
    assert len(mailbox.to(ACME)) == 2
    assert {r["state"] for r in await api.outbox()} == {"delivered", "cancelled"}


async def test_zabbix_raid_degraded_is_a_silent_fault(api: Api, mailbox: Any) -> None:
    status, body = await api.zbx(fixture_json("zabbix/problem.json"))
    assert status == 200, body
    assert body["incident_id"] and body["ticket"]  # the media type turns these into event tags
    [f] = await api.incidents(customer="acme")
    assert (f["kind"], f["service"], f["rule"], f["state"]) == ("fault", "fileserver", "raid-degraded", "open")
    status, _ = await api.zbx(fixture_json("zabbix/update_ack.json"))
    assert status == 200
    ticket = await api.ticket(f["ticket"])
    assert ticket["queue"] == "Faults" and ticket["state"] == "in_progress"  # acknowledged in Zabbix: taken
    taken = await api.incident(f["id"])
    assert taken["stage"] == "in_progress" and taken["acknowledged_by"] == "(bridge-api)"
    bodies_ = [a["body"] for a in ticket["articles"]]
    assert any("acknowledged" in b and "Incident INC-5 opened by bridge" in b for b in bodies_)
    assert not any(a["visible_to_customer"] for a in ticket["articles"])
    status, body = await api.zbx(fixture_json("zabbix/recovery.json"))
    assert body["alerts"][0]["action"] == "resolve"
    [f] = await api.incidents(customer="acme")
    assert f["state"] == "resolved"
    # the problem resent after its recovery is stale
    status, body = await api.zbx(fixture_json("zabbix/problem.json"))
    assert body["alerts"][0]["action"] == "ignore"
    assert await api.deliver() == 0
    assert mailbox.messages == []


async def test_zabbix_relapse_is_the_same_incident_and_manual_close_resolves(api: Api) -> None:
    await api.zbx(fixture_json("zabbix/problem.json"))
    await api.zbx(fixture_json("zabbix/recovery.json"))
    status, body = await api.zbx(fixture_json("zabbix/problem2.json"))  # new event id, same trigger
    assert body["alerts"][0]["action"] == "reopen"
    [f] = await api.incidents(customer="acme")
    detail = await api.incident(f["id"])
    assert [a["identity"] for a in detail["alerts"]] == ["5", "7"]
    status, body = await api.zbx(fixture_json("zabbix/update_close.json"))
    assert body["alerts"][0]["action"] == "resolve"
    status, body = await api.zbx(fixture_json("zabbix/recovery_close.json"))
    assert status == 200 and body["alerts"][0]["action"] in ("repeat", "ignore")
    [f] = await api.incidents(customer="acme")
    assert f["state"] == "resolved"


async def test_grouped_body_resolves_alert_by_alert(api: Api) -> None:
    status, body = await api.am(fixture_json("alertmanager/grouped_firing.json"))
    assert status == 200 and [a["action"] for a in body["alerts"]] == ["open"] * 3
    assert len(await api.incidents(customer="globex", kind="fault")) == 3
    status, body = await api.am(fixture_json("alertmanager/mixed_group.json"))
    assert sorted(a["action"] for a in body["alerts"]) == ["repeat", "repeat", "resolve"]
    status, body = await api.am(fixture_json("alertmanager/grouped_resolved.json"))
    assert [a["action"] for a in body["alerts"]] == ["resolve", "resolve"]
    assert len(await api.incidents(customer="globex", state="resolved")) == 3


async def test_engineer_finding(api: Api, mailbox: Any) -> None:
    finding = {
        "customer": "acme",
        "service": "fileserver",
        "host": "acme-db01",
        "engineer": "Ivan Petrov",
        "title": "Backup job fails every night",
        "description": "ENOSPC on the NAS target",
        "service_affecting": False,
    }
    status, body = await api.post("/api/v1/findings", finding, ENG)
    assert status == 200, body
    [inc] = await api.incidents(origin="engineer")
    assert (inc["kind"], inc["requester"], inc["rule"]) == ("fault", "Ivan Petrov", "engineer-judgement")
    ticket = await api.ticket(inc["ticket"])
    assert ticket["origin"] == "engineer" and ticket["requester"] == "Ivan Petrov" and ticket["queue"] == "Faults"
    # the same finding logged again is the same incident
    status, body = await api.post("/api/v1/findings", {**finding, "title": "  backup job FAILS every night"}, ENG)
    assert body["alerts"][0]["action"] == "repeat"
    assert len(await api.incidents(origin="engineer")) == 1
    # a service-affecting finding tells the curator, as the engineer's own finding
    urgent = {
        **finding,
        "service": "website",
        "host": None,
        "title": "Checkout page returns 500 for EU customers",
        "service_affecting": True,
    }
    urgent.pop("host")
    status, body = await api.post("/api/v1/findings", urgent, ENG)
    assert status == 200 and body["alerts"][0]["kind"] == "incident"
    await api.deliver()
    assert len(mailbox.to(ACME)) == 1 and "Checkout page" in mailbox.to(ACME)[0]["body"]


async def test_tenants_are_kept_apart(api: Api, mailbox: Any) -> None:
    await api.am(
        bodies.body(
            [
                bodies.alert(
                    bodies.MAIL_DOWN,
                    {"summary": "mx1 does not accept SMTP"},
                    expr='probe_success{job="blackbox-smtp"} == 0',
                )
            ]
        )
    )
    await api.am(bodies.website())
    # the same labels but another customer: another incident, never shared
    other = {**bodies.WEBSITE_DOWN, "customer": "globex", "service": "mail"}
    await api.am(bodies.body([bodies.alert(other, {"summary": "down"})]))
    acme, globex = await api.incidents(customer="acme"), await api.incidents(customer="globex")
    assert len(acme) == 1 and len(globex) == 2
    assert {i["key"].split("/")[0] for i in acme} == {"acme"} and {i["key"].split("/")[0] for i in globex} == {"globex"}
    await api.deliver()
    assert len(mailbox.to(ACME)) == 1 and len(mailbox.to(GLOBEX)) == 2
    ru = mailbox.to(GLOBEX)[0]
    assert "Нарушена работа сервиса" in ru["subject"]


async def test_fifty_identical_alerts_at_once_open_one_incident(api: Api, mailbox: Any) -> None:
    results = await asyncio.gather(*[api.am(bodies.website()) for _ in range(50)])
    assert {s for s, _ in results} == {200}
    assert sorted(b["alerts"][0]["action"] for _, b in results).count("open") == 1
    [inc] = await api.incidents()
    assert inc["occurrences"] == 50
    assert len(await api.outbox()) == 1
    await api.deliver()
    assert len(mailbox.to(ACME)) == 1


async def test_unmatched_alert_is_refused_or_collected(database_url: str, service_factory: Any) -> None:
    stray = bodies.body([bodies.alert({"alertname": "HostDown", "instance": "10.9.9.9:9100"}, {"summary": "down"})])
    api = Api(await service_factory(load_settings(database_url)))
    status, body = await api.am(stray)
    assert status == 422 and body["error"] == "no_customer"
    assert (await api.counts())["alert_events"] == 0
    api2 = Api(await service_factory(load_settings(database_url, unmatched_customer="acme")))
    status, body = await api2.am(stray)
    assert status == 200 and body["alerts"][0]["customer"] == "acme"


async def test_mixed_known_and_unknown_customer_stores_nothing(api: Api) -> None:
    good = bodies.alert(bodies.WEBSITE_DOWN, bodies.WEBSITE_ANN)
    bad = bodies.alert({**bodies.WEBSITE_DOWN, "customer": "initech"}, bodies.WEBSITE_ANN)
    status, body = await api.am(bodies.body([good, bad]))
    assert status == 422 and body["error"] == "unknown_customer" and body["customer"] == "initech"
    assert all(v == 0 for v in (await api.counts()).values())


async def test_stale_firing_resend_after_resolution_of_a_copy(api: Api) -> None:
    body = copy.deepcopy(fixture_json("alertmanager/firing.json"))
    await api.am(body)
    await api.am(fixture_json("alertmanager/resolved.json"))
    status, out = await api.am(body)
    assert out["alerts"][0]["action"] == "ignore"


async def test_severity_variants_of_one_problem_are_one_incident(api: Api, mailbox: Any) -> None:
    warn = {**bodies.WEBSITE_DOWN, "severity": "warning"}
    crit = {**bodies.WEBSITE_DOWN, "severity": "critical"}
    await api.am(bodies.body([bodies.alert(warn, bodies.WEBSITE_ANN)]))
    status, body = await api.am(bodies.body([bodies.alert(crit, bodies.WEBSITE_ANN)]))
    assert body["alerts"][0]["action"] == "attach"
    [inc] = await api.incidents()
    assert len((await api.incident(inc["id"]))["alerts"]) == 2
    status, body = await api.am(bodies.body([bodies.alert(warn, bodies.WEBSITE_ANN, "resolved")]))
    assert body["alerts"][0]["action"] == "detach"
    assert (await api.incident(inc["id"]))["state"] == "open"
    status, body = await api.am(bodies.body([bodies.alert(crit, bodies.WEBSITE_ANN, "resolved")]))
    assert body["alerts"][0]["action"] == "resolve"
    await api.deliver()
    assert len(mailbox.to(ACME)) == 2


@pytest.mark.postgres
async def test_ticket_numbers_past_six_digits_match_their_ticket(pg_database_url: str, service_factory: Any) -> None:
    """A ticket's number is its id padded to six digits; longer ids keep every digit (PostgreSQL writes the
    number in the statement that creates the ticket)."""
    import psycopg

    with psycopg.connect(pg_database_url, autocommit=True) as c:
        c.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), 1234566)")
    api = Api(await service_factory(load_settings(pg_database_url)))
    status, body = await api.am(bodies.website())
    assert status == 200, body
    [inc] = await api.incidents(customer="acme")
    assert inc["ticket"].endswith("1234567") and not inc["ticket"].endswith("01234567")
    ticket = await api.ticket(inc["ticket"])
    assert ticket["number"] == inc["ticket"] and ticket["articles"][0]["body"].startswith("Opened by monitoring")
    with psycopg.connect(pg_database_url, autocommit=True) as c:
        c.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), 40)")
    status, body = await api.am(bodies.website(alertname="MailQueueStuck"))
    assert status == 200, body
    numbers = sorted(i["ticket"] for i in await api.incidents(customer="acme"))
    assert any(n.endswith("000041") for n in numbers), numbers


async def test_update_pair_writes_both_rows(api: Api) -> None:
    """The incident's update and its alert's, in one statement on PostgreSQL and two on SQLite, each with its
    own values (counters added to, plain values set) and nothing else changed."""
    from sqlalchemy import select

    from bridge.schema import alerts, incidents
    from bridge.statements import Inc, update_pair

    await api.am(bodies.website())
    [inc] = await api.incidents()
    async with api.svc.db.read() as conn:
        alert_id, seen = (await conn.execute(select(alerts.c.id, alerts.c.occurrences))).one()
    async with api.svc.db.transaction() as conn:
        await update_pair(
            conn,
            (incidents, inc["id"], {"occurrences": Inc(5), "title": "paired"}),
            (alerts, alert_id, {"occurrences": Inc(2), "severity": "paired"}),
        )
    async with api.svc.db.read() as conn:
        got_inc = (await conn.execute(select(incidents.c.occurrences, incidents.c.title))).one()
        got_alert = (await conn.execute(select(alerts.c.occurrences, alerts.c.severity, alerts.c.title))).one()
    assert tuple(got_inc) == (inc["occurrences"] + 5, "paired")
    assert got_alert[:2] == (seen + 2, "paired") and got_alert[2] != "paired"
