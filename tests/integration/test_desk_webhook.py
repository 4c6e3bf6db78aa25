"""The generic outgoing webhook: one signed JSON event per ticket change, retried until the receiver
takes it, in order per incident; a silent fault never sends a customer-visible note."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.desks.webhook import signature
from tests.conftest import fixture_json, free_port
from tests.integration import bodies
from tests.integration.api import ENG, Api
from tests.integration.desks import backoff_passed, desk_api

SECRET = "s3cret-for-tests"


class Receiver:
    """A desk's webhook endpoint: checks the signature, keeps the events, can fail on demand."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[str] = []
        self.fail_with: int | None = None
        self.bad_signatures = 0
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers["X-Alertbridge-Timestamp"]
        if not hmac.compare_digest(signature(SECRET, ts, body), request.headers["X-Alertbridge-Signature"]):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        assert abs(time.time() - int(ts)) < 300
        if self.fail_with:
            return web.Response(status=self.fail_with, text="not now")
        event = json.loads(body)
        assert event["event"] == request.headers["X-Alertbridge-Event"]
        self.deliveries.append(request.headers["X-Alertbridge-Delivery"])
        self.events.append(event)
        if event["event"] == "ticket.opened":
            return web.json_response({"id": f"EXT-{len(self.events)}"})
        return web.json_response({})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}/hook"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.stop()


@pytest.fixture
async def api(receiver: Receiver, database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path) -> Api:
    url = await receiver.start()
    desk = {"backend": "webhook", "url": url, "token": SECRET}
    return await desk_api("hook", desk, database_url, mailbox, service_factory, tmp_path)


async def test_signed_events_follow_the_ticket(api: Api, receiver: Receiver) -> None:
    status, body = await api.am(bodies.website())
    incident_id = body["alerts"][0]["incident_id"]
    await api.zbx(fixture_json("zabbix/problem.json"))  # a silent fault (RAID degraded)
    await api.post(f"/api/v1/incidents/{incident_id}/acknowledge", {"engineer": "Olga"}, ENG)
    await api.am(bodies.website("resolved"))
    await api.deliver()
    assert receiver.bad_signatures == 0
    opened = [e for e in receiver.events if e["event"] == "ticket.opened"]
    assert [(e["data"]["kind"], e["data"]["queue"]) for e in opened] == [("incident", "Incidents"), ("fault", "Faults")]
    site, fault = opened[0]["data"], opened[1]["data"]
    assert site["origin"] == "monitoring" and site["customer"] == "acme" and site["key"].endswith(f"#{incident_id}")
    mine = [e for e in receiver.events if e["ticket"].get("id") == "EXT-1"]
    assert [e["data"]["state"] for e in mine if e["event"] == "ticket.state"] == ["in_progress", "resolved"]
    assert any(e["event"] == "ticket.note" and e["data"]["visible"] for e in mine)  # the curator's notice
    fault_notes = [e for e in receiver.events if e["event"] == "ticket.note" and e["ticket"].get("id") == "EXT-2"]
    assert fault_notes and not any(e["data"]["visible"] for e in fault_notes)
    assert len(receiver.deliveries) == len(set(receiver.deliveries))
    ticket = await api.ticket((await api.incident(incident_id))["ticket"])
    assert (ticket["desk"], ticket["external_id"]) == ("hook", "EXT-1") and fault["key"] != site["key"]


async def test_receiver_down_then_back_gets_everything_once_in_order(api: Api, receiver: Receiver) -> None:
    receiver.fail_with = 503
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    await api.deliver()
    waiting = [r for r in await api.outbox() if r["kind"] == "desk"]
    assert waiting and all(r["state"] == "pending" for r in waiting)
    assert all(r["attempts"] == 0 for r in waiting[1:])  # later changes wait behind the first
    assert "HTTP 503" in (waiting[0]["last_error"] or "")
    receiver.fail_with = None
    await backoff_passed(api)
    await api.deliver()
    kinds = [e["event"] for e in receiver.events]
    assert kinds[0] == "ticket.opened" and kinds[-1] in ("ticket.note", "ticket.state")
    assert "ticket.state" in kinds and kinds.count("ticket.opened") == 1
    assert {r["state"] for r in await api.outbox() if r["kind"] == "desk"} == {"delivered"}


async def test_a_refusal_is_marked_failed_and_noted(api: Api, receiver: Receiver) -> None:
    receiver.fail_with = 400
    status, body = await api.am(bodies.website())
    await api.deliver()
    [opened] = [r for r in await api.outbox() if r["key"].endswith(":open")]
    assert opened["state"] == "failed" and "HTTP 400" in opened["last_error"]
    ticket = await api.ticket(body["alerts"][0]["ticket"])
    assert any("open failed" in a["body"] for a in ticket["articles"])
