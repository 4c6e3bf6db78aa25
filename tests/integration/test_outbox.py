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
