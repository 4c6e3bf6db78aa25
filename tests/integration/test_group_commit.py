"""Group commit stores what arrives together in one transaction and decides exactly what one by one would."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bridge import schema
from tests.conftest import load_settings
from tests.integration import bodies
from tests.integration.api import Api


def _labels(n: int) -> dict[str, str]:
    return {**bodies.WEBSITE_DOWN, "instance": f"https://site{n:02d}.acme.example/"}


def _post(n: int, status: str = "firing", starts: str = "2026-11-23T10:00:00Z") -> dict[str, Any]:
    ends = "2026-11-23T10:30:00Z" if status == "resolved" else bodies.ZERO
    return bodies.body([bodies.alert(_labels(n), bodies.WEBSITE_ANN, status, starts, ends)])


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "one-by-one"])
async def test_concurrent_repeats_resolves_and_new_alerts(
    database_url: str, service_factory: Any, group_commit: bool
) -> None:
    base = load_settings(database_url)
    lifecycle = {**base.lifecycle.model_dump(), "storm_threshold": 0}
    ingest = {**base.ingest.model_dump(), "group_commit": group_commit, "max_batch": 16}
    svc = await service_factory(load_settings(database_url, lifecycle=lifecycle, ingest=ingest))
    api = Api(svc)
    for n in range(10):
        status, _ = await api.am(_post(n))
        assert status == 200

    # a storm at once: three repeats each of 1..9, the recovery of 0, three new problems
    posts = [_post(n) for n in range(1, 10) for _ in range(3)] + [_post(0, "resolved")]
    posts += [_post(n) for n in range(10, 13)]
    answers = await asyncio.gather(*[api.am(b) for b in posts])
    assert {s for s, _ in answers} == {200}

    by_host = {}
    for inc in await api.incidents(customer="acme"):
        by_host[inc["host"]] = await api.incident(inc["id"])
    assert len(by_host) == 13

    def host(n: int) -> str:
        return f"site{n:02d}.acme.example"

    for n in range(1, 10):
        inc = by_host[host(n)]
        assert inc["state"] == "open" and inc["occurrences"] == 4, inc
        assert inc["alerts"][0]["occurrences"] == 4
    assert by_host[host(0)]["state"] == "resolved"
    for n in range(10, 13):
        assert by_host[host(n)]["occurrences"] == 1

    # every repeat was answered with its incident and ticket, as one by one would
    tickets = {i["id"]: i["ticket"] for i in by_host.values()}
    repeats = [b["alerts"][0] for _, b in answers if b["alerts"][0]["action"] == "repeat"]
    assert len(repeats) == 27
    assert all(r["incident_id"] in tickets and r["ticket"] == tickets[r["incident_id"]] for r in repeats)
    assert all(r["why"] == "repeat of a firing alert" and r["kind"] == "incident" for r in repeats)

    async with svc.db.read() as conn:
        events = (
            await conn.execute(
                select(schema.alert_events.c.outcome, func.count()).group_by(schema.alert_events.c.outcome)
            )
        ).all()
        last = (
            await conn.execute(
                select(func.count()).select_from(schema.alerts).where(schema.alerts.c.last_event_id.is_(None))
            )
        ).scalar_one()
    assert dict(events) == {"open": 13, "repeat": 27, "resolve": 1}
    assert last == 0
    gc = svc.pipeline.group_commit
    if group_commit:
        assert gc is not None and gc.jobs == 41 and gc.batches < gc.jobs  # they did share transactions
    else:
        assert gc is None


async def test_a_repeat_in_a_maintenance_window_is_held_back_in_a_batch(
    database_url: str, service_factory: Any
) -> None:
    svc = await service_factory(load_settings(database_url))
    api = Api(svc)
    assert (await api.am(_post(1)))[0] == 200
    status, _ = await api.post(
        "/api/v1/maintenance",
        {
            "customer": "acme",
            "host": "site01.acme.example",
            "engineer": "Olga",
            "reason": "works",
            "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        },
        "test-eng-token",
    )
    assert status in (200, 201)
    answers = await asyncio.gather(*[api.am(_post(1)) for _ in range(4)], *[api.am(_post(2)) for _ in range(1)])
    actions = sorted(b["alerts"][0]["action"] for _, b in answers)
    assert actions.count("maintenance") == 4 and actions.count("open") == 1
