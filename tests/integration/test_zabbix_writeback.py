"""Zabbix, the other way, without a Zabbix server: the acknowledgement with the ticket number is queued
once per problem, alertbridge's own acknowledgement echoing back is ignored, another user's is taken.
(With a real Zabbix 6.0: tests/e2e/test_zabbix_writeback_e2e.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, fixture_json, free_port, load_settings
from tests.integration.api import Api


@pytest.fixture
async def api(database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path) -> Api:
    cfg = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    cfg["zabbix"] = {"url": f"http://127.0.0.1:{free_port()}", "user": "bridge-api", "password": "x"}
    path = tmp_path / "zbx.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    return Api(await service_factory(load_settings(database_url, mailbox.url, config=path)))


async def test_ack_queued_once_and_own_echo_ignored(api: Api) -> None:
    status, body = await api.zbx(fixture_json("zabbix/problem.json"))
    assert status == 200
    ticket = body["ticket"]
    await api.zbx(fixture_json("zabbix/problem.json"))  # a resend
    acks = [r for r in await api.outbox() if r["kind"] == "zabbix_ack"]
    assert len(acks) == 1
    assert acks[0]["payload"]["event_id"] == fixture_json("zabbix/problem.json")["event_id"]
    assert f"ticket {ticket}" in acks[0]["payload"]["message"]

    # Zabbix echoes alertbridge's own acknowledgement back as an update: nothing happens
    before = len((await api.ticket(ticket))["articles"])
    status, body = await api.zbx(fixture_json("zabbix/update_ack.json"))  # user "(bridge-api)"
    assert status == 200 and body["alerts"][0]["action"] == "ignore"
    assert len((await api.ticket(ticket))["articles"]) == before
    assert (await api.incident(body["incident_id"] or (await api.incidents())[0]["id"]))["stage"] == "new"

    # a person acknowledges in Zabbix: an internal article, and the incident is in progress
    upd = fixture_json("zabbix/update_ack.json")
    upd.update(event_update_user="Olga Ivanova (olga)", event_update_message="looking at it")
    status, body = await api.zbx(upd)
    assert body["alerts"][0]["action"] != "ignore"
    arts = (await api.ticket(ticket))["articles"]
    assert any("Olga Ivanova" in a["body"] and "looking at it" in a["body"] for a in arts)
    [inc] = await api.incidents()
    assert inc["stage"] == "in_progress" and inc["acknowledged_by"] == "Olga Ivanova (olga)"


async def test_zabbix_unreachable_keeps_the_ack_waiting(api: Api) -> None:
    await api.zbx(fixture_json("zabbix/problem.json"))
    await api.deliver()
    [ack] = [r for r in await api.outbox() if r["kind"] == "zabbix_ack"]
    assert ack["state"] == "pending" and "Zabbix event.acknowledge" in (ack["last_error"] or "")


async def test_without_a_zabbix_api_nothing_is_queued(database_url: str, mailbox: Any, service_factory: Any) -> None:
    api = Api(await service_factory(load_settings(database_url, mailbox.url)))
    await api.zbx(fixture_json("zabbix/problem.json"))
    assert [r for r in await api.outbox() if r["kind"] == "zabbix_ack"] == []
