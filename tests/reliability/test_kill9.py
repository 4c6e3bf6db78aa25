"""kill -9 in the middle of a storm, ten times: `alertbridge serve` (a real subprocess, on PostgreSQL or
an SQLite file, sending curator notices to a real SMTP server) is killed at random moments while ~30
clients post Alertmanager v4 bodies (firing, repeats, recoveries, relapses) and the outbox delivers,
then restarted. Requests that got no answer are retried, as Alertmanager does.

After the last restart and a quiet period (the outbox drained):
- every request that got a 2xx is stored (alert_events), with the body sent;
- each identity has exactly one row in `alerts`, in the newest state that was stored;
- at most one open incident per correlation key, one ticket per incident, an incident's state agrees
  with its alert's;
- the mailbox holds at most one notice of each kind per incident episode. A kill between the SMTP
  server's acceptance and the commit may resend one with the same Message-ID: the documented limit,
  counted (`resent_same_message_id`); two different notices for one episode and kind are a failure.
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

TIMEOUT = 300  # seconds per test (conftest's hard limit)
pytestmark = pytest.mark.reliability
KILLS = int(os.environ.get("ALERTBRIDGE_RELIABILITY_KILLS", "10"))
IDENTITIES = int(os.environ.get("ALERTBRIDGE_RELIABILITY_IDENTITIES", "300"))
CONCURRENCY = 30


@pytest.fixture(params=["pg", "sqlite"])
def kill_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "pg":
        return new_pg_database()
    return f"sqlite:///{tmp_path}/alertbridge.db"


async def test_kill9_storm(
    kill_database: str, mailbox: Any, servers: list[Server], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = int(os.environ.get("ALERTBRIDGE_RELIABILITY_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    backend = "postgresql" if kill_database.startswith("postgresql") else "sqlite"
    server = Server(write_config(tmp_path / "alertbridge.yaml", mailbox.url), kill_database, tmp_path)
    servers.append(server)
    server.migrate()
    idents = identities(IDENTITIES, rng)
    all_bodies = plan(idents, rng)
    size = len(all_bodies) // (KILLS + 1) + 1
    chunks = [all_bodies[i : i + size] for i in range(0, len(all_bodies), size)]
    chunks += [[]] * (KILLS + 1 - len(chunks))
    kills: list[dict[str, Any]] = []
    started = time.monotonic()
    async with asyncio.timeout(TIMEOUT - 15):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2)) as session:
            await server.start(session)
            storm = Storm(server.base, concurrency=CONCURRENCY)
            storm.start(session)
            sent: list[dict[str, Any]] = []
            for i in range(KILLS):
                storm.add(chunks[i])
                # Alertmanager resends groups it already sent (repeat_interval): some bodies again
                storm.add(rng.sample(sent, min(len(sent), len(chunks[i]) // 8)))
                sent += chunks[i]
                up_since = time.monotonic()
                await asyncio.sleep(rng.uniform(0.3, 3.0))  # a random moment: mid-request or mid-delivery
                cut = {"inflight": storm.inflight, "queued": storm.queue.qsize(), "mail": len(mailbox.messages)}
                server.kill9()
                killed_at = time.monotonic()
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                await server.start(session)
                kills.append(
                    {
                        **cut,
                        "uptime_s": round(killed_at - up_since, 3),
                        "restart_s": round(time.monotonic() - killed_at, 3),
                    }
                )
            storm.add(chunks[KILLS])
            await storm.settle(60)
            await storm.close()
            drain_s = await wait_drained(server, session, 45)
            await asyncio.sleep(1.0)  # a late duplicate would have arrived by now
            store = await read_store(kill_database)
            store_problems, store_fig = check_store(store, storm.requests)
            mail_problems, mail_fig = check_mail(store, mailbox.messages)
            api_problems = await check_api(server, session, store)
            rc = await server.stop()
    figures = {
        "test": "kill9",
        "database": backend,
        "seed": seed,
        "kills": server.kills,
        "kills_survived": server.kills if server.starts == server.kills + 1 else None,
        "restarts": server.starts - 1,
        "restart_seconds_max": max((k["restart_s"] for k in kills), default=None),
        "restart_seconds_mean": round(sum(k["restart_s"] for k in kills) / len(kills), 3) if kills else None,
        "requests_in_flight_at_kills": sum(k["inflight"] for k in kills),
        "kill_details": kills,
        "outbox_drain_seconds": round(drain_s, 3),
        "exit_code_on_sigterm": rc,
        "duration_seconds": round(time.monotonic() - started, 1),
        **storm.figures(),
        **store_fig,
        **mail_fig,
        "problems": store_problems + mail_problems + api_problems,
    }
    write_figures(f"kill9-{backend}", figures)
    assert server.kills == KILLS
    assert rc == 0, server.log_tail()
    assert not store_problems, store_problems
    assert not mail_problems, mail_problems
    assert not api_problems, api_problems
