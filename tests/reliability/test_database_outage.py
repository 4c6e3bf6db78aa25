"""PostgreSQL stops in the middle of a storm (`pg_ctl stop -m immediate` on a private cluster: the
machine's shared server is never touched) and comes back a few seconds later.

- While it is down, every request gets 503 (never a 500, never a 2xx) and GET /readyz is not 200.
- When it is back, the same process recovers by itself (no restart): /readyz 200, posts 2xx; the time
  it takes is measured from the database's start.
- Every request that got a 2xx, before or after, is stored. A request that got 503 left nothing half
  done: most are retried (as Alertmanager does) and stored by the retry; the ones the sender gives up
  on are either fully absent (no event, no alert row of their own) or fully stored.
- The outbox survives too: the curator notices all go out once (same checks as the kill -9 test).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from tests.conftest import REQUIRE_PG
from tests.reliability.harness import (
    NO_ANSWER,
    PrivateCluster,
    Server,
    Storm,
    body_key,
    check_api,
    check_mail,
    check_store,
    identities,
    plan,
    read_store,
    wait_drained,
    write_config,
    write_figures,
)

TIMEOUT = 200
pytestmark = pytest.mark.reliability
IDENTITIES = 250
BEFORE, OUTAGE = 3.0, 4.0  # seconds of storm before the stop, seconds the database stays down


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    why = PrivateCluster.available()
    if why:
        if REQUIRE_PG:
            pytest.fail(why + " (ALERTBRIDGE_REQUIRE_POSTGRES=1)")
        pytest.skip(why)
    c = PrivateCluster()
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.destroy()


async def test_database_outage_mid_storm(
    cluster: PrivateCluster, mailbox: Any, servers: list[Server], tmp_path: Path
) -> None:
    seed = int(os.environ.get("ALERTBRIDGE_RELIABILITY_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    url = cluster.create_database()
    server = Server(write_config(tmp_path / "alertbridge.yaml", mailbox.url), url, tmp_path)
    servers.append(server)
    server.migrate()
    all_bodies = plan(identities(IDENTITIES, rng, tag="db"), rng)
    chunks = [all_bodies[i::40] for i in range(40)]  # fed one every 0.25 s: traffic in every phase
    readyz: list[tuple[float, int]] = []
    t: dict[str, float] = {}

    async def poll_readyz(session: aiohttp.ClientSession) -> None:
        while True:
            try:
                async with session.get(server.base + "/readyz", timeout=aiohttp.ClientTimeout(total=3)) as r:
                    readyz.append((time.monotonic(), r.status))
            except (aiohttp.ClientError, TimeoutError):
                readyz.append((time.monotonic(), NO_ANSWER))
            await asyncio.sleep(0.1)

    async def accepting(dsn: str) -> float:
        """When the database took a connection again."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, connect_timeout=1):
                    return time.monotonic()
            except psycopg.OperationalError:
                await asyncio.sleep(0.02)

    async def feed(storm: Storm) -> None:
        for c in chunks:
            storm.add(c)
            await asyncio.sleep(0.25)

    async with asyncio.timeout(TIMEOUT - 15):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=80)) as session:
            await server.start(session)
            storm = Storm(server.base, concurrency=30)
            # the sender gives up on one request in five that got a 503; the others are retried
            storm.abandon = lambda r, a: a.status == 503 and r.id % 5 == 0
            storm.start(session)
            poller = asyncio.create_task(poll_readyz(session))
            feeder = asyncio.create_task(feed(storm))
            t["storm"] = time.monotonic()
            await asyncio.sleep(BEFORE)
            t["stop_begin"] = time.monotonic()
            await asyncio.to_thread(cluster.stop, "immediate")
            t["stop_done"] = time.monotonic()
            await asyncio.sleep(OUTAGE)
            t["start_begin"] = time.monotonic()
            probe = asyncio.create_task(accepting(url))
            await asyncio.to_thread(cluster.start)
            t["start_done"] = time.monotonic()
            t["db_up"] = await asyncio.wait_for(probe, 30)
            await feeder
            await storm.settle(60)
            await storm.close()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            alive = server.proc is not None and server.proc.poll() is None
            drain_s = await wait_drained(server, session, 45)
            await asyncio.sleep(1.0)
            store = await read_store(url)
            store_problems, store_fig = check_store(store, storm.requests)
            mail_problems, mail_fig = check_mail(store, mailbox.messages)
            api_problems = await check_api(server, session, store)
            rc = await server.stop()

    attempts = [(r, a) for r in storm.requests for a in r.attempts]
    # answered while the database was certainly down: sent after the stop completed, answered before the start
    during = [a for _, a in attempts if a.sent >= t["stop_done"] and a.at <= t["start_begin"]]
    wrong_during = sorted({a.status for a in during if a.status != 503})
    errors_500 = [(r.id, a.error) for r, a in attempts if a.status >= 500 and a.status != 503]
    no_answer = [(r.id, a.error) for r, a in attempts if a.status == NO_ANSWER]
    ready_during = [s for at, s in readyz if t["stop_done"] + 0.2 <= at <= t["start_begin"]]
    after = [(at, s) for at, s in readyz if at >= t["start_begin"]]
    first_ready = next((at for at, s in after if s == 200), None)
    first_2xx = min((a.at for _, a in attempts if a.sent >= t["start_begin"] and 200 <= a.status < 300), default=None)
    # per body (a repeat is the same body again): stored more often than acknowledged means a request that
    # got 503 (or no answer) was stored all the same; one given up after a 503 must then be stored whole
    acks: Counter[str] = Counter()
    got_503: set[str] = set()
    gave_up: set[str] = set()
    for r in storm.requests:
        k = body_key(r.body)
        acks[k] += sum(1 for a in r.attempts if 200 <= a.status < 300)
        if any(a.status == 503 for a in r.attempts):
            got_503.add(k)
        if r.abandoned:
            gave_up.add(k)
    stored = Counter(body_key(e["body"]) for e in store["alert_events"])
    answered_503_stored = sum(max(0, stored[k] - acks[k]) for k in got_503)
    abandoned_stored = sum(max(0, stored[k] - acks[k]) for k in gave_up)
    figures = {
        "test": "database_outage",
        "database": "postgresql (private cluster, pg_ctl stop -m immediate)",
        "seed": seed,
        "outage_seconds": round(t["start_begin"] - t["stop_done"], 3),
        "database_restart_seconds": round(t["db_up"] - t["start_begin"], 3),
        "answers_503": sum(1 for _, a in attempts if a.status == 503),
        "answers_503_while_down": sum(1 for a in during if a.status == 503),
        "answers_while_down_not_503": len([a for a in during if a.status != 503]),
        "answers_5xx_not_503": len(errors_500),
        "no_answer": len(no_answer),
        "readyz_checks_while_down": len(ready_during),
        "readyz_200_while_down": ready_during.count(200),
        # from the database taking connections again (readyz is polled every 0.1 s)
        "recovery_seconds_readyz": round(first_ready - t["db_up"], 3) if first_ready else None,
        "recovery_seconds_first_2xx": round(first_2xx - t["db_up"], 3) if first_2xx else None,
        "server_restarts": server.starts - 1,
        "abandoned_after_503": storm.figures()["requests_abandoned"],
        "abandoned_but_stored": abandoned_stored,
        "answered_503_but_stored": answered_503_stored,
        "outbox_drain_seconds": round(drain_s, 3),
        **storm.figures(),
        **store_fig,
        **mail_fig,
        "problems": store_problems + mail_problems + api_problems,
    }
    write_figures("database_outage", figures)
    assert len(during) >= 20, f"too little traffic while the database was down: {len(during)} answers"
    assert not wrong_during, f"while the database was down, answers other than 503: {wrong_during}"
    assert not errors_500, f"5xx other than 503: {errors_500[:5]}"
    assert not no_answer, f"requests without an answer: {no_answer[:5]}"
    assert ready_during and 200 not in ready_during, f"/readyz while down: {ready_during}"
    assert alive and server.starts == 1, "the service had to be restarted"
    assert first_ready is not None and first_ready - t["db_up"] < 15, "/readyz did not recover"
    assert first_2xx is not None and first_2xx - t["db_up"] < 15, "posts did not recover"
    assert rc == 0, server.log_tail()
    assert not store_problems, store_problems
    assert not mail_problems, mail_problems
    assert not api_problems, api_problems
