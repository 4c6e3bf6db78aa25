"""Cross-source correlation: Zabbix and Alertmanager about the same problem share one incident; an
engineer's finding confirmed by monitoring stays the engineer's incident."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, fixture_json, load_settings
from tests.integration import bodies
from tests.integration.api import ENG, Api

ACME = "curator@acme.example"


@pytest.fixture
async def api(database_url: str, mailbox: Any, service_factory: Any) -> Api:
    return Api(await service_factory(load_settings(database_url, mailbox.url)))


def zbx_icmp(status: str = "problem") -> dict[str, Any]:
    z = fixture_json("zabbix/problem.json" if status == "problem" else "zabbix/recovery.json")
    z.update(
        event_id="70",
        trigger_id="24001",
        host_host="mail.acme",
        host_name="mail.acme",
        event_name="Unavailable by ICMP ping",
        trigger_name="Unavailable by ICMP ping",
        trigger_description="Last three attempts returned timeout.",
        item_key="icmpping",
        item_name="ICMP ping",
        event_opdata="",
        event_tags='[{"tag":"customer","value":"acme"}]',
        event_tags_parsed=[{"tag": "customer", "value": "acme"}],
    )
    if status != "problem":
        z.update(event_recovery_id="71")
    return z


def am_host_down(status: str = "firing") -> dict[str, Any]:
    labels = {
        "alertname": "HostDown",
        "instance": "mail.acme:9100",
        "job": "node",
        "customer": "acme",
        "severity": "critical",
    }
    return bodies.body(
        [
            bodies.alert(
                labels,
                {"summary": "Host mail.acme is down"},
                status,
                ends="2026-11-23T11:00:00Z",
                expr='up{job="node"} == 0',
            )
        ]
    )


async def test_zabbix_and_alertmanager_see_the_same_host_down(api: Api, mailbox: Any) -> None:
    status, body = await api.zbx(zbx_icmp())
    assert body["alerts"][0]["action"] == "open"
    status, body = await api.am(am_host_down())
    assert body["alerts"][0]["action"] == "attach"
    [inc] = await api.incidents(customer="acme")
    assert {a["source"] for a in (await api.incident(inc["id"]))["alerts"]} == {"zabbix", "alertmanager"}
    status, body = await api.am(am_host_down())  # a repeat stays on it
    assert body["alerts"][0]["action"] == "repeat"
    status, body = await api.zbx(zbx_icmp("recovery"))
    assert body["alerts"][0]["action"] == "detach"  # Alertmanager still sees it down
    status, body = await api.am(am_host_down("resolved"))
    assert body["alerts"][0]["action"] == "resolve"
    await api.deliver()
    assert len(mailbox.to(ACME)) == 2 and len(await api.incidents(customer="acme")) == 1


async def test_finding_confirmed_by_monitoring_keeps_the_engineer_origin(api: Api, mailbox: Any) -> None:
    finding = {
        "customer": "acme",
        "host": "mail.acme",
        "title": "Mail queue on mail.acme grows, disk nearly full",
        "engineer": "Ivan Petrov",
        "service_affecting": False,
    }
    status, body = await api.post("/api/v1/findings", finding, ENG)
    [inc] = await api.incidents(customer="acme")
    assert (inc["kind"], inc["origin"]) == ("fault", "engineer")
    status, body = await api.zbx(zbx_icmp())  # later the host goes down: monitoring confirms it
    assert body["alerts"][0]["action"] == "attach" and body["alerts"][0]["kind"] == "incident"
    [inc] = await api.incidents(customer="acme")
    assert (inc["kind"], inc["origin"], inc["requester"]) == ("incident", "engineer", "Ivan Petrov")
    assert (await api.ticket(inc["ticket"]))["queue"] == "Incidents"
    await api.deliver()
    assert len(mailbox.to(ACME)) == 1


async def test_different_problems_on_one_host_stay_apart(api: Api) -> None:
    await api.zbx(zbx_icmp())
    labels = {
        "alertname": "NodeFilesystemAlmostOutOfSpace",
        "instance": "mail.acme:9100",
        "customer": "acme",
        "severity": "warning",
        "mountpoint": "/var",
    }
    status, body = await api.am(bodies.body([bodies.alert(labels, {"summary": "/var on mail.acme is almost full"})]))
    assert body["alerts"][0]["action"] == "open"
    assert len(await api.incidents(customer="acme")) == 2


async def test_a_storm_on_one_service_becomes_one_incident_after_the_threshold(api: Api, mailbox: Any) -> None:
    for n in range(14):
        labels = {**bodies.WEBSITE_DOWN, "instance": f"https://p{n}.acme.example/"}
        status, body = await api.am(bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN)]))
        assert body["alerts"][0]["action"] == ("open" if n < 10 else "attach")
    incs = await api.incidents(customer="acme")
    assert len(incs) == 10
    first = await api.incident(incs[0]["id"])
    assert len(first["alerts"]) == 5
    arts = (await api.ticket(first["ticket"]))["articles"]
    assert sum("storm on website" in a["body"] for a in arts) == 4


async def test_a_down_parent_wins_over_a_storm_and_children_get_their_own_after_it(
    database_url: str, mailbox: Any, service_factory: Any, tmp_path: Path
) -> None:
    """The website is in a storm and the switch its servers hang off is down: a server's alert attaches
    to the switch's incident (the known cause), not to the storm's; once the switch is back, the server
    still down is taken up again, and joins the storm."""
    cfg = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    cfg.setdefault("lifecycle", {})["storm_threshold"] = 3
    acme = next(c for c in cfg["customers"] if c["id"] == "acme")
    acme["dependencies"] = [{"hosts": ["srv-*.acme"], "parents": ["sw-core.acme"]}]
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    api = Api(await service_factory(load_settings(database_url, mailbox.url, config=path)))

    for n in range(3):  # the storm: three probes of the site fail
        labels = {**bodies.WEBSITE_DOWN, "instance": f"https://p{n}.acme.example/"}
        await api.am(bodies.body([bodies.alert(labels, bodies.WEBSITE_ANN)]))
    switch_down = {"alertname": "NodeDown", "instance": "sw-core.acme:9100", "job": "node", "customer": "acme"}
    status, body = await api.am(bodies.body([bodies.alert(switch_down, {"summary": "sw-core.acme is down"})]))
    switch_id = body["alerts"][0]["incident_id"]
    server = {**bodies.WEBSITE_DOWN, "instance": "srv-7.acme:443", "alertname": "HttpDown"}
    status, body = await api.am(bodies.body([bodies.alert(server, {"summary": "srv-7.acme does not answer HTTP"})]))
    [out] = body["alerts"]
    assert (out["action"], out["incident_id"]) == ("attach", switch_id), out
    assert "depends on sw-core.acme" in out["why"]
    on_switch = {a["host"]: a["attached"] for a in (await api.incident(switch_id))["alerts"]}
    assert on_switch == {"sw-core.acme": False, "srv-7.acme": True}

    await api.am(bodies.body([bodies.alert(switch_down, {"summary": "sw-core.acme is down"}, "resolved")]))
    assert await api.svc.sla.release_maintenance() == 1  # srv-7 is still down: taken up again
    # with the switch back, the storm is what is left: srv-7 joins the storm's first incident
    storm_first = min(i["id"] for i in await api.incidents(customer="acme", service="website"))
    detail = await api.incident(storm_first)
    assert "srv-7.acme" in {a["host"] for a in detail["alerts"]}
    assert "srv-7.acme" not in {a["host"] for a in (await api.incident(switch_id))["alerts"] if a["status"] == "firing"}
