"""acme's tickets mirrored to Zammad (a fake following Zammad's documented REST API): the right group,
type, customer, key and origin tags; silent faults only ever get internal articles; state changes
followed; exactly one ticket after a crash between Zammad's answer and our commit; nothing lost while
Zammad is down or failing, everything lands once and in order; refusals fail the row and say why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bridge.schema import outbox, tickets
from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket
from connectors.desks.zammad import ZammadDesk, from_settings, key_tag
from tests.conftest import fixture_json
from tests.fakes.zammad_fake import AGENT, OAUTH, PASSWORD, TOKEN, ZammadFake
from tests.integration import bodies
from tests.integration.api import ENG, Api
from tests.integration.desks import backoff_passed, desk_api, desk_rows, local_ticket


@pytest.fixture
async def zammad() -> AsyncIterator[ZammadFake]:
    fake = ZammadFake()
    await fake.start()
    yield fake
    await fake.idle()
    await fake.stop()


def desk_config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "backend": "zammad",
        "url": url,
        "token": TOKEN,
        "incident_queue": "Incidents",  # Zammad groups
        "fault_queue": "Faults",
        "requester": "monitoring@msp.example",
        "timeout": 1.0,
        "options": {"type.incident": "Incident", "type.fault": "Problem"},
        **extra,
    }


@pytest.fixture
async def api(zammad: ZammadFake, database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path) -> Api:
    return await desk_api("zammad", desk_config(zammad.url), database_url, mailbox, service_factory, tmp_path)


async def ticket_of(api: Api, zammad: ZammadFake, incident_id: int) -> dict[str, Any]:
    inc = await api.incident(incident_id)
    [t] = zammad.by_tag(key_tag("ab-", f"{inc['key']}#{incident_id}"))
    return t


async def test_incident_and_silent_fault_land_with_the_right_visibility(api: Api, zammad: ZammadFake) -> None:
    status, body = await api.am(bodies.website())
    assert status == 200, body
    incident_id = body["alerts"][0]["incident_id"]
    status, body = await api.zbx(fixture_json("zabbix/problem.json"))  # RAID degraded on acme-db01
    fault_id = body["alerts"][0]["incident_id"]
    await api.deliver()

    inc = await api.incident(incident_id)
    t = await ticket_of(api, zammad, incident_id)
    assert (t["group"], t["type"], t["state"]) == ("Incidents", "Incident", "new")
    assert t["customer"] == "monitoring@msp.example" and t["priority"] == "3 high"
    assert inc["title"] in t["title"]
    assert "ab-origin-monitoring" in t["tags"] and key_tag("ab-", f"{inc['key']}#{incident_id}") in t["tags"]
    mirror = await local_ticket(api, incident_id)
    assert (mirror["desk"], mirror["external_id"]) == ("zammad", str(t["id"]))
    assert mirror["external_url"] == f"{zammad.url}/#ticket/zoom/{t['id']}"
    # the first article is internal; the curator's notice is customer-visible; all are notes
    assert t["articles"][0]["internal"] is True and "Opened by alertbridge" in t["articles"][0]["body"]
    assert any(not a["internal"] for a in t["articles"]) and {a["type"] for a in t["articles"]} == {"note"}

    fault = await ticket_of(api, zammad, fault_id)
    assert (fault["group"], fault["type"]) == ("Faults", "Problem")
    assert "ab-origin-monitoring" in fault["tags"]
    assert fault["articles"] and all(a["internal"] for a in fault["articles"]), fault["articles"]
    assert any("raid" in a["body"].lower() for a in fault["articles"]) or "raid" in fault["title"].lower()

    # an engineer takes it, then the source recovers: Zammad follows
    status, _ = await api.post(f"/api/v1/incidents/{incident_id}/acknowledge", {"engineer": "Olga"}, ENG)
    assert status == 200
    await api.deliver()
    assert zammad.ticket(t["id"])["state"] == "open"
    await api.am(bodies.website("resolved"))
    await api.deliver()
    final = zammad.ticket(t["id"])
    assert final["state"] == "closed" and final["close_at"]
    assert final["history"] == [("new", "open"), ("open", "closed")]
    assert len(zammad.tickets) == 2
    assert {r["state"] for r in await api.outbox()} == {"delivered"}
    texts = [a["body"] for a in final["articles"]]
    assert len(texts) == len(set(texts))


async def test_a_crash_after_zammad_created_the_ticket_adopts_it(api: Api, zammad: ZammadFake) -> None:
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    mirror = await local_ticket(api, incident_id)
    assert mirror["external_id"]
    # as if the process died after Zammad answered but before our commit: the local record never saw it
    async with api.svc.db.transaction() as conn:
        await conn.execute(
            update(tickets).where(tickets.c.incident_id == incident_id).values(external_id=None, external_url=None)
        )
        await conn.execute(
            update(outbox)
            .where(outbox.c.incident_id == incident_id, outbox.c.key.like("desk:%:open"))
            .values(state="pending", attempts=1, delivered_at=None)
        )
    await api.deliver()
    assert len(zammad.tickets) == 1  # adopted by its key tag, not created twice
    assert (await local_ticket(api, incident_id))["external_id"] == mirror["external_id"]
    assert any(path.startswith("/api/v1/tickets/search?query=tags") for _, path in zammad.requests)


@pytest.mark.parametrize("mode", ["duplicate", "conflict"])
async def test_an_already_exists_answer_on_create_adopts_the_ticket(api: Api, zammad: ZammadFake, mode: str) -> None:
    zammad.mode = mode  # another writer created it between our search and our create
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    zammad.mode = None
    [t] = zammad.tickets.values()
    assert (await local_ticket(api, incident_id))["external_id"] == str(t["id"])
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}


async def test_zammad_down_loses_nothing_and_catches_up_once_in_order(
    api: Api, zammad: ZammadFake, mailbox: Any
) -> None:
    await zammad.stop()
    status, body = await api.am(bodies.website())
    assert status == 200  # ingest never waits for the desk
    incident_id = body["alerts"][0]["incident_id"]
    await api.am(bodies.website("resolved"))
    await api.deliver()
    assert len(mailbox.to("curator@acme.example")) == 2  # the curator is not held up by the desk
    waiting = await desk_rows(api)
    assert waiting and all(r["state"] == "pending" for r in waiting)
    assert "Zammad" in (waiting[0]["last_error"] or "") and all(r["attempts"] == 0 for r in waiting[1:])

    await zammad.start()
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await api.outbox()} == {"delivered"}
    [t] = [zammad.ticket(i) for i in zammad.tickets]
    assert t["state"] == "closed"
    texts = [a["body"] for a in t["articles"]]
    opened = [i for i, x in enumerate(texts) if "Opened by monitoring" in x]
    recovered = [i for i, x in enumerate(texts) if "Recovered" in x]
    assert opened and recovered and opened[0] < recovered[0]  # in the order they happened
    assert len(texts) == len(set(texts))  # none twice
    assert (await local_ticket(api, incident_id))["external_id"] == str(t["id"])


async def test_5xx_and_timeouts_are_retried_without_duplicates(api: Api, zammad: ZammadFake) -> None:
    zammad.mode = "5xx"
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    [first, *_] = await desk_rows(api)
    assert first["state"] == "pending" and "HTTP 502" in first["last_error"]
    zammad.mode = "error"  # Zammad's own 500
    await backoff_passed(api)
    await api.deliver()
    [first, *_] = await desk_rows(api)
    assert first["state"] == "pending" and "HTTP 500" in first["last_error"] and "Error ID" in first["last_error"]
    zammad.mode = None
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}
    [ticket_id] = zammad.tickets
    articles = len(zammad.ticket(ticket_id)["articles"])

    # Zammad answers too late: the client gives up, Zammad still does it; the retry finds it done
    zammad.mode, zammad.delay = "slow", 2.0
    status, _ = await api.post(f"/api/v1/incidents/{incident_id}/acknowledge", {"engineer": "Olga"}, ENG)
    assert status == 200
    await api.deliver()
    waiting = [r for r in await desk_rows(api) if r["state"] == "pending"]
    assert waiting and "TimeoutError" in (waiting[0]["last_error"] or "")
    await zammad.idle()
    zammad.mode = None
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}
    t = zammad.ticket(ticket_id)
    assert len(zammad.tickets) == 1 and t["state"] == "open"
    texts = [a["body"] for a in t["articles"]]
    assert len(texts) > articles and len(texts) == len(set(texts))  # the slow note landed once


@pytest.mark.parametrize(("mode", "words"), [("auth", "authentication failed"), ("forbidden", "permission denied")])
async def test_rejected_credentials_are_retried_with_a_clear_error(
    api: Api, zammad: ZammadFake, mode: str, words: str
) -> None:
    zammad.mode = mode
    await api.am(bodies.website())
    await api.deliver()
    [first, *_] = await desk_rows(api)
    assert first["state"] == "pending" and words in first["last_error"]
    assert ("HTTP 401" if mode == "auth" else "HTTP 403") in first["last_error"]
    zammad.mode = None  # the credentials or rights were fixed
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"} and len(zammad.tickets) == 1


async def test_a_refusal_fails_the_row_and_says_why(api: Api, zammad: ZammadFake) -> None:
    del zammad.groups[2]  # the group "Incidents" does not exist in Zammad
    status, body = await api.am(bodies.website())
    await api.deliver()
    [opened] = [r for r in await api.outbox() if r["key"].endswith(":open")]
    assert opened["state"] == "failed" and "No lookup value found for 'group'" in opened["last_error"]
    assert "HTTP 422" in opened["last_error"] and not zammad.tickets
    ticket = await api.ticket(body["alerts"][0]["ticket"])
    assert any("open failed" in a["body"] for a in ticket["articles"])


# --- the client against the fake directly ---------------------------------------------------------------
def new_ticket(key: str = "k1", queue: str = "Incidents", origin: str = "engineer", **kw: Any) -> NewTicket:
    values: dict[str, Any] = {
        "key": key,
        "kind": "incident",
        "queue": queue,
        "subject": "[acme] site down",
        "body": "first",
        "requester": "monitoring@msp.example",
        "origin": origin,
        "customer": "acme",
        "priority": "medium",
        **kw,
    }
    return NewTicket(**values)


async def test_client_articles_states_queue_and_auth_kinds(zammad: ZammadFake) -> None:
    desk = ZammadDesk(zammad.url, user=AGENT, password=PASSWORD, options={"priority.medium": ""})
    bearer = ZammadDesk(zammad.url, token=OAUTH, options={"auth": "bearer"})
    try:
        ref = await desk.open(new_ticket("key with spaces #1"))
        t = zammad.ticket(ref.id)
        assert t["priority"] == "2 normal" and t["type"] is None  # none sent: Zammad's default
        assert set(t["tags"]) == {key_tag("ab-", "key with spaces #1"), "ab-origin-engineer"}
        assert (await bearer.open(new_ticket("key with spaces #1"))) == ref and len(zammad.tickets) == 1
        await desk.note(ref, "internal", False, "m1", retry=False)
        await bearer.note(ref, "for the customer", True, "m2", retry=False)
        await desk.note(ref, "for the customer", True, "m2", retry=True)  # already there
        await desk.note(ref, "again", False, "m3", retry=True)  # not there yet
        assert [a["internal"] for a in zammad.ticket(ref.id)["articles"]] == [True, True, False, True]
        await desk.set_queue(ref, "Faults")
        assert zammad.ticket(ref.id)["group"] == "Faults"
        await desk.set_state(ref, "in_progress")
        await desk.set_state(ref, "resolved")
        await desk.set_state(ref, "closed")  # already there: harmless
        assert zammad.ticket(ref.id)["history"] == [("new", "open"), ("open", "closed")]
        with pytest.raises(DeskRejected, match="No lookup value found for 'state'"):
            desk.states["new"] = "triage"
            await desk.set_state(ref, "new")
        with pytest.raises(DeskRejected, match="No lookup value found for 'group'"):
            await desk.set_queue(ref, "Nonexistent")
    finally:
        await desk.close()
        await bearer.close()


async def test_client_adopts_an_untagged_origin_and_creates_missing_customers(zammad: ZammadFake) -> None:
    desk = ZammadDesk(zammad.url, token=TOKEN, options={"create_customer": "true", "tag_prefix": "AB-"})
    plain = ZammadDesk(zammad.url, token=TOKEN, options={"tag_prefix": "ab-"})
    try:
        with pytest.raises(DeskRejected, match="No lookup value found for 'customer'"):
            await plain.open(new_ticket("k9", requester="noc@new.example"))
        ref = await desk.open(new_ticket("k9", requester="noc@new.example"))
        t = zammad.ticket(ref.id)
        assert t["customer"] == "noc@new.example" and "ab-origin-engineer" in t["tags"]
        zammad.tickets[int(ref.id)]["tags"].remove("ab-origin-engineer")  # lost by hand in Zammad
        assert await plain.open(new_ticket("k9", requester="noc@new.example")) == ref
        assert "ab-origin-engineer" in zammad.ticket(ref.id)["tags"]  # put back with tags/add
        assert ("POST", "/api/v1/tags/add") in zammad.requests
    finally:
        await desk.close()
        await plain.close()


async def test_search_pages_and_verifies_tags_also_without_elasticsearch(zammad: ZammadFake) -> None:
    tagged = ZammadDesk(zammad.url, token=TOKEN)
    text = ZammadDesk(zammad.url, token=TOKEN, options={"search": "text"})
    try:
        ref = await tagged.open(new_ticket("target"))
        tag = key_tag("ab-", "target")
        # engineers quoted the tag in other tickets (found by a text search, not carrying the tag)
        for i in range(3):
            other = await tagged.open(new_ticket(f"other{i}"))
            await tagged.note(other, f"see {tag}", False, f"q{i}", retry=False)
        zammad.page_max = 1
        zammad.elasticsearch = False  # Zammad's SQL search: `tags:` finds nothing, the bare tag does
        assert await tagged.find("target") is None
        assert await text.find("target") == ref  # the first article carries it
        zammad.tickets[int(ref.id)]["articles"][0]["body"] = "edited"
        for other_id in [i for i in zammad.tickets if i != int(ref.id)]:
            zammad.tickets[other_id]["created_at"] = "0000"  # older: they come first
        await tagged.note(ref, f"carries {tag}", False, "q9", retry=False)
        assert await text.find("target") == ref  # found on the last page, the others skipped
        zammad.elasticsearch = True
        assert await tagged.find("target") == ref and await tagged.find("nope") is None
        assert len(zammad.tickets) == 4
    finally:
        await tagged.close()
        await text.close()


async def test_error_mapping(zammad: ZammadFake) -> None:
    desk = ZammadDesk(zammad.url, token=TOKEN, timeout=0.5)
    try:
        zammad.mode = "ratelimit"
        with pytest.raises(DeskUnavailable, match=r"HTTP 429.*Retry-After 5"):
            await desk.find("k1")
        zammad.mode = None
        with pytest.raises(DeskRejected, match=r"HTTP 404: Couldn't find Ticket with 'id'=99"):
            await desk.note(RemoteTicket("99"), "x", False, "m", retry=False)
        with pytest.raises(DeskRejected, match="not a Zammad ticket id"):
            await desk.set_state(RemoteTicket("ACME-1"), "closed")
        with pytest.raises(DeskRejected, match="Title can't be blank"):
            await desk.open(new_ticket(subject=""))
        zammad.mode, zammad.elasticsearch = "duplicate", False  # exists, but the search does not show it yet
        with pytest.raises(DeskUnavailable, match=r"HTTP 422 \(Object already exists!\) but the search finds no"):
            await desk.open(new_ticket("k2"))
        zammad.mode, zammad.elasticsearch = None, True
        assert await desk.open(new_ticket("k2")) and len(zammad.tickets) == 1  # adopted on the retry
        bad = ZammadDesk(zammad.url, token="wrong")
        with pytest.raises(DeskUnavailable, match=r"authentication failed.*Can't find User for Token"):
            await bad.find("k1")
        await bad.close()
        zammad.mode, zammad.delay = "slow", 1.0
        with pytest.raises(DeskUnavailable, match="TimeoutError"):
            await desk.find("k1")
        await zammad.idle()
        zammad.mode = None
        await zammad.stop()
        with pytest.raises(DeskUnavailable, match="Zammad GET"):
            await desk.find("k1")
    finally:
        await desk.close()


async def test_from_settings_reads_the_common_model() -> None:
    from bridge.config import RemoteDesk

    cfg = RemoteDesk.model_validate(
        desk_config("http://zammad.example/", states={"resolved": "pending close"}, options={"search": "text"})
    )
    desk = from_settings(cfg)
    assert desk.base == "http://zammad.example" and desk.search == "text"
    assert desk.states["resolved"] == "pending close" and desk.states["in_progress"] == "open"
    assert desk._headers["Authorization"] == f"Token token={TOKEN}"
    await desk.close()
    with pytest.raises(ValueError, match=r"options\.search"):
        ZammadDesk("http://zammad.example", token=TOKEN, options={"search": "sql"})
