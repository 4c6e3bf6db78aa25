"""Tickets mirrored to Znuny (connectors/desks/znuny.py) through GenericTicketConnectorREST, against
tests/fakes/znuny_fake.py (shaped on captures from a real Znuny 6.5): the right queue, type, customer user, key
and origin; silent faults only ever get internal articles; state changes followed; exactly one ticket after a
crash between Znuny's answer and our commit, or a concurrent create; nothing lost while Znuny is down, failing,
slow or refusing the credentials; refusals fail the row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bridge.schema import outbox, tickets
from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket
from connectors.desks.znuny import ZnunyDesk
from tests.conftest import fixture_json
from tests.fakes.znuny_fake import PASSWORD, USER, ZnunyFake
from tests.integration import bodies
from tests.integration.api import ENG, Api
from tests.integration.desks import backoff_passed, desk_api, desk_rows, local_ticket

INTERNAL, EMAIL = 3, 1  # CommunicationChannelID


@pytest.fixture
async def znuny() -> AsyncIterator[ZnunyFake]:
    fake = ZnunyFake()
    await fake.start()
    yield fake
    await fake.idle()
    await fake.stop()


def desk_config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "backend": "znuny",
        "url": url,
        "user": USER,
        "password": PASSWORD,
        "incident_queue": "Incidents",
        "fault_queue": "Faults",
        "key_field": "AlertbridgeKey",
        "origin_field": "Origin",
        "requester": "monitoring@msp.example",
        "timeout": 1.0,
        "options": {
            "customer_user": "acme-monitoring",
            "visible_to": "monitoring@acme.example",
            "type.Incidents": "Incident",
            "type.Faults": "Problem",
        },
        **extra,
    }


async def make_api(
    znuny: ZnunyFake, database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path, **extra: Any
) -> Api:
    return await desk_api("znuny", desk_config(znuny.url, **extra), database_url, mailbox, service_factory, tmp_path)


@pytest.fixture
async def api(znuny: ZnunyFake, database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path) -> Api:
    return await make_api(znuny, database_url, mailbox, service_factory, tmp_path)


async def ticket_of(api: Api, znuny: ZnunyFake, incident_id: int) -> dict[str, Any]:
    inc = await api.incident(incident_id)
    [ticket] = znuny.by_key(f"{inc['key']}#{incident_id}")
    return ticket


async def test_incident_and_silent_fault_land_with_the_right_visibility(api: Api, znuny: ZnunyFake) -> None:
    status, body = await api.am(bodies.website())
    assert status == 200, body
    incident_id = body["alerts"][0]["incident_id"]
    status, body = await api.zbx(fixture_json("zabbix/problem.json"))  # RAID degraded on acme-db01
    fault_id = body["alerts"][0]["incident_id"]
    await api.deliver()

    inc = await api.incident(incident_id)
    t = await ticket_of(api, znuny, incident_id)
    assert (t["Queue"], t["Type"], t["State"], t["Priority"]) == ("Incidents", "Incident", "new", "5 very high")
    assert (t["CustomerUserID"], t["CustomerID"]) == ("acme-monitoring", "ACME")
    assert znuny.field(t, "AlertbridgeKey") == f"{inc['key']}#{incident_id}"
    assert znuny.field(t, "Origin") == "monitoring"
    assert inc["title"] in t["Title"]
    first = t["Article"][0]
    assert (first["CommunicationChannelID"], first["IsVisibleForCustomer"], first["SenderType"]) == (
        INTERNAL,
        0,
        "system",
    )
    assert first["From"] == "monitoring@msp.example" and "Opened by alertbridge" in first["Body"]
    mirror = await local_ticket(api, incident_id)
    assert (mirror["desk"], mirror["external_id"]) == ("znuny", str(t["TicketID"]))
    assert mirror["external_url"] == f"{znuny.url}/index.pl?Action=AgentTicketZoom;TicketID={t['TicketID']}"
    # the curator's notice is customer-visible (an Email article, IsVisibleForCustomer 1), the rest internal
    visible = [a for a in t["Article"] if a["IsVisibleForCustomer"] == 1]
    assert visible and all(
        (a["CommunicationChannelID"], a["To"]) == (EMAIL, "monitoring@acme.example") for a in visible
    )
    assert all(a["CommunicationChannelID"] == INTERNAL for a in t["Article"] if a["IsVisibleForCustomer"] == 0)

    f = await ticket_of(api, znuny, fault_id)
    assert (f["Queue"], f["Type"]) == ("Faults", "Problem") and znuny.field(f, "Origin") == "monitoring"
    assert len(f["Article"]) > 1 and "raid" in (f["Title"] + f["Article"][0]["Body"]).lower()
    assert all((a["IsVisibleForCustomer"], a["CommunicationChannelID"]) == (0, INTERNAL) for a in f["Article"])

    # an engineer takes it, then the source recovers: Znuny follows
    status, _ = await api.post(f"/api/v1/incidents/{incident_id}/acknowledge", {"engineer": "Olga"}, ENG)
    assert status == 200
    await api.deliver()
    assert t["State"] == "open"
    await api.am(bodies.website("resolved"))
    await api.deliver()
    assert t["State"] == "closed successful" and t["StateType"] == "closed"
    assert znuny.states_of(t["TicketID"]) == ["open", "closed successful"]
    assert len(znuny.created()) == 2
    assert {r["state"] for r in await api.outbox()} == {"delivered"}
    texts = [a["Body"] for a in t["Article"]]
    assert len(texts) == len(set(texts))
    # dynamic-field searches went as a POST body, never as a GET query (which Znuny ignores)
    searches = [(m, d) for m, p, d in znuny.requests if "Search" in p or (m == "GET" and p == "/Ticket")]
    assert searches and all(m == "POST" and d["DynamicField"]["Name"] == "AlertbridgeKey" for m, d in searches)
    # one session, made once, carried by every later call
    assert sum(1 for _, p, _ in znuny.requests if p == "/Session") == 1
    assert all("SessionID" in d and "Password" not in d for _, p, d in znuny.requests if p != "/Session")


async def test_a_crash_after_znuny_created_the_ticket_adopts_it(api: Api, znuny: ZnunyFake) -> None:
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    mirror = await local_ticket(api, incident_id)
    assert mirror["external_id"]
    # as if the process died after Znuny answered but before our commit: the local record never saw it
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
    assert len(znuny.created()) == 1  # adopted by its key, not created twice
    assert (await local_ticket(api, incident_id))["external_id"] == mirror["external_id"]
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}


async def test_a_concurrent_create_adopts_the_oldest_and_retires_the_twin(api: Api, znuny: ZnunyFake) -> None:
    znuny.mode = "duplicate"  # another writer created the same ticket between our search and our create
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    znuny.mode = None
    twin, ours = znuny.created()
    inc = await api.incident(incident_id)
    assert znuny.by_key(f"{inc['key']}#{incident_id}") == [twin]  # only one carries the key now
    assert (await local_ticket(api, incident_id))["external_id"] == str(twin["TicketID"])
    assert ours["State"] == "closed unsuccessful" and "Duplicate of ticket" in ours["Article"][-1]["Body"]
    assert ours["Article"][-1]["IsVisibleForCustomer"] == 0
    assert len(twin["Article"]) > 1 and {r["state"] for r in await desk_rows(api)} == {"delivered"}


async def test_znuny_down_loses_nothing_and_catches_up_once_in_order(api: Api, znuny: ZnunyFake, mailbox: Any) -> None:
    await znuny.stop()
    status, body = await api.am(bodies.website())
    assert status == 200  # ingest never waits for the desk
    incident_id = body["alerts"][0]["incident_id"]
    await api.am(bodies.website("resolved"))
    await api.deliver()
    assert len(mailbox.to("curator@acme.example")) == 2  # the curator is not held up by the desk
    waiting = await desk_rows(api)
    assert waiting and all(r["state"] == "pending" for r in waiting)
    assert "Znuny" in (waiting[0]["last_error"] or "") and "ClientConnectorError" in waiting[0]["last_error"]

    await znuny.start()
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await api.outbox()} == {"delivered"}
    [t] = znuny.created()
    assert t["State"] == "closed successful"
    texts = [a["Body"] for a in t["Article"]]
    opened = [i for i, x in enumerate(texts) if "Opened by monitoring" in x]
    recovered = [i for i, x in enumerate(texts) if "Recovered" in x]
    assert opened and recovered and opened[0] < recovered[0]  # in the order they happened
    assert len(texts) == len(set(texts))  # none twice
    assert (await local_ticket(api, incident_id))["external_id"] == str(t["TicketID"])


async def test_5xx_and_timeouts_are_retried_without_duplicates(api: Api, znuny: ZnunyFake) -> None:
    znuny.mode = "5xx"
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.deliver()
    [first, *_] = await desk_rows(api)
    assert first["state"] == "pending" and "HTTP 503" in first["last_error"]
    znuny.mode = None
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}
    [t] = znuny.created()
    articles = len(t["Article"])

    # Znuny answers too late: the client gives up, Znuny still does it; the retry finds it done
    znuny.mode, znuny.delay = "slow", 2.0
    status, _ = await api.post(f"/api/v1/incidents/{incident_id}/acknowledge", {"engineer": "Olga"}, ENG)
    assert status == 200
    await api.deliver()
    waiting = [r for r in await desk_rows(api) if r["state"] == "pending"]
    assert waiting and "TimeoutError" in (waiting[0]["last_error"] or "")
    await znuny.idle()
    znuny.mode = None
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"}
    assert len(znuny.created()) == 1 and t["State"] == "open"
    texts = [a["Body"] for a in t["Article"]]
    assert len(texts) > articles and len(texts) == len(set(texts))  # the slow note landed once


async def test_rejected_credentials_are_retried_with_a_clear_error(api: Api, znuny: ZnunyFake) -> None:
    znuny.mode = "auth"
    await api.am(bodies.website())
    await api.deliver()
    [first, *_] = await desk_rows(api)
    assert first["state"] == "pending" and "authentication failed" in first["last_error"]
    assert "SessionCreate.AuthFail" in first["last_error"]
    znuny.mode = None  # the credentials were fixed
    await backoff_passed(api)
    await api.deliver()
    assert {r["state"] for r in await desk_rows(api)} == {"delivered"} and len(znuny.created()) == 1


async def test_a_refusal_fails_the_row_and_says_why(
    znuny: ZnunyFake, database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path
) -> None:
    api = await make_api(znuny, database_url, mailbox, service_factory, tmp_path, incident_queue="NoSuchQueue")
    status, body = await api.am(bodies.website())
    await api.deliver()
    [opened] = [r for r in await api.outbox() if r["key"].endswith(":open")]
    assert opened["state"] == "failed" and "TicketCreate.InvalidParameter" in opened["last_error"]
    assert "Queue parameter is invalid" in opened["last_error"] and not znuny.created()
    ticket = await api.ticket(body["alerts"][0]["ticket"])
    assert any("open failed" in a["body"] for a in ticket["articles"])


# --- the client against the fake directly ---------------------------------------------------------------
def new_ticket(key: str = "k1", queue: str = "Incidents", origin: str = "engineer") -> NewTicket:
    return NewTicket(key, "incident", queue, "[acme] site down", "first", "olga@msp.example", origin, "acme", "high")


def client(znuny: ZnunyFake, **kw: Any) -> ZnunyDesk:
    args: dict[str, Any] = {"user": USER, "password": PASSWORD, "requester": "monitoring@msp.example", "timeout": 0.5}
    return ZnunyDesk(znuny.url, **{**args, **kw})


async def test_open_note_move_and_state(znuny: ZnunyFake) -> None:
    desk = client(znuny, options={"type.Faults": "Problem", "auth": "login"})
    try:
        ref = await desk.open(new_ticket("key with spaces #1"))
        t = znuny.tickets[int(ref.id)]
        assert ref.id == "2"  # the Welcome ticket is 1
        assert (t["CustomerUserID"], t["Priority"], znuny.field(t, "Origin")) == (
            "monitoring@msp.example",
            "4 high",
            "engineer",
        )
        assert t["Article"][0]["From"] == "olga@msp.example"
        assert (await desk.open(new_ticket("key with spaces #1"))) == ref and len(znuny.created()) == 1
        assert await desk.find("key with spaces") is None
        await desk.note(ref, "internal", False, "m1", retry=False)
        await desk.note(ref, "for the customer", True, "m2", retry=False)
        await desk.note(ref, "for the customer", True, "m2", retry=True)  # already there
        notes = t["Article"][1:]
        assert [(a["IsVisibleForCustomer"], a["CommunicationChannelID"]) for a in notes] == [(0, INTERNAL), (1, EMAIL)]
        assert notes[1]["To"] == "monitoring@msp.example" and notes[1]["Body"].endswith("[m2]")
        await desk.set_queue(ref, "Faults")
        assert (t["Queue"], t["Type"]) == ("Faults", "Problem")
        await desk.set_state(ref, "in_progress")
        await desk.set_state(ref, "closed")
        assert znuny.states_of(t["TicketID"]) == ["open", "closed successful"]
        desk.states["closed"] = "archived"
        with pytest.raises(DeskRejected, match=r"TicketUpdate.InvalidParameter: TicketUpdate: Ticket->StateID"):
            await desk.set_state(ref, "closed")
        assert all("Password" in d and d["UserLogin"] == USER for _, _, d in znuny.requests)  # auth: login
    finally:
        await desk.close()


async def test_a_retried_note_looks_through_the_latest_articles_only(znuny: ZnunyFake) -> None:
    desk = client(znuny, options={"article_lookback": "3"})
    try:
        ref = await desk.open(new_ticket())
        for i in range(5):
            await desk.note(ref, f"n{i}", False, f"m{i}", retry=False)
        await desk.note(ref, "n4", False, "m4", retry=True)  # among the latest three: not posted again
        assert len(znuny.tickets[int(ref.id)]["Article"]) == 6
        get = [d for m, p, d in znuny.requests if m == "GET"][-1]
        assert (get["AllArticles"], get["ArticleOrder"], get["ArticleLimit"]) == ("1", "DESC", "3")
    finally:
        await desk.close()


async def test_search_only_trusts_tickets_that_carry_the_key(znuny: ZnunyFake) -> None:
    # a web service whose search route ignores the filter (like the stock GET /Ticket) finds other tickets
    other = client(znuny, key_field="Origin")  # a ticket whose AlertbridgeKey is empty
    await other.open(new_ticket("x"))
    await other.close()
    desk = client(znuny, key_field="NoSuchField")  # Znuny drops an unknown field from a search
    try:
        assert await desk.find("k1") is None  # every ticket came back; none carries the key
        with pytest.raises(DeskRejected, match=r"DynamicField->Name parameter is invalid"):
            await desk.open(new_ticket("k1"))
    finally:
        await desk.close()


async def test_error_mapping(znuny: ZnunyFake) -> None:
    desk = client(znuny)
    try:
        ref = await desk.open(new_ticket())
        with pytest.raises(DeskRejected, match=r"TicketUpdate.AccessDenied"):
            await desk.note(RemoteTicket("999999"), "x", False, "m", retry=False)
        with pytest.raises(DeskRejected, match=r"TicketGet.AccessDenied"):
            await desk.note(RemoteTicket("999999"), "x", False, "m", retry=True)
        # a session that expired (or was killed) is made again, once
        znuny.expire_sessions()
        await desk.set_state(ref, "in_progress")
        assert sum(1 for _, p, _ in znuny.requests if p == "/Session") == 2
        znuny.mode = "auth"
        with pytest.raises(DeskUnavailable, match=r"SessionCreate: authentication failed.*SessionCreate.AuthFail"):
            await desk.set_state(ref, "resolved")
        znuny.mode = "5xx"
        znuny.fail_status = 429
        with pytest.raises(DeskUnavailable, match="HTTP 429"):
            await desk.find("k1")
        znuny.mode = None
        bad = client(znuny, options={"search_path": "/Search"})  # the POST search route was never added
        with pytest.raises(DeskUnavailable, match=r"HTTP 500.*determine Operation.*no route for POST /Search"):
            await bad.find("k1")
        await bad.close()
        wrong = client(znuny, password="wrong", options={"auth": "login"})
        with pytest.raises(DeskUnavailable, match=r"TicketSearch.AuthFail.*authentication failed"):
            await wrong.find("k1")
        await wrong.close()
        await znuny.stop()
        with pytest.raises(DeskUnavailable, match=r"Znuny \w+ \(\w+ /\w+.*\): Client"):
            await desk.note(ref, "x", False, "m", retry=True)
    finally:
        await desk.close()


async def test_settings_and_urls(znuny: ZnunyFake) -> None:
    from bridge.config import RemoteDesk
    from connectors.desks.znuny import from_settings

    cfg = RemoteDesk.model_validate(
        {**desk_config(znuny.api), "states": {"resolved": "closed unsuccessful"}, "options": {"webservice": "X"}}
    )
    desk = from_settings(cfg)
    try:
        assert desk.api == znuny.api and desk.ui == znuny.url  # a full web-service URL is taken as is
        assert desk.states["resolved"] == "closed unsuccessful" and desk.states["in_progress"] == "open"
        assert desk.customer_user == "monitoring@msp.example"
        ref = await desk.open(new_ticket())
        await desk.set_state(ref, "resolved")
        assert znuny.tickets[int(ref.id)]["State"] == "closed unsuccessful"
    finally:
        await desk.close()
    with pytest.raises(ValueError, match=r"options\.auth"):
        ZnunyDesk(znuny.url, user=USER, password=PASSWORD, options={"auth": "basic"})


CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "znuny"  # captured from a real Znuny 6.5
VOLATILE = {
    "SessionID",
    "TicketNumber",
    "Created",
    "Changed",
    "ChangeTime",
    "CreateTime",
    "IncomingTime",
    "UnlockTimeout",
    "Age",
}


def _same(got: Any, want: Any, where: str = "") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (where, sorted(set(got) ^ set(want)))
        for k, v in want.items():
            if k not in VOLATILE:
                _same(got[k], v, f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    else:
        assert got == want and type(got) is type(want), (where, got, want)


def _captures() -> list[tuple[str, dict[str, Any]]]:
    import json

    return [(p.name, json.loads(p.read_text())) for p in sorted(CAPTURES.glob("*.json"))]


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="the captures from a real Znuny are not on this machine")
async def test_the_fake_answers_the_captured_requests_as_znuny_did(znuny: ZnunyFake) -> None:
    import json

    import aiohttp

    znuny.dynamic_fields.discard("Origin")  # the captured Znuny had only AlertbridgeKey
    session = ""
    async with aiohttp.ClientSession() as http:
        for name, fx in _captures():
            req, want = fx["request"], fx["response"]
            if req["path"].startswith("/TicketHistory"):
                continue  # not used by alertbridge, not in the fake
            query = {k: str(session if k == "SessionID" else v) for k, v in (req["query"] or {}).items()}
            body = req["body"]
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode() if body is not None else None
            async with http.request(req["method"], znuny.api + req["path"], params=query, data=data) as r:
                text = await r.text()
                assert r.status == want["status"], name
                assert r.headers["Content-Type"] == want["headers"]["Content-Type"], name
            got = json.loads(text) if want["headers"]["Content-Type"].startswith("application/json") else text
            _same(got, want["body"], name)
            if fx["name"] == "SessionCreate":
                session = got["SessionID"]
