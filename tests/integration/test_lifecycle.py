"""Closing: by a person, and automatically some time after resolution; a later relapse opens a new
incident linked to the closed one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import load_settings
from tests.integration import bodies
from tests.integration.api import AM, ENG, Api


@pytest.fixture
async def api(database_url: str, mailbox: Any, service_factory: Any) -> Api:
    return Api(await service_factory(load_settings(database_url, mailbox.url)))


async def test_person_closes_then_the_problem_fires_again(api: Api) -> None:
    await api.am(bodies.website())
    [inc] = await api.incidents()
    status, body = await api.post(f"/api/v1/incidents/{inc['id']}/close", {"engineer": "Olga", "note": "fixed"}, ENG)
    assert status == 200 and body["state"] == "closed" and body["closed_at"]
    assert (await api.ticket(inc["ticket"]))["state"] == "closed"
    assert (await api.post(f"/api/v1/incidents/{inc['id']}/close", {"engineer": "Olga"}, ENG))[0] == 409
    assert (await api.post(f"/api/v1/incidents/{inc['id']}/close", {"engineer": "Olga"}, AM))[0] == 403
    status, body = await api.am(bodies.website())  # still firing at the source: a new incident, linked
    assert body["alerts"][0]["action"] == "open"
    new = [i for i in await api.incidents() if i["id"] != inc["id"]]
    assert len(new) == 1 and new[0]["previous_id"] == inc["id"] and new[0]["ticket"] != inc["ticket"]


async def test_resolved_incidents_close_after_the_agreed_time_once(
    api: Api, database_url: str, service_factory: Any
) -> None:
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    [inc] = await api.incidents()
    resolved = datetime.fromisoformat(inc["resolved_at"])
    timers = api.svc.sla
    assert await timers.close_resolved(resolved + timedelta(days=6)) == 0
    other = Api(await service_factory(load_settings(database_url))).svc.sla
    later = resolved + timedelta(days=8)
    assert await timers.close_resolved(later) + await other.close_resolved(later) == 1
    inc = await api.incident(inc["id"])
    assert inc["state"] == "closed"
    arts = (await api.ticket(inc["ticket"]))["articles"]
    assert sum("Closed automatically" in a["body"] for a in arts) == 1
    status, body = await api.am(bodies.website(starts="2026-12-10T10:00:00Z"))
    assert body["alerts"][0]["action"] == "open"
    assert [i["previous_id"] for i in await api.incidents(state="open")] == [inc["id"]]
