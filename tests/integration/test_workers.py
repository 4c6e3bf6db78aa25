"""`alertbridge serve --workers N`: several server processes on one socket and one PostgreSQL database.
/metrics adds up what every worker counted, a worker that dies is started again, SIGTERM stops them all,
and the embedded SQLite database refuses more than one worker."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ROOT, TOKENS, free_port
from tests.integration import bodies

EXE = str(Path(sys.executable).parent / "alertbridge")


def children(pid: int) -> set[int]:
    try:
        return {int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def wait_for(cond: object, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def received_total(text: str) -> float:
    return sum(
        float(m.group(1))
        for m in re.finditer(
            r'^alertbridge_alerts_received_total\{[^}]*source="alertmanager"[^}]*\} (\S+)$', text, re.M
        )
    )


def spawn(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [EXE, "serve", "--config", "config/example.yaml", "--listen", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
async def test_two_workers_share_the_port_count_together_and_come_back(
    pg_database_url: str, mailbox: object, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, **TOKENS, "ALERTBRIDGE_DATABASE_URL": pg_database_url}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    proc = spawn(port, env, log)
    try:
        assert wait_for(lambda: ready(base) and len(children(proc.pid)) == 2, 60), log.read_text()[-3000:]
        first = children(proc.pid)
        headers = {"Authorization": f"Bearer {TOKENS['ALERTBRIDGE_TOKEN_ALERTMANAGER']}"}
        posts = 40
        async with aiohttp.ClientSession() as s:

            async def post(n: int) -> tuple[int, int, object]:
                # a new connection each time, so the kernel deals them to both workers
                labels = {**bodies.WEBSITE_DOWN, "instance": f"https://shop{n % 5}.acme.example/"}
                body = bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN)])
                async with (
                    aiohttp.ClientSession() as one,
                    one.post(f"{base}/api/v1/alertmanager", json=body, headers=headers) as r,
                ):
                    return n % 5, r.status, (await r.json()).get("incident_id")

            answers = await asyncio.gather(*(post(n) for n in range(posts)))
            assert {status for _, status, _ in answers} == {200}, answers
            # both workers decided on the same incident for each identity
            per_shop = {shop: {inc for s_, _, inc in answers if s_ == shop} for shop in range(5)}
            assert all(len(incs) == 1 and None not in incs for incs in per_shop.values()), per_shop
            for _ in range(4):  # whichever worker answers, the sum is the same
                async with s.get(f"{base}/metrics") as r:
                    assert r.status == 200
                    text = await r.text()
                assert received_total(text) == posts, text[:3000]

        # a worker killed outright is replaced; the service keeps answering meanwhile
        victim = sorted(first)[0]
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid), 30), log.read_text()[
            -3000:
        ]
        assert wait_for(lambda: ready(base), 30)
        assert "starting another" in log.read_text()
    finally:
        workers = children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log.read_text()[-3000:]
    assert wait_for(lambda: not any(Path(f"/proc/{w}").exists() for w in workers), 10)


def test_sqlite_refuses_more_than_one_worker(tmp_path: Path) -> None:
    env = {**os.environ, **TOKENS, "ALERTBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/ab.db"}
    res = subprocess.run(
        [EXE, "serve", "--config", "config/example.yaml", "--listen", f"127.0.0.1:{free_port()}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0
    assert "needs PostgreSQL" in res.stderr
    assert not (tmp_path / "ab.db").exists()  # refused before anything was created
