"""Faults the reliability storms once ran into, each shown alone and deterministically, so they stay fixed.

The storm tests also count them (figures `desk_delivery_id_collisions`,
`notices_withdrawn_after_failed_attempt`, `notices_withdrawn_by_older_clock`,
`incidents_resolved_before_opened`) and fail when one is not zero."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from connectors.alertmanager import problem_id
from tests.conftest import new_pg_database
from tests.integration import bodies
from tests.reliability.harness import (
    AM_HEADERS,
    Ident,
    Receiver,
    Server,
    Storm,
    desk_config,
    read_store,
    wait_drained,
    write_config,
)

TIMEOUT = 120
pytestmark = pytest.mark.reliability


async def test_each_webhook_delivery_id_names_one_change(
    mailbox: Any, receiver: Receiver, servers: list[Server], tmp_path: Path
) -> None:
    """fire, recover, relapse, recover: the four ticket changes after the opening carry four delivery
    ids. A receiver deduplicating by X-Alertbridge-Delivery, as the webhook's documentation asks, drops
    the second `resolved` and the ticket stays `new` in the desk."""
    url = f"sqlite:///{tmp_path}/alertbridge.db"
    server = Server(desk_config(tmp_path, mailbox.url, await receiver.start()), url, tmp_path)
    servers.append(server)
    server.migrate()
    ident = Ident(0, "acme", {**bodies.WEBSITE_DOWN, "instance": "https://relapse.acme.example/"}, "Site down")
    async with asyncio.timeout(60), aiohttp.ClientSession() as session:
        await server.start(session)
        storm = Storm(server.base, concurrency=1)
        storm.start(session)
        for status, phase in [("firing", 0), ("resolved", 1), ("firing", 2), ("resolved", 3)]:
            storm.add([bodies.body([ident.alert(status, phase)])])
            await storm.settle(10)
            await wait_drained(server, session, 20)
        await storm.close()
        await server.stop()
    states = [(e["data"]["state"], e["delivery"]) for e in receiver.accepted if e["event"] == "ticket.state"]
    assert [s for s, _ in states] == ["resolved", "new", "resolved"], states
    deliveries = [e["delivery"] for e in receiver.accepted]
    assert len(deliveries) == len(set(deliveries)), states


async def test_a_notice_waiting_for_a_retry_is_not_withdrawn(
    mailbox: Any, servers: list[Server], tmp_path: Path
) -> None:
    """No hold-down (notify_after 0); the SMTP server refuses the "affected" notice once, and the service
    recovers before the retry: when SMTP is back the curator must get both notices, in order."""
    url = f"sqlite:///{tmp_path}/alertbridge.db"
    cfg = write_config(tmp_path / "alertbridge.yaml", mailbox.url, outbox={"backoff_initial": 3, "backoff_max": 3})
    server = Server(cfg, url, tmp_path)
    servers.append(server)
    server.migrate()
    ident = Ident(0, "acme", {**bodies.WEBSITE_DOWN, "instance": "https://retry.acme.example/"}, "Site down")
    async with asyncio.timeout(60), aiohttp.ClientSession() as session:
        await server.start(session)
        storm = Storm(server.base, concurrency=1)
        storm.start(session)
        mailbox.refuse = True
        storm.add([bodies.body([ident.alert("firing", 0)])])
        await storm.settle(10)
        for _ in range(100):  # until the first attempt was refused
            _, ob = await server.get_json(session, "/api/v1/outbox")
            if any(i["attempts"] and "451" in (i["last_error"] or "") for i in ob["items"]):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the notice was never attempted: {ob}")
        storm.add([bodies.body([ident.alert("resolved", 1)])])
        await storm.settle(10)
        mailbox.refuse = False
        await wait_drained(server, session, 20)
        await storm.close()
        store = await read_store(url)
        await server.stop()
    rows = [
        (r["key"].split(":")[3], r["state"], r["last_error"]) for r in store["outbox"] if r["kind"] == "curator_mail"
    ]
    subjects = [m["subject"].split("]", 1)[1].split(":")[0].strip() for m in mailbox.messages]
    assert subjects == ["Service affected", "Service restored"], rows


def _two_problems() -> tuple[Ident, Ident]:
    """Two alerts of acme whose correlation keys sort A before B (the pipeline locks in key order)."""
    made = [
        Ident(n, "acme", {**bodies.WEBSITE_DOWN, "instance": f"https://shop{n}.acme.example/"}, f"Shop {n} down")
        for n in range(2)
    ]
    for i in made:
        i.alert("firing", 0)  # sets its fingerprint
    made.sort(key=lambda i: problem_id(i.labels))
    return made[0], made[1]


async def test_a_transaction_that_waited_does_not_act_in_the_past(
    mailbox: Any, servers: list[Server], tmp_path: Path
) -> None:
    """Request X (A firing again, B resolved) starts and waits for A's row, locked here from outside.
    Meanwhile request Y (B firing) opens B's incident and commits. Then X goes on and resolves B's
    incident: with the clock it read when it started, before the incident was opened."""
    url = new_pg_database()
    server = Server(write_config(tmp_path / "alertbridge.yaml", mailbox.url), url, tmp_path)
    servers.append(server)
    server.migrate()
    a, b = _two_problems()
    async with asyncio.timeout(60), aiohttp.ClientSession() as session:
        await server.start(session)

        async def post(body: dict[str, Any]) -> int:
            async with session.post(
                server.base + "/api/v1/alertmanager", data=json.dumps(body), headers=AM_HEADERS
            ) as r:
                return r.status

        assert await post(bodies.body([a.alert("firing", 0)])) == 200
        async with await psycopg.AsyncConnection.connect(url) as conn:
            async with conn.transaction():
                await conn.execute("SELECT id FROM alerts WHERE identity = %s FOR UPDATE", (a.fp,))
                x = asyncio.create_task(post(bodies.body([a.alert("firing", 0), b.alert("resolved", 1)])))
                await asyncio.sleep(1.0)
                assert not x.done(), "X should be waiting for A's row"
                assert await post(bodies.body([b.alert("firing", 0)])) == 200  # Y, while X waits
            assert await x == 200
        await wait_drained(server, session, 20)
        store = await read_store(url)
        await server.stop()
    b_incident = next(r["incident_id"] for r in store["alerts"] if r["identity"] == b.fp)
    [inc] = [i for i in store["incidents"] if i["id"] == b_incident]
    notices = [(r["key"], r["state"], r["last_error"]) for r in store["outbox"] if r["incident_id"] == inc["id"]]
    assert inc["state"] == "resolved", inc
    assert inc["resolved_at"] >= inc["opened_at"], (inc["opened_at"], inc["resolved_at"], notices)
