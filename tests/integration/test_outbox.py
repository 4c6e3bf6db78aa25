"""Curator mail through the outbox: SMTP outages lose nothing, nothing is sent twice, order per incident."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import free_port, load_settings
from tests.integration import bodies
from tests.integration.api import Api

ACME = "curator@acme.example"
FAST = {"poll_interval": 0.05, "backoff_initial": 0.2, "backoff_max": 0.2, "max_attempts": 5, "lease": 30}


async def test_smtp_outage_keeps_notices_queued_then_delivers_each_once(
    database_url: str, mailbox: Any, service_factory: Any
) -> None:
    api = Api(await service_factory(load_settings(database_url, mailbox.url, outbox=FAST)))
    mailbox.refuse = True  # 451: the server is there but will not take mail now
    await api.am(bodies.website())
    await api.am(bodies.website("resolved"))
    await api.svc.dispatcher.deliver_due()
    rows = await api.outbox()
    assert [r["state"] for r in rows] == ["pending", "pending"]
    assert rows[0]["attempts"] >= 1 and "451" in rows[0]["last_error"]
    status, out = await api.get("/api/v1/outbox")
    assert out["pending"] == 2 and out["items"][0]["last_error"]
    mailbox.refuse = False
    await asyncio.sleep(0.25)
    await api.deliver()
    subjects = [m["subject"] for m in mailbox.to(ACME)]
    assert len(subjects) == 2 and "affected" in subjects[0] and "restored" in subjects[1]
    await api.deliver()
    assert len(mailbox.to(ACME)) == 2
    assert [r["state"] for r in await api.outbox()] == ["delivered", "delivered"]


async def test_smtp_server_absent_then_present(database_url: str, service_factory: Any) -> None:
    from tests.conftest import Mailbox

    port = free_port()
    api = Api(await service_factory(load_settings(database_url, f"smtp://127.0.0.1:{port}", outbox=FAST)))
    await api.am(bodies.website())
    await api.deliver()
    [row] = await api.outbox()
    assert row["state"] == "pending" and row["last_error"]
    await asyncio.sleep(0.25)
    box = Mailbox()
    box.port = port
    from aiosmtpd.controller import Controller

    box.controller = Controller(box, hostname="127.0.0.1", port=port)
    box.controller.start()
    try:
        await api.deliver()
        assert len(box.to(ACME)) == 1
    finally:
        box.controller.stop()


async def test_without_smtp_configured_notices_wait_visibly(database_url: str, service_factory: Any) -> None:
    api = Api(await service_factory(load_settings(database_url, None)))
    await api.am(bodies.website())
    await api.deliver()
    [row] = await api.outbox()
    assert row["state"] == "pending" and row["attempts"] == 0 and "SMTP" in row["last_error"]
    status, text = await api.get("/metrics", token=None)
    assert "alertbridge_outbox_depth 1.0" in text


async def test_refused_recipient_fails_and_restored_is_not_sent(
    database_url: str, mailbox: Any, service_factory: Any
) -> None:
    class Refusing:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
            return "550 5.1.1 no such user"

    from aiosmtpd.controller import Controller

    port = free_port()
    ctl = Controller(Refusing(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        api = Api(await service_factory(load_settings(database_url, f"smtp://127.0.0.1:{port}", outbox=FAST)))
        await api.am(bodies.website())
        await api.deliver()
        await api.am(bodies.website("resolved"))
        await api.deliver()
    finally:
        ctl.stop()
    affected, restored = await api.outbox()
    assert affected["state"] == "failed" and "550" in affected["last_error"]
    assert restored["state"] == "cancelled"
    [inc] = await api.incidents()
    assert inc["curator_notified"] is False
    ticket = await api.ticket(inc["ticket"])
    assert any("could not be delivered" in a["body"] for a in ticket["articles"])
    assert not any(a["visible_to_customer"] for a in ticket["articles"])


async def test_two_dispatchers_on_one_database_send_once(database_url: str, mailbox: Any, service_factory: Any) -> None:
    settings = load_settings(database_url, mailbox.url, outbox=FAST)
    one, two = Api(await service_factory(settings)), Api(await service_factory(settings))
    for n in range(10):
        labels = {**bodies.WEBSITE_DOWN, "instance": f"https://s{n}.acme.example/"}
        await one.am(bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN)]))
    await asyncio.gather(one.deliver(), two.deliver(), one.deliver(), two.deliver())
    assert len(mailbox.to(ACME)) == 10
    assert len({m["message_id"] for m in mailbox.messages}) == 10


@pytest.mark.parametrize("crash_after_send", [False, True])
async def test_expired_lease_is_retried_with_the_same_message_id(
    database_url: str, mailbox: Any, service_factory: Any, crash_after_send: bool
) -> None:
    """A process that died mid-delivery leaves a leased row; after the lease another delivers it.

    If the SMTP server had already taken the message, the retry carries the same Message-ID, so a
    duplicate is recognisable; the tight window between SMTP's 250 and the commit is where it can happen.
    """
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from bridge.schema import outbox

    api = Api(await service_factory(load_settings(database_url, mailbox.url, outbox=FAST)))
    await api.am(bodies.website())
    [row] = await api.outbox()
    if crash_after_send:
        await api.svc.dispatcher.mailer.send(row["payload"], row["key"])
    async with api.svc.db.transaction() as conn:  # the dead process's lease, already expired
        await conn.execute(update(outbox).values(locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    await api.deliver()
    ids = {m["message_id"] for m in mailbox.to(ACME)}
    assert len(ids) == 1
    assert (await api.outbox())[0]["state"] == "delivered"


async def test_a_row_whose_lease_ran_out_while_it_waited_is_not_sent_again(
    database_url: str, mailbox: Any, service_factory: Any
) -> None:
    """One claim takes several rows and delivers them one after another. If the first takes so long that
    the lease on a later one runs out, another replica takes that one over and sends it; when the first
    claim reaches it, it must leave it alone (a storm with three replicas once sent such notices twice)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from bridge.schema import outbox

    settings = load_settings(database_url, mailbox.url, outbox=FAST)
    one, two = Api(await service_factory(settings)), Api(await service_factory(settings))
    for n in range(2):
        labels = {**bodies.WEBSITE_DOWN, "instance": f"https://s{n}.acme.example/"}
        await one.am(bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN)]))
    first, second = await one.outbox()
    slow = one.svc.dispatcher.mailer
    real_send = slow.send
    in_first, go_on = asyncio.Event(), asyncio.Event()

    async def send_slowly(payload: dict[str, Any], key: str) -> None:
        if key == first["key"]:
            in_first.set()
            await go_on.wait()  # the SMTP server is slow with this one
        await real_send(payload, key)

    slow.send = send_slowly  # type: ignore[method-assign]
    claim = asyncio.create_task(one.svc.dispatcher.deliver_due(limit=2))  # takes both rows
    await asyncio.wait_for(in_first.wait(), 10)
    async with one.svc.db.transaction() as conn:  # meanwhile the lease on the second runs out ...
        await conn.execute(
            update(outbox).where(outbox.c.id == second["id"]).values(locked_until=datetime.now(UTC) - timedelta(1))
        )
    assert await two.svc.dispatcher.deliver_due() == 1  # ... and another replica sends it
    go_on.set()
    await asyncio.wait_for(claim, 10)
    await one.deliver()
    sent = [m["message_id"] for m in mailbox.to(ACME)]
    assert len(sent) == 2 and len(set(sent)) == 2, sent
    assert [r["state"] for r in await one.outbox()] == ["delivered", "delivered"]
