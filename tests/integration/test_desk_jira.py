"""Tickets mirrored to Jira Service Management (connectors/desks/jira.py), against tests/fakes/jira_fake.py:
the right request type with key and origin; silent faults only ever get internal comments; state changes
followed by transitions; exactly one issue after a crash between Jira's answer and our commit, or a 409;
nothing lost while Jira is down, failing, slow or refusing the credentials; refusals fail the row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bridge.schema import outbox, tickets
from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket
from connectors.desks.jira import JiraDesk, key_label
from tests.conftest import fixture_json
from tests.fakes.jira_fake import PAT, TOKEN, USER, JiraFake
from tests.integration import bodies
from tests.integration.api import ENG, Api
from tests.integration.desks import backoff_passed, desk_api, desk_rows, local_ticket


@pytest.fixture
async def jira() -> AsyncIterator[JiraFake]:
    fake = JiraFake()
    await fake.start()
    yield fake
    await fake.idle()
    await fake.stop()


def desk_config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "backend": "jira",
        "url": url,
        "user": USER,
        "token": TOKEN,
        "incident_queue": "Incidents",  # mapped by id through options
        "fault_queue": "Silent fault",  # looked up by name among the service desk's request types
        "requester": "monitoring@msp.example",
        "timeout": 1.0,
        "options": {"service_desk_id": "1", "project": "ACME", "queue.Incidents": "10"},
        **extra,
    }


@pytest.fixture
async def api(jira: JiraFake, database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path) -> Api:
    return await desk_api("jsm", desk_config(jira.url), database_url, mailbox, service_factory, tmp_path)


async def issue_of(api: Api, jira: JiraFake, incident_id: int) -> dict[str, Any]:
    inc = await api.incident(incident_id)
    [issue] = jira.by_label(key_label("ab-", f"{inc['key']}#{incident_id}"))
    return issue


async def test_incident_and_silent_fault_land_with_the_right_visibility(api: Api, jira: JiraFake) -> None:
    status, body = await api.am(bodies.website())
    assert status == 200, body
    incident_id = body["alerts"][0]["incident_id"]
    status, body = await api.zbx(fixture_json("zabbix/problem.json"))  # RAID degraded on acme-db01
    fault_id = body["alerts"][0]["incident_id"]
    await api.deliver()

    inc = await api.incident(incident_id)
    issue = await issue_of(api, jira, incident_id)
    assert issue["request_type"] == "10" and issue["fields"]["issuetype"] == "10100"  # "Report a system problem"
    assert issue["fields"]["reporter"] == "monitoring@msp.example"  # raised on behalf of the system requester
    assert inc["title"] in issue["fields"]["summary"]
    assert issue["properties"]["alertbridge"] == {
        "key": f"{inc['key']}#{incident_id}",
        "origin": "monitoring",
        "customer": "acme",
    }
    assert issue["fields"]["status"] == "Waiting for support"
    mirror = await local_ticket(api, incident_id)
    assert (mirror["desk"], mirror["external_id"]) == ("jsm", issue["key"])
    assert mirror["external_url"] == f"{jira.url}/browse/{issue['key']}"
    # the curator's notice is customer-visible, the rest internal
    assert any(c["public"] for c in issue["comments"]) and any(not c["public"] for c in issue["comments"])

    fault = await issue_of(api, jira, fault_id)
    assert fault["request_type"] == "11"  # "Silent fault", found by name
    assert fault["properties"]["alertbridge"]["origin"] == "monitoring"
    assert fault["comments"] and not any(c["public"] for c in fault["comments"]), fault["comments"]
    assert any("raid" in c["body"].lower() for c in fault["comments"]) or "raid" in fault["fields"]["summary"].lower()

    # an engineer takes it, then the source recovers: Jira follows by transitions
    status, _ = await api.post(f"/api/v1/incidents/{incident_id}/acknowledge", {"engineer": "Olga"}, ENG)
    assert status == 200
    await api.deliver()
    assert issue["fields"]["status"] == "In Progress"
    await api.am(bodies.website("resolved"))
    await api.deliver()
    assert issue["fields"]["status"] == "Resolved" and issue["fields"]["resolution"] == "Done"
    assert issue["transitions"] == [("Waiting for support", "In Progress"), ("In Progress", "Resolved")]
    assert len(jira.issues) == 2
    assert {r["state"] for r in await api.outbox()} == {"delivered"}
    bodies_ = [c["body"] for c in issue["comments"]]
    assert len(bodies_) == len(set(bodies_))


async def test_a_crash_after_jira_created_the_issue_adopts_it(api: Api, jira: JiraFake) -> None:
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    mirror = await local_ticket(api, incident_id)
    assert mirror["external_id"]
    # as if the process died after Jira answered but before our commit: the local record never saw it
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
    assert len(jira.issues) == 1  # adopted by its label, not created twice
    assert (await local_ticket(api, incident_id))["external_id"] == mirror["external_id"]
    assert any("search" in path and "labels" in path for _, path in jira.requests)


async def test_a_409_on_create_adopts_the_issue_that_exists(api: Api, jira: JiraFake) -> None:
    jira.mode = "duplicate"  # another writer created it between our search and our create
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    jira.mode = None
    [issue] = jira.issues.values()
    assert (await local_ticket(api, incident_id))["external_id"] == issue["key"]
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}


async def test_jira_down_loses_nothing_and_catches_up_once_in_order(api: Api, jira: JiraFake, mailbox: Any) -> None:
    await jira.stop()
    status, body = await api.am(bodies.website())
    assert status == 200  # ingest never waits for the desk
    incident_id = body["alerts"][0]["incident_id"]
    await api.am(bodies.website("resolved"))
    await api.deliver()
    assert len(mailbox.to("curator@acme.example")) == 2  # the curator is not held up by the desk
    waiting = await desk_rows(api)
    assert waiting and all(r["state"] == "pending" for r in waiting)
    assert "Jira" in (waiting[0]["last_error"] or "") and all(r["attempts"] == 0 for r in waiting[1:])

    await jira.start()
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await api.outbox()} == {"delivered"}
    [issue] = jira.issues.values()
    assert issue["fields"]["status"] == "Resolved"
    texts = [c["body"] for c in issue["comments"]]
    opened = [i for i, t in enumerate(texts) if "Opened by monitoring" in t]
    recovered = [i for i, t in enumerate(texts) if "Recovered" in t]
    assert opened and recovered and opened[0] < recovered[0]  # in the order they happened
    assert len(texts) == len(set(texts))  # none twice
    assert (await local_ticket(api, incident_id))["external_id"] == issue["key"]


async def test_5xx_and_timeouts_are_retried_without_duplicates(api: Api, jira: JiraFake) -> None:
    jira.mode = "5xx"
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    [first, *_] = await desk_rows(api)
    assert first["state"] == "pending" and "HTTP 503" in first["last_error"]
    jira.mode = None
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}
    [issue] = jira.issues.values()
    comments = len(issue["comments"])

    # Jira answers too late: the client gives up, Jira still does it; the retry finds it done
    jira.mode, jira.delay = "slow", 2.0
    status, _ = await api.post(f"/api/v1/incidents/{incident_id}/acknowledge", {"engineer": "Olga"}, ENG)
    assert status == 200
    await api.deliver()
    waiting = [r for r in await desk_rows(api) if r["state"] == "pending"]
    assert waiting and "TimeoutError" in (waiting[0]["last_error"] or "")
    await jira.idle()
    jira.mode = None
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}
    assert len(jira.issues) == 1 and issue["fields"]["status"] == "In Progress"
    texts = [c["body"] for c in issue["comments"]]
    assert len(texts) > comments and len(texts) == len(set(texts))  # the slow note landed once


async def test_rejected_credentials_are_retried_with_a_clear_error(api: Api, jira: JiraFake) -> None:
    jira.mode = "auth"
    await api.am(bodies.website())
    await api.deliver()
    [first, *_] = await desk_rows(api)
    assert first["state"] == "pending" and "authentication failed" in first["last_error"]
    assert "HTTP 401" in first["last_error"]
    jira.mode = None  # the credentials were fixed
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"} and len(jira.issues) == 1


async def test_a_refusal_fails_the_row_and_says_why(api: Api, jira: JiraFake) -> None:
    jira.customers.discard("monitoring@msp.example")  # the requester has no account in Jira
    status, body = await api.am(bodies.website())
    await api.deliver()
    [opened] = [r for r in await api.outbox() if r["key"].endswith(":open")]
    assert opened["state"] == "failed" and "does not exist" in opened["last_error"]
    assert "HTTP 400" in opened["last_error"] and not jira.issues
    ticket = await api.ticket(body["alerts"][0]["ticket"])
    assert any("open failed" in a["body"] for a in ticket["articles"])


# --- the client against the fake directly ---------------------------------------------------------------
def ticket(key: str = "k1", queue: str = "Incident", priority: str = "critical") -> NewTicket:
    return NewTicket(
        key, "incident", queue, "[acme] site down", "first", "monitoring@msp.example", "engineer", "acme", priority
    )


async def test_issue_mode_uses_the_platform_api_and_sd_public_comment(jira: JiraFake) -> None:
    desk = JiraDesk(
        jira.url,
        token=PAT,
        key_field="customfield_10050",
        options={"mode": "issue", "project": "ACME", "priority.critical": "Highest", "resolution": "Done"},
    )
    try:
        ref = await desk.open(ticket("key with spaces #1"))
        issue = jira.issue(ref.id)
        assert issue["request_type"] is None and issue["fields"]["issuetype"] == "10100"
        assert issue["fields"]["customfield_10050"] == "key with spaces #1" and issue["fields"]["priority"] == "Highest"
        assert (await desk.open(ticket("key with spaces #1"))) == ref and len(jira.issues) == 1
        await desk.note(ref, "internal", False, "m1", retry=False)
        await desk.note(ref, "for the customer", True, "m2", retry=False)
        await desk.note(ref, "for the customer", True, "m2", retry=True)  # already there
        assert [c["public"] for c in issue["comments"]] == [False, True]
        await desk.set_queue(ref, "Fault")
        assert issue["fields"]["issuetype"] == "10101"
        await desk.set_state(ref, "resolved")
        await desk.set_state(ref, "resolved")  # already there: nothing to do
        await desk.set_state(ref, "closed")
        assert issue["transitions"] == [("Waiting for support", "Resolved"), ("Resolved", "Closed")]
        with pytest.raises(DeskRejected, match="no transition"):
            desk.states["new"] = "Triage"
            await desk.set_state(ref, "new")
    finally:
        await desk.close()


@pytest.mark.parametrize("search", ["classic", "jql"])
async def test_paging_of_search_comments_and_request_types(jira: JiraFake, search: str) -> None:
    jira.page_limit = 1
    desk = JiraDesk(jira.url, user=USER, token=TOKEN, options={"service_desk_id": "1", "search": search})
    try:
        refs = [await desk.open(ticket(f"k{i}", queue="Get IT help")) for i in range(3)]  # the last request type
        assert [jira.issue(r.id)["request_type"] for r in refs] == ["12", "12", "12"]
        assert len(await desk._search('project = "ACME" ORDER BY created DESC')) == 3
        assert await desk.find("k2") == refs[2] and await desk.find("nope") is None
        for i in range(3):
            await desk.note(refs[0], f"n{i}", False, f"m{i}", retry=False)
        await desk.note(refs[0], "n0", False, "m0", retry=True)  # found on the first page
        await desk.note(refs[0], "n2", False, "m2", retry=True)  # found on the last page
        assert len(jira.issue(refs[0].id)["comments"]) == 3
        await desk.set_queue(refs[0], "Silent fault")
        assert jira.issue(refs[0].id)["request_type"] == "11"
        with pytest.raises(DeskRejected, match="no request type"):
            await desk.open(ticket("k9", queue="Nonexistent"))
    finally:
        await desk.close()


async def test_error_mapping(jira: JiraFake) -> None:
    desk = JiraDesk(jira.url, user=USER, token=TOKEN, timeout=0.5, options={"service_desk_id": "1"})
    try:
        ref = await desk.open(ticket(queue="Report a system problem"))
        jira.mode = "ratelimit"
        with pytest.raises(DeskUnavailable, match=r"HTTP 429.*Retry-After 7"):
            await desk.find("k1")
        jira.mode = None
        with pytest.raises(DeskRejected, match="HTTP 404: The request does not exist"):
            await desk.note(RemoteTicket("ACME-99"), "x", False, "m", retry=False)
        with pytest.raises(DeskRejected, match="no transition"):
            desk.states["closed"] = "Closed"
            await desk.set_state(ref, "closed")  # Closed is only reachable from Resolved
        bad = JiraDesk(jira.url, user=USER, token="wrong", options={"service_desk_id": "1"})
        with pytest.raises(DeskUnavailable, match="authentication failed"):
            await bad.find("k1")
        await bad.close()
        await jira.stop()
        with pytest.raises(DeskUnavailable, match="Jira GET"):
            await desk.find("k1")
    finally:
        await desk.close()
