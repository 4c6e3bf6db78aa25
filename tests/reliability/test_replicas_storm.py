"""Three replicas of `alertbridge serve` on one PostgreSQL database under a storm: ~30 clients post
Alertmanager v4 bodies (firing, repeats, recoveries, relapses, Alertmanager's resends of groups already
sent) and every attempt goes to one of the three at random, as through a load balancer, so the same
identity's steps race on different replicas. One replica runs two worker processes itself.

Afterwards (the outboxes drained, each replica delivering curator mail to one real SMTP server):
- every request that got a 2xx is stored, and each identity has exactly one alert row in its newest state;
- one open incident at most per correlation key, one ticket per incident;
- one notice of each kind per incident episode, and no notice sent twice (nothing was killed);
- the API of every replica agrees with the database.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import new_pg_database
from tests.reliability.harness import (
    Server,
    Storm,
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

TIMEOUT = 300
pytestmark = pytest.mark.reliability
IDENTITIES = int(os.environ.get("ALERTBRIDGE_RELIABILITY_IDENTITIES", "300")) * 4
CONCURRENCY = 30
REPLICAS = 3


async def test_three_replicas_one_incident_ticket_and_notice_per_key(
    mailbox: Any, servers: list[Server], tmp_path: Path
) -> None:
    seed = int(os.environ.get("ALERTBRIDGE_RELIABILITY_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    database = new_pg_database()
    config = write_config(tmp_path / "alertbridge.yaml", mailbox.url)
    replicas = [Server(config, database, tmp_path, name=f"replica{i}") for i in range(REPLICAS)]
    replicas[-1].args = ["--workers", "2"]
    servers.extend(replicas)
    replicas[0].migrate()
    bodies = plan(identities(IDENTITIES, rng), rng)
    resends = rng.sample(bodies, len(bodies) // 8)  # Alertmanager sends groups again (repeat_interval)
    started = time.monotonic()
    async with asyncio.timeout(TIMEOUT - 15):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2)) as session:
            await asyncio.gather(*(r.start(session) for r in replicas))
            storm = Storm(replicas[0].base, concurrency=CONCURRENCY)
            storm.bases = [r.base for r in replicas]
            storm.start(session)
            half = len(bodies) // 2
            storm.add(bodies[:half])
            storm.add(resends[: len(resends) // 2])
            storm.add(bodies[half:])
            storm.add(resends[len(resends) // 2 :])
            await storm.settle(150)
            await storm.close()
            drain_s = max([await wait_drained(r, session, 45) for r in replicas])
            await asyncio.sleep(1.0)  # a late duplicate would have arrived by now
            store = await read_store(database)
            store_problems, store_fig = check_store(store, storm.requests)
            mail_problems, mail_fig = check_mail(store, mail_messages := list(mailbox.messages))
            api_problems = [p for r in replicas for p in await check_api(r, session, store)]
            codes = [await r.stop() for r in replicas]
    storm_seconds = time.monotonic() - started
    figures = {
        "test": "replicas",
        "database": "postgresql",
        "seed": seed,
        "replicas": REPLICAS,
        "workers_per_replica": [2 if r.args else 1 for r in replicas],
        "answered_by_replica": {f"replica{i}": storm.answered_by[r.base] for i, r in enumerate(replicas)},
        "outbox_drain_seconds": round(drain_s, 3),
        "exit_codes_on_sigterm": codes,
        "duration_seconds": round(storm_seconds, 1),
        **storm.figures(),
        **store_fig,
        **mail_fig,
        "problems": store_problems + mail_problems + api_problems,
    }
    write_figures("replicas", figures)
    assert codes == [0] * REPLICAS, [r.log_tail() for r in replicas]
    assert all(storm.answered_by[r.base] > 0 for r in replicas), storm.answered_by
    assert not store_problems, store_problems
    assert not mail_problems, mail_problems
    assert not api_problems, api_problems
    assert mail_fig["resent_same_message_id"] == 0, mail_fig  # nothing was killed: nothing may be sent twice
    assert mail_fig["messages_received"] == len(mail_messages) > 0
