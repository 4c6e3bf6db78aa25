"""Contract deadlines: each incident carries them, a breach is recorded once (an internal article and a
metric), an engineer's acknowledgement meets the reaction deadline."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import fixture_json, load_settings
from tests.integration import bodies
from tests.integration.api import AM, ENG, Api


@pytest.fixture
async def api(database_url: str, service_factory: Any) -> Api:
    return Api(await service_factory(load_settings(database_url)))


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_deadlines_breach_once_and_show_everywhere(api: Api, database_url: str, service_factory: Any) -> None:
    await api.am(bodies.website())
    [inc] = await api.incidents()
    opened = ts(inc["opened_at"])
    assert inc["priority"] == "critical"
    assert ts(inc["reaction_due"]) - opened == timedelta(minutes=15)  # acme: 24x7, critical reaction 15m
    assert ts(inc["resolution_due"]) - opened == timedelta(hours=4)
    other = Api(await service_factory(load_settings(database_url)))  # a second replica sweeping too
    later = opened + timedelta(minutes=16)
    found = await asyncio.gather(api.svc.sla.sweep(later), other.svc.sla.sweep(later))
    assert sum(found) == 1
    inc = await api.incident(inc["id"])
    assert inc["reaction_breached_at"] and inc["resolution_breached_at"] is None
    assert await api.svc.sla.sweep(later + timedelta(minutes=1)) == 0
    assert await api.svc.sla.sweep(opened + timedelta(hours=5)) == 1
    arts = [a["body"] for a in (await api.ticket(inc["ticket"]))["articles"] if "SLA breach" in a["body"]]
    assert len(arts) == 2 and "reaction deadline" in arts[0] and "resolution deadline" in arts[1]
    _, text = await api.get("/metrics", token=None)
    _, other_text = await other.get("/metrics", token=None)
    counted = 'alertbridge_sla_breaches_total{customer="acme",kind="reaction"} 1.0'
    assert (counted in text) != (counted in other_text)  # counted once, by the replica that recorded it
    assert 'alertbridge_sla_breached_open{kind="resolution"} 1.0' in text


async def test_acknowledgement_meets_the_reaction_deadline(api: Api) -> None:
    await api.am(bodies.website())
    [inc] = await api.incidents()
    status, body = await api.post(
        f"/api/v1/incidents/{inc['id']}/acknowledge", {"engineer": "Ivan Petrov", "note": "on it"}, ENG
    )
    assert status == 200 and body["acknowledged_at"]
    assert await api.svc.sla.sweep(ts(inc["opened_at"]) + timedelta(minutes=20)) == 0
    arts = (await api.ticket(inc["ticket"]))["articles"]
    assert any(a["author"] == "Ivan Petrov" and "on it" in a["body"] and not a["visible_to_customer"] for a in arts)
    # bad input
    assert (await api.post(f"/api/v1/incidents/{inc['id']}/acknowledge", {"engineer": "x"}, AM))[0] == 403
    assert (await api.post(f"/api/v1/incidents/{inc['id']}/acknowledge", {}, ENG))[0] == 422
    assert (await api.post("/api/v1/incidents/99999/acknowledge", {"engineer": "x"}, ENG))[0] == 404
    assert (await api.post("/api/v1/incidents/x/acknowledge", {"engineer": "x"}, ENG))[0] == 400


async def test_zabbix_acknowledge_meets_the_reaction_deadline(api: Api) -> None:
    await api.zbx(fixture_json("zabbix/problem.json"))
    await api.zbx(fixture_json("zabbix/update_ack.json"))
    [inc] = await api.incidents()
    assert inc["acknowledged_at"]


async def test_business_hours_contract(api: Api) -> None:
    await api.am(bodies.body([bodies.alert(bodies.MAIL_DOWN, {"summary": "mx1 does not accept SMTP"})]))
    [inc] = await api.incidents(customer="globex")
    due = ts(inc["reaction_due"])
    # globex counts 09:00-18:00 Moscow time (UTC+3), Monday to Friday: a deadline lands inside that window
    local_hour = (due + timedelta(hours=3)).time()
    assert due.weekday() < 5 and "09:00" <= local_hour.strftime("%H:%M") <= "18:00"
