"""Timed work run at the same moment by three replicas on one database happens once: releasing what a
maintenance window held back, settling a flapping incident, and the curator notice that waited out a
hold-down. (SLA breaches and auto-close: test_sla.py and test_lifecycle.py.)"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT, load_settings
from tests.integration import bodies
from tests.integration.api import ENG, Api

ACME = "curator@acme.example"


async def replicas(database_url: str, mailbox: Any, service_factory: Any, config: Path | None = None) -> list[Api]:
    return [
        Api(
            await service_factory(
                load_settings(database_url, mailbox.url, config=config)
                if config
                else load_settings(database_url, mailbox.url)
            )
        )
        for _ in range(3)
    ]


def probe(n: int, status: str = "firing") -> dict[str, Any]:
    labels = {**bodies.WEBSITE_DOWN, "instance": f"https://p{n}.acme.example/"}
    return bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN, status)])


async def test_maintenance_release_runs_once(database_url: str, mailbox: Any, service_factory: Any) -> None:
    one, two, three = await replicas(database_url, mailbox, service_factory)
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    window = {"customer": "acme", "service": "website", "engineer": "Olga", "reason": "upgrade", "ends_at": ends}
    status, w = await one.post("/api/v1/maintenance", window, ENG)
    assert status == 201
    for n in range(6):
        status, body = await (one, two, three)[n % 3].am(probe(n))
        assert body["alerts"][0]["action"] == "maintenance"
    assert await one.incidents() == []
    assert (await two.post(f"/api/v1/maintenance/{w['id']}/end", {}, ENG))[0] == 200

    released = await asyncio.gather(*[r.svc.sla.release_maintenance() for r in (one, two, three, one, two)])
    assert sum(released) == 6
    incs = await one.incidents(customer="acme", service="website")
    assert len(incs) == 6 and len({i["ticket"] for i in incs}) == 6 and len({i["key"] for i in incs}) == 6
    await asyncio.gather(one.deliver(), two.deliver(), three.deliver())
    assert len(mailbox.to(ACME)) == 6  # one "affected" notice per probe, none twice


async def test_flapping_incident_settles_once(database_url: str, mailbox: Any, service_factory: Any) -> None:
    one, two, three = await replicas(database_url, mailbox, service_factory)
    await one.am(bodies.website(starts="2026-11-23T10:00:00Z"))
    t = 0
    for k in range(6):  # down and up every few minutes, posted to any replica
        t += 2
        api = (one, two, three)[k % 3]
        await api.am(
            bodies.website("resolved", starts=f"2026-11-23T10:{t - 2:02d}:00Z", ends=f"2026-11-23T10:{t:02d}:00Z")
        )
        await api.am(bodies.website(starts=f"2026-11-23T10:{t + 1:02d}:00Z"))
    status, body = await two.am(bodies.website("resolved", starts="2026-11-23T10:13:00Z", ends="2026-11-23T10:20:00Z"))
    assert body["alerts"][0]["action"] == "hold"
    await asyncio.gather(one.deliver(), two.deliver(), three.deliver())
    before = len(mailbox.to(ACME))

    later = datetime.now(UTC) + timedelta(minutes=16)
    settled = await asyncio.gather(*[r.svc.pipeline.settle_flapping(later) for r in (one, two, three, one)])
    assert sum(settled) == 1
    [inc] = await one.incidents()
    assert inc["state"] == "resolved" and not inc["flapping"]
    articles = [a["body"] for a in (await one.ticket(inc["ticket"]))["articles"]]
    assert sum("after flapping" in b for b in articles) == 1
    await asyncio.gather(one.deliver(), two.deliver(), three.deliver())
    restored = [m for m in mailbox.to(ACME)[before:] if "restored" in m["subject"].lower()]
    assert len(restored) <= 1 and len(mailbox.to(ACME)) - before <= 1


async def test_notice_after_hold_down_is_sent_once(
    database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path
) -> None:
    cfg = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    acme = next(c for c in cfg["customers"] if c["id"] == "acme")
    hold = 3.0
    next(s for s in acme["services"] if s["id"] == "website")["notify_after"] = f"{hold:.0f}s"
    path = tmp_path / "hold.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    one, two, three = await replicas(database_url, mailbox, service_factory, path)
    posted = time.monotonic()
    await asyncio.gather(one.am(bodies.website()), two.am(bodies.website()), three.am(bodies.website()))
    answered = time.monotonic()
    await asyncio.gather(one.deliver(), two.deliver(), three.deliver())
    # still inside the hold-down, unless a loaded machine took longer than the hold-down itself to get here
    assert mailbox.to(ACME) == [] or time.monotonic() - posted >= hold
    await asyncio.sleep(max(0.0, answered + hold + 0.3 - time.monotonic()))
    await asyncio.gather(*[r.deliver() for r in (one, two, three, one, two, three)])
    assert len(mailbox.to(ACME)) == 1
    [inc] = await one.incidents()
    assert inc["curator_notified"]
