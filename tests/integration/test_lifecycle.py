"""Closing: by a person, and automatically some time after resolution; a later relapse opens a new
incident linked to the closed one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
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


async def test_hold_down_keeps_short_outages_from_the_curator(
    database_url: str, mailbox: Any, service_factory: Any
) -> None:
    import asyncio
    import time

    from tests.conftest import ROOT

    text = (
        (ROOT / "config" / "example.yaml")
        .read_text()
        .replace(
            "        name: Company website www.acme.example\n",
            "        name: Company website www.acme.example\n        notify_after: 3s\n",
        )
    )
    cfg = Path(database_url.split("///")[-1]).parent / "hold.yaml" if database_url.startswith("sqlite") else None
    if cfg is None:
        import tempfile

        cfg = Path(tempfile.mkdtemp()) / "hold.yaml"
    cfg.write_text(text)
    api = Api(await service_factory(load_settings(database_url, mailbox.url, config=cfg)))
    # a blip: recovered before the hold-down ends -> ticket, no notice at all
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    await api.deliver()
    assert mailbox.messages == []
    assert [r["state"] for r in await api.outbox()] == ["cancelled"]
    [inc] = await api.incidents()
    assert inc["ticket"] and not inc["curator_notified"]
    assert any("hold-down" in a["body"] for a in (await api.ticket(inc["ticket"]))["articles"])
    # it comes back and lasts: the curator hears of it once the hold-down has passed
    posted = time.monotonic()
    await api.am(bodies.website(starts="2026-11-23T10:30:00Z"))
    answered = time.monotonic()
    await api.deliver()
    # still inside the hold-down, unless a loaded machine took longer than the hold-down itself to get here
    assert mailbox.messages == [] or time.monotonic() - posted >= 3
    await asyncio.sleep(max(0.0, answered + 3.3 - time.monotonic()))
    await api.deliver()
    assert len(mailbox.to("curator@acme.example")) == 1
    assert "Service affected" in mailbox.messages[0]["subject"]  # not "again": they never heard of the blip


async def test_flapping_check_keeps_one_incident_and_resolves_once_quiet(api: Api, mailbox: Any) -> None:
    await api.am(bodies.website(starts="2026-11-23T10:00:00Z"))
    t = 0
    for _ in range(6):  # down/up every few minutes
        t += 2
        end = f"2026-11-23T10:{t:02d}:00Z"
        await api.am(bodies.website("resolved", starts=f"2026-11-23T10:{t - 2:02d}:00Z", ends=end))
        await api.am(bodies.website(starts=f"2026-11-23T10:{t + 1:02d}:00Z"))
    [inc] = await api.incidents()
    assert inc["state"] == "open"
    detail = await api.incident(inc["id"])
    assert len(await api.incidents()) == 1
    articles = [a["body"] for a in (await api.ticket(inc["ticket"]))["articles"]]
    assert sum(b.startswith("Flapping:") for b in articles) == 1
    await api.deliver()
    assert len(mailbox.to("curator@acme.example")) <= 2  # affected, restored; the relapses wait or are dropped
    # the last recovery: it stays open until quiet for flap_settle
    status, body = await api.am(bodies.website("resolved", starts="2026-11-23T10:13:00Z", ends="2026-11-23T10:20:00Z"))
    assert body["alerts"][0]["action"] == "hold"
    held = await api.incident(inc["id"])
    assert held["state"] == "open" and held["flapping"] and held["settle_at"]
    assert await api.svc.pipeline.settle_flapping() == 0
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert await api.svc.pipeline.settle_flapping(later) == 1
    assert await api.svc.pipeline.settle_flapping(later) == 0
    done = await api.incident(inc["id"])
    assert done["state"] == "resolved" and not done["flapping"]
    assert detail["occurrences"] >= 7 and detail["flapping"]


async def test_incident_shows_its_history(api: Api) -> None:
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    [inc] = await api.incidents()
    history = (await api.incident(inc["id"]))["history"]
    assert history[0]["text"].startswith("Opened by monitoring") and history[-1]["text"].startswith("Recovered")
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)


async def test_stages_new_in_progress_resolved_and_back(api: Api) -> None:
    """new -> in_progress when an engineer takes it -> resolved -> (relapse) in_progress again -> closed."""
    await api.am(bodies.website())
    [inc] = await api.incidents()
    assert inc["stage"] == "new" and inc["acknowledged_by"] is None
    assert (await api.ticket(inc["ticket"]))["state"] == "new"
    assert [i["id"] for i in await api.incidents(stage="new")] == [inc["id"]]
    assert await api.incidents(stage="in_progress") == []

    status, body = await api.post(f"/api/v1/incidents/{inc['id']}/acknowledge", {"engineer": "Olga"}, ENG)
    assert status == 200 and body["stage"] == "in_progress" and body["state"] == "open"
    assert body["acknowledged_by"] == "Olga"
    status, body = await api.post(f"/api/v1/incidents/{inc['id']}/acknowledge", {"engineer": "Ivan"}, ENG)
    assert body["acknowledged_by"] == "Olga"  # the first engineer keeps it; Ivan's note is an article
    assert (await api.ticket(inc["ticket"]))["state"] == "in_progress"
    assert [i["id"] for i in await api.incidents(stage="in_progress")] == [inc["id"]]

    await api.am(bodies.website("resolved"))
    inc = await api.incident(inc["id"])
    assert inc["stage"] == "resolved" and (await api.ticket(inc["ticket"]))["state"] == "resolved"
    # relapse within the reopen window: taken before, so in progress again
    await api.am(bodies.website(starts="2026-11-23T10:30:00Z"))
    inc = await api.incident(inc["id"])
    assert inc["stage"] == "in_progress" and (await api.ticket(inc["ticket"]))["state"] == "in_progress"

    await api.post(f"/api/v1/incidents/{inc['id']}/close", {"engineer": "Olga"}, ENG)
    assert (await api.incident(inc["id"]))["stage"] == "closed"
    status, body = await api.get("/api/v1/incidents?stage=taken")
    assert status == 400 and body["error"] == "bad_parameter"


async def test_relapse_of_an_untaken_incident_is_new_again(api: Api) -> None:
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    await api.am(bodies.website(starts="2026-11-23T10:30:00Z"))
    [inc] = await api.incidents()
    assert inc["reopened"] == 1 and inc["stage"] == "new"
    assert (await api.ticket(inc["ticket"]))["state"] == "new"


async def test_engineer_notes_internal_or_public_never_public_on_a_fault(api: Api) -> None:
    await api.am(bodies.website())
    from tests.conftest import fixture_json

    await api.zbx(fixture_json("zabbix/problem.json"))
    site = next(i for i in await api.incidents() if i["kind"] == "incident")
    fault = next(i for i in await api.incidents() if i["kind"] == "fault")
    status, _ = await api.post(f"/api/v1/incidents/{site['id']}/notes", {"engineer": "Olga", "text": "rebooting"}, ENG)
    assert status == 200
    status, _ = await api.post(
        f"/api/v1/incidents/{site['id']}/notes",
        {"engineer": "Olga", "text": "The site is back in 10 minutes", "public": True},
        ENG,
    )
    assert status == 200
    arts = {a["body"]: a["visible_to_customer"] for a in (await api.ticket(site["ticket"]))["articles"]}
    assert arts["rebooting"] is False and arts["The site is back in 10 minutes"] is True
    before = await api.ticket(fault["ticket"])
    status, body = await api.post(
        f"/api/v1/incidents/{fault['id']}/notes", {"engineer": "Olga", "text": "disk ordered", "public": True}, ENG
    )
    assert status == 409 and body["error"] == "fault_is_internal"
    assert await api.ticket(fault["ticket"]) == before  # refused: nothing changed
    for bad in ({"engineer": "Olga"}, {"engineer": "", "text": "x"}, {"engineer": "O", "text": "x", "extra": 1}):
        status, body = await api.post(f"/api/v1/incidents/{site['id']}/notes", bad, ENG)
        assert status == 422, body
    assert (await api.post(f"/api/v1/incidents/{site['id']}/notes", {"engineer": "O", "text": "x"}, AM))[0] == 403
