"""Three `alertbridge serve` processes on one PostgreSQL: the same alerts fired at all of them at once
yield exactly one incident, one ticket and one curator notice per key."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import ROOT, TOKENS, free_port
from tests.integration import bodies

EXE = str(Path(sys.executable).parent / "alertbridge")
pytestmark = pytest.mark.postgres


def start(url: str, smtp: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, **TOKENS, "ALERTBRIDGE_DATABASE_URL": url, "ALERTBRIDGE_SMTP_URL": smtp}
    proc = subprocess.Popen(
        [EXE, "serve", "--config", "config/example.yaml", "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("replica did not start: " + log.read_text()[-2000:])


async def test_three_replicas_one_incident_ticket_and_notice_per_key_postgres(
    pg_database_url: str, mailbox: Any, tmp_path: Path
) -> None:
    procs = [start(pg_database_url, mailbox.url, tmp_path / f"replica{i}.log") for i in range(3)]
    try:
        keys = [{**bodies.WEBSITE_DOWN, "instance": f"https://shop{n}.acme.example/"} for n in range(10)]
        posts = [
            (random.choice(procs)[1], bodies.body([bodies.alert(k, bodies.WEBSITE_ANN)]))
            for k in keys
            for _ in range(30)
        ]
        random.shuffle(posts)
        headers = {
            "Authorization": f"Bearer {TOKENS['ALERTBRIDGE_TOKEN_ALERTMANAGER']}",
            "Content-Type": "application/json",
        }
        async with aiohttp.ClientSession() as s:

            async def post(base: str, body: Any) -> int:
                async with s.post(base + "/api/v1/alertmanager", data=json.dumps(body), headers=headers) as r:
                    return r.status

            statuses = await asyncio.gather(*[post(b, body) for b, body in posts])
            assert statuses.count(200) == len(posts), sorted(set(statuses))
            eng = {"Authorization": f"Bearer {TOKENS['ALERTBRIDGE_TOKEN_ENGINEER']}"}
            async with s.get(procs[0][1] + "/api/v1/incidents?limit=1000", headers=eng) as r:
                page = await r.json()
        incs = page["incidents"]
        assert len(incs) == 10 and len({i["key"] for i in incs}) == 10
        assert len({i["ticket"] for i in incs}) == 10
        assert sorted(i["occurrences"] for i in incs) == [30] * 10
        for _ in range(100):
            if len(mailbox.messages) >= 10:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # any duplicate would have been delivered by now
        assert len(mailbox.to("curator@acme.example")) == 10
        assert len({m["message_id"] for m in mailbox.messages}) == 10
    finally:
        for proc, _ in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
