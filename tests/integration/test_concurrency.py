"""One open incident per correlation key, enforced by the database, across service instances."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from tests.conftest import fixture_json, load_settings
from tests.integration import bodies
from tests.integration.api import Api


async def test_two_instances_on_one_database_open_one_incident_per_key(
    database_url: str, mailbox: Any, service_factory: Any
) -> None:
    settings = load_settings(database_url, mailbox.url)
    replicas = [Api(await service_factory(settings)) for _ in range(2)]
    keys = [{**bodies.WEBSITE_DOWN, "instance": f"https://n{n}.acme.example/"} for n in range(5)]
    posts = []
    for _ in range(12):
        for labels in keys:
            posts.append((random.choice(replicas), bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN)])))
    # grouped bodies carrying the same alerts in another order must not deadlock against single ones
    grouped = bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN) for labels in reversed(keys)])
    posts += [(replicas[0], grouped), (replicas[1], grouped)]
    posts += [(random.choice(replicas), fixture_json("zabbix/problem.json")) for _ in range(10)]
    random.shuffle(posts)

    async def send(api: Api, body: Any) -> int:
        path = "/api/v1/zabbix" if "event_id" in body else "/api/v1/alertmanager"
        token = "test-zbx-token" if "event_id" in body else "test-am-token"
        status, _ = await api.post(path, body, token)
        return status

    statuses = await asyncio.gather(*[send(api, body) for api, body in posts])
    assert set(statuses) == {200}
    incs = await replicas[0].incidents(customer="acme")
    assert len(incs) == 6
    assert len({i["key"] for i in incs}) == 6
    assert sorted(i["occurrences"] for i in incs) == [10] + [14] * 5
    assert len({i["ticket"] for i in incs}) == 6
    rows = await replicas[0].outbox()
    assert len(rows) == 5  # one affected notice per website incident; the RAID fault tells nobody
    await asyncio.gather(*[r.deliver() for r in replicas])
    assert len(mailbox.to("curator@acme.example")) == 5
