"""Maintenance windows: alerts in scope are recorded and nothing is opened or sent; when the window ends,
what still fires is handled as new and what recovered meanwhile resolves its incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import fixture_json, load_settings
from tests.integration import bodies
from tests.integration.api import AM, ENG, Api

ACME = "curator@acme.example"


@pytest.fixture
async def api(database_url: str, mailbox: Any, service_factory: Any) -> Api:
    return Api(await service_factory(load_settings(database_url, mailbox.url)))


def window(**extra: Any) -> dict[str, Any]:
    return {
        "customer": "acme",
        "service": "website",
        "engineer": "Olga",
        "reason": "web server upgrade",
        "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        **extra,
    }


async def test_window_holds_back_then_releases(api: Api, mailbox: Any) -> None:
    status, w = await api.post("/api/v1/maintenance", window(), ENG)
    assert status == 201 and w["customer"] == "acme" and w["service"] == "website"
    status, body = await api.am(bodies.website())
    assert status == 200 and body["alerts"][0]["action"] == "maintenance"
    assert await api.incidents() == []
    # another service of the customer is not in the window
    await api.zbx(fixture_json("zabbix/problem.json"))
    assert [i["service"] for i in await api.incidents()] == ["fileserver"]
    # the window ends while the site is still down: it is handled as new then, the curator is told
    assert await api.svc.sla.release_maintenance() == 0  # still inside the window
    status, ended = await api.post(f"/api/v1/maintenance/{w['id']}/end", {}, ENG)
    assert status == 200
    assert await api.svc.sla.release_maintenance() == 1
    site = [i for i in await api.incidents() if i["service"] == "website"]
    assert len(site) == 1 and site[0]["state"] == "open"
    assert await api.svc.sla.release_maintenance() == 0  # released once
    await api.deliver()
    assert len(mailbox.to(ACME)) == 1
    status, listing = await api.get("/api/v1/maintenance")
    assert listing["windows"] == []


async def test_alert_that_recovers_inside_the_window_opens_nothing(api: Api, mailbox: Any) -> None:
    await api.post("/api/v1/maintenance", window(service=None), ENG)
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    status, listing = await api.get("/api/v1/maintenance")
    [w] = listing["windows"]
    await api.post(f"/api/v1/maintenance/{w['id']}/end", {}, ENG)
    await api.svc.sla.release_maintenance()
    assert await api.incidents() == []
    await api.deliver()
    assert mailbox.messages == []


async def test_incident_open_before_the_window_resolves_after_it(api: Api, mailbox: Any) -> None:
    await api.am(bodies.website())
    await api.deliver()
    status, w = await api.post("/api/v1/maintenance", window(), ENG)
    status, body = await api.am(bodies.website("resolved"))
    assert body["alerts"][0]["action"] == "maintenance"
    assert (await api.incidents())[0]["state"] == "open"
    await api.post(f"/api/v1/maintenance/{w['id']}/end", {}, ENG)
    await api.svc.sla.release_maintenance()
    assert (await api.incidents())[0]["state"] == "resolved"
    await api.deliver()
    assert [m["subject"].split("]")[1].split(":")[0].strip() for m in mailbox.to(ACME)] == [
        "Service affected",
        "Service restored",
    ]


async def test_configured_window_and_bad_requests(database_url: str, service_factory: Any) -> None:
    now = datetime.now(UTC)
    cfg = [
        {
            "customer": "acme",
            "host": "web01.acme",
            "starts": (now - timedelta(minutes=5)).isoformat(),
            "ends": (now + timedelta(hours=2)).isoformat(),
            "reason": "hardware swap",
        }
    ]
    api = Api(await service_factory(load_settings(database_url, maintenance=cfg)))
    assert await api.svc.pipeline.sync_maintenance(list(api.svc.settings.maintenance)) == 1
    assert await api.svc.pipeline.sync_maintenance(list(api.svc.settings.maintenance)) == 0  # once only
    node = {"alertname": "NodeDown", "instance": "web01.acme:9100", "customer": "acme", "severity": "critical"}
    status, body = await api.am(bodies.body([bodies.alert(node, {"summary": "Host web01.acme is down"})]))
    assert body["alerts"][0]["action"] == "maintenance"
    bad = [
        (window(customer="nosuch"), 422),
        (window(service="nosuch"), 422),
        ({"customer": "acme"}, 422),
        (window(ends_at=(now - timedelta(hours=1)).isoformat()), 422),
        (window(ends_at="2026-13-01"), 422),
        (window(ends_at=(now + timedelta(days=40)).isoformat()), 422),
        (window(ends_at="2030-01-01T00:00:00"), 422),
    ]
    before = await api.counts()
    for payload, code in bad:
        status, answer = await api.post("/api/v1/maintenance", payload, ENG)
        assert status == code and answer["error"], (payload, answer)
    assert (await api.post("/api/v1/maintenance", window(), AM))[0] == 403
    assert (await api.post("/api/v1/maintenance/999/end", {}, ENG))[0] == 404
    assert await api.counts() == before
