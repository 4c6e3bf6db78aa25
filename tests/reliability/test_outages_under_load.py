"""The SMTP server refuses (451) and the customers' remote desk (the webhook backend, a receiver run by
the test) answers 503 for a while under a storm, then both come back.

- Nothing waits for them: every post is still answered 2xx.
- While they are down the backlog is visible: `alertbridge_outbox_pending{kind=...}` in /metrics and
  `pending` / `pending_by_kind` / the items' `last_error` in GET /api/v1/outbox.
- Afterwards nothing is lost and nothing is sent twice: every queued notice arrives once (unique
  Message-IDs), every desk change arrives once, and per ticket the desk receives exactly the changes
  alertbridge made, in the order it made them.

Two faults this storm once ran into are counted and fail it (test_regressions.py shows each alone):
different desk changes under one `X-Alertbridge-Delivery`, and "affected" notices withdrawn as if
within a hold-down although notify_after is 0.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import new_pg_database
from tests.reliability.harness import (
    Receiver,
    Server,
    Storm,
    check_mail,
    check_store,
    desk_config,
    identities,
    plan,
    read_store,
    wait_drained,
    write_figures,
)

TIMEOUT = 200
pytestmark = pytest.mark.reliability
IDENTITIES = 150
HEALTHY, DOWN = 2.0, 6.0  # seconds of storm before the outage, seconds the peers stay down


def pending_metrics(text: str) -> dict[str, float]:
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^alertbridge_outbox_pending\{kind="([^"]+)"\} (\S+)$', text, re.MULTILINE)
    }


def expected_event(row: dict[str, Any]) -> tuple[str, Any]:
    """What the receiver must get for one desk row of the outbox."""
    p = row["payload"]
    if p["op"] == "open":
        return ("ticket.opened", p["external_key"])
    if p["op"] == "note":
        return ("ticket.note", p["text"])
    if p["op"] == "state":
        return ("ticket.state", p["state"])
    return ("ticket.queue", p["kind"])


def received_event(e: dict[str, Any]) -> tuple[str, Any]:
    d = e["data"]
    if e["event"] == "ticket.opened":
        return (e["event"], d["key"])
    if e["event"] == "ticket.note":
        return (e["event"], d["text"])
    if e["event"] == "ticket.state":
        return (e["event"], d["state"])
    return (e["event"], "incident" if d["queue"] == "Incidents" else "fault")


def check_desk(store: dict[str, list[dict[str, Any]]], receiver: Receiver) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    rows = [r for r in store["outbox"] if r["kind"] == "desk"]
    bad = [(r["key"], r["state"], r["last_error"]) for r in rows if r["state"] != "delivered"]
    if bad:
        problems.append(f"{len(bad)} desk changes not delivered: {bad[:5]}")
    tickets = {t["id"]: t for t in store["tickets"]}
    ext_to_key: dict[str, str] = {}
    for e in receiver.accepted:
        if e["event"] == "ticket.opened":
            ext_to_key[f"EXT-{len(ext_to_key) + 1}"] = e["data"]["key"]
    got: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for e in receiver.accepted:
        key = e["ticket"].get("key") if e["event"] == "ticket.opened" else ext_to_key.get(e["ticket"].get("id"))
        if key is None:
            problems.append(f"an event for a ticket the desk never saw opened: {e['event']} {e['ticket']}")
            continue
        got[key].append(received_event(e))
    want: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for r in rows:  # ordered by id: the order alertbridge made the changes in
        want[tickets[r["payload"]["ticket_id"]]["external_key"]].append(expected_event(r))
    out_of_order = lost = twice = 0
    for key in set(want) | set(got):
        w, g = want.get(key, []), got.get(key, [])
        if w == g:
            continue
        if Counter(w) == Counter(g):
            out_of_order += 1
            problems.append(f"ticket {key}: desk got the changes out of order: {g} instead of {w}")
        else:
            missing, extra = Counter(w) - Counter(g), Counter(g) - Counter(w)
            lost += sum(missing.values())
            twice += sum(extra.values())
            problems.append(f"ticket {key}: lost {dict(missing)}, extra {dict(extra)}")
    for t in store["tickets"]:
        if t["external_id"] is None:
            problems.append(f"ticket {t['number']} never got its desk id")
    deliveries = Counter(e["delivery"] for e in receiver.accepted)
    collisions = {d: n for d, n in deliveries.items() if n > 1}
    figures = {
        "desk_changes_queued": len(rows),
        "desk_events_accepted": len(receiver.accepted),
        "desk_events_refused_while_down": receiver.refused,
        "desk_tickets": len(want),
        "desk_tickets_out_of_order": out_of_order,
        "desk_changes_lost": lost,
        "desk_changes_sent_twice": twice,
        "desk_bad_signatures": receiver.bad_signatures,
        # different changes under one X-Alertbridge-Delivery (test_regressions.py shows it alone)
        "desk_delivery_id_collisions": sum(n - 1 for n in collisions.values()),
        "desk_delivery_id_collisions_by_event": dict(
            Counter(e["event"] for e in receiver.accepted if collisions.get(e["delivery"]))
        ),
    }
    if figures["desk_delivery_id_collisions"]:
        problems.append(f"{figures['desk_delivery_id_collisions']} different desk changes shared a delivery id")
    return problems, figures


async def test_smtp_and_desk_down_under_a_storm(
    mailbox: Any, receiver: Receiver, servers: list[Server], tmp_path: Path
) -> None:
    seed = int(os.environ.get("ALERTBRIDGE_RELIABILITY_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    url = new_pg_database()
    server = Server(desk_config(tmp_path, mailbox.url, await receiver.start()), url, tmp_path)
    servers.append(server)
    server.migrate()
    all_bodies = plan(identities(IDENTITIES, rng, tag="out"), rng)
    chunks = [all_bodies[i::40] for i in range(40)]
    depth: list[dict[str, Any]] = []  # what /metrics and the API said while the peers were down
    t: dict[str, float] = {}

    async def feed(storm: Storm) -> None:
        for c in chunks:
            storm.add(c)
            await asyncio.sleep(0.25)

    async with asyncio.timeout(TIMEOUT - 15):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=80)) as session:
            await server.start(session)
            storm = Storm(server.base, concurrency=30)
            storm.start(session)
            feeder = asyncio.create_task(feed(storm))
            await asyncio.sleep(HEALTHY)
            mailbox.refuse = True
            receiver.down = True
            t["down"] = time.monotonic()
            while time.monotonic() - t["down"] < DOWN:
                async with session.get(server.base + "/metrics") as r:
                    metrics = pending_metrics(await r.text())
                status, ob = await server.get_json(session, "/api/v1/outbox")
                assert status == 200, ob
                errors = Counter(
                    ("451" if "451" in (i["last_error"] or "") else "503" if "503" in (i["last_error"] or "") else "-")
                    for i in ob["items"]
                )
                depth.append({"metrics": metrics, "api": ob["pending_by_kind"], "errors": dict(errors)})
                await asyncio.sleep(0.5)
            mailbox.refuse = False
            receiver.down = False
            t["up"] = time.monotonic()
            await feeder
            await storm.settle(60)
            await storm.close()
            drain_s = await wait_drained(server, session, 60)
            t["drained"] = time.monotonic()
            await asyncio.sleep(1.0)
            store = await read_store(url)
            store_problems, store_fig = check_store(store, storm.requests)
            mail_problems, mail_fig = check_mail(store, mailbox.messages)
            desk_problems, desk_fig = check_desk(store, receiver)
            rc = await server.stop()

    not_2xx = Counter(a.status for r in storm.requests for a in r.attempts if not 200 <= a.status < 300)
    peak = {
        "metrics_curator_mail": max(d["metrics"].get("curator_mail", 0) for d in depth),
        "metrics_desk": max(d["metrics"].get("desk", 0) for d in depth),
        "api_curator_mail": max(d["api"].get("curator_mail", 0) for d in depth),
        "api_desk": max(d["api"].get("desk", 0) for d in depth),
    }
    figures = {
        "test": "outages_under_load",
        "database": "postgresql",
        "seed": seed,
        "outage_seconds": round(t["up"] - t["down"], 3),
        "backlog_drain_seconds": round(drain_s, 3),
        "outbox_pending_peak": peak,
        "outbox_errors_seen_while_down": dict(sum((Counter(d["errors"]) for d in depth), Counter())),
        "answers_not_2xx": dict(not_2xx),
        **storm.figures(),
        **store_fig,
        **mail_fig,
        **desk_fig,
        "problems": store_problems + mail_problems + desk_problems,
    }
    write_figures("outages_under_load", figures)
    assert not not_2xx, f"posts were not all taken while the peers were down: {dict(not_2xx)}"
    assert peak["metrics_curator_mail"] > 0 and peak["metrics_desk"] > 0, depth
    assert peak["api_curator_mail"] > 0 and peak["api_desk"] > 0, depth
    assert figures["outbox_errors_seen_while_down"].get("451") and figures["outbox_errors_seen_while_down"].get("503")
    assert rc == 0, server.log_tail()
    assert not store_problems, store_problems
    assert not mail_problems, mail_problems
    assert mail_fig["resent_same_message_id"] == 0, "a notice was sent twice without any crash"
    assert not desk_problems, desk_problems
