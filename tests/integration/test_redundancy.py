"""Redundancy groups: one member down is a silent fault; the last one down is an incident the curator
hears of, linked to the faults; a member back resolves the incident while the other fault stays open."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import load_settings
from tests.integration import bodies
from tests.integration.api import Api

ACME = "curator@acme.example"


def node_down(host: str, status: str = "firing") -> dict[str, Any]:
    labels = {
        "alertname": "NodeDown",
        "instance": f"{host}:9100",
        "job": "node",
        "customer": "acme",
        "severity": "critical",
    }
    return bodies.body(
        [
            bodies.alert(
                labels,
                {"summary": f"Host {host} is down"},
                status,
                ends="2026-11-23T11:00:00Z",
                expr='up{job="node"} == 0',
            )
        ]
    )


def disk_failed(disk: str, status: str = "firing", starts: str = "2026-11-23T10:00:00Z") -> dict[str, Any]:
    labels = {
        "alertname": "PhysicalDiskFailed",
        "instance": "acme-db01:9100",
        "device": disk,
        "customer": "acme",
        "severity": "warning",
    }
    return bodies.body(
        [
            bodies.alert(
                labels,
                {"summary": f"Physical disk {disk} on acme-db01 has failed"},
                status,
                starts,
                "2026-11-23T11:00:00Z",
                expr='megaraid_pd_state{state="failed"} == 1',
            )
        ]
    )


@pytest.fixture
async def api(database_url: str, mailbox: Any, service_factory: Any) -> Api:
    return Api(await service_factory(load_settings(database_url, mailbox.url)))


async def test_web_frontends_one_then_both_then_one_back(api: Api, mailbox: Any) -> None:
    status, body = await api.am(node_down("web01.acme"))
    assert status == 200
    [fault1] = await api.incidents(customer="acme")
    assert fault1["kind"] == "fault" and fault1["service"] == "website"
    assert fault1["rule"] == "redundancy-member:endpoint-down"
    assert "one of 2 members" in fault1["reason"]
    await api.deliver()
    assert mailbox.messages == []

    status, body = await api.am(node_down("web02.acme"))
    actions = [(o["action"], o["kind"]) for o in body["alerts"]]
    assert actions == [("open", "fault"), ("open", "incident")]
    [group] = await api.incidents(customer="acme", kind="incident")
    assert group["rule"] == "redundancy-exhausted" and group["priority"] == "critical"
    assert "2 of 2 members of frontends down" in group["title"]
    detail = await api.incident(group["id"])
    faults = await api.incidents(customer="acme", kind="fault")
    assert sorted(link["id"] for link in detail["links"]) == sorted(f["id"] for f in faults)
    assert {link["relation"] for link in detail["links"]} == {"caused_by"}
    assert (await api.incident(faults[0]["id"]))["links"] == [{"id": group["id"], "relation": "causes"}]
    await api.deliver()
    [mail] = mailbox.to(ACME)
    assert "Service affected" in mail["subject"] and "Company website" in mail["subject"]

    # a repeat of a member's alert changes nothing
    status, body = await api.am(node_down("web02.acme"))
    assert [o["action"] for o in body["alerts"]] == ["repeat"]

    status, body = await api.am(node_down("web01.acme", "resolved"))
    assert [o["action"] for o in body["alerts"]] == ["resolve", "resolve"]
    group = await api.incident(group["id"])
    assert group["state"] == "resolved"
    states = {f["host"]: f["state"] for f in await api.incidents(customer="acme", kind="fault")}
    assert states == {"web01.acme": "resolved", "web02.acme": "open"}
    await api.deliver()
    assert [m["subject"].split("]")[1].split(":")[0].strip() for m in mailbox.to(ACME)] == [
        "Service affected",
        "Service restored",
    ]


async def test_raid_pair_first_disk_second_disk_first_back(api: Api, mailbox: Any) -> None:
    await api.am(disk_failed("sda"))
    [f] = await api.incidents(customer="acme")
    assert (f["kind"], f["service"], f["rule"]) == ("fault", "fileserver", "redundancy-member:physical-disk-failed")
    await api.am(disk_failed("sdb"))
    [inc] = await api.incidents(customer="acme", kind="incident")
    assert inc["service"] == "fileserver" and "raid1" in inc["title"]
    await api.deliver()
    assert len(mailbox.to(ACME)) == 1
    await api.am(disk_failed("sda", "resolved"))
    assert (await api.incident(inc["id"]))["state"] == "resolved"
    await api.deliver()
    assert len(mailbox.to(ACME)) == 2
    # a resend of sda's old failure after its recovery is stale and changes nothing
    status, body = await api.am(disk_failed("sda"))
    assert [o["action"] for o in body["alerts"]] == ["ignore"]
    # sda failing again (a new failure): the group is down again, the same incident reopens
    await api.am(disk_failed("sda", starts="2026-11-23T12:00:00Z"))
    again = await api.incident(inc["id"])
    assert again["state"] == "open" and again["reopened"] == 1


async def test_members_failing_at_once_on_two_replicas_open_one_incident(
    database_url: str, mailbox: Any, service_factory: Any
) -> None:
    settings = load_settings(database_url, mailbox.url)
    one, two = Api(await service_factory(settings)), Api(await service_factory(settings))
    results = await asyncio.gather(
        one.am(node_down("web01.acme")),
        two.am(node_down("web02.acme")),
        one.am(node_down("web02.acme")),
        two.am(node_down("web01.acme")),
    )
    assert {s for s, _ in results} == {200}
    assert len(await one.incidents(customer="acme", kind="incident")) == 1
    assert len(await one.incidents(customer="acme", kind="fault")) == 2
    await asyncio.gather(one.deliver(), two.deliver())
    assert len(mailbox.to(ACME)) == 1


async def test_member_alert_that_is_not_a_failure_does_not_count(api: Api) -> None:
    labels = {"alertname": "HighCPU", "instance": "web01.acme:9100", "customer": "acme", "severity": "warning"}
    await api.am(bodies.body([bodies.alert(labels, {"summary": "CPU usage on web01.acme is above 90%"})]))
    await api.am(node_down("web02.acme"))
    assert await api.incidents(customer="acme", kind="incident") == []


async def test_array_failed_after_degraded_is_an_incident_linked_to_the_fault(api: Api, mailbox: Any) -> None:
    from tests.conftest import fixture_json

    await api.zbx(fixture_json("zabbix/problem.json"))  # RAID degraded on acme-db01: a fault
    failed = fixture_json("zabbix/problem.json")
    failed.update(
        event_id="40",
        trigger_id="23140",
        event_name="RAID array failed on Acme DB 01",
        trigger_name="RAID array failed on Acme DB 01",
        trigger_description="Both disks of md0 failed.",
    )
    status, body = await api.zbx(failed)
    assert body["alerts"][0]["kind"] == "incident"
    [inc] = await api.incidents(customer="acme", kind="incident")
    [fault] = await api.incidents(customer="acme", kind="fault")
    assert inc["rule"] == "redundancy-lost"
    assert (await api.incident(inc["id"]))["links"] == [{"id": fault["id"], "relation": "caused_by"}]
    await api.deliver()
    assert len(mailbox.to(ACME)) == 1


async def test_dependents_join_the_parent_incident_and_get_their_own_when_it_recovers(api: Api, mailbox: Any) -> None:
    status, body = await api.am(node_down("sw-core.acme"))
    [switch] = await api.incidents(customer="acme")
    assert switch["kind"] == "incident" and switch["host"] == "sw-core.acme"
    for host in ("web01.acme", "web02.acme"):
        status, body = await api.am(node_down(host))
        assert [o["action"] for o in body["alerts"]] == ["attach"] and body["alerts"][0]["incident_id"] == switch["id"]
    status, body = await api.am(node_down("web01.acme"))  # a repeat stays attached
    assert [o["action"] for o in body["alerts"]] == ["repeat"]
    assert len(await api.incidents(customer="acme")) == 1
    detail = await api.incident(switch["id"])
    assert {a["host"] for a in detail["alerts"]} == {"sw-core.acme", "web01.acme", "web02.acme"}
    # web02 comes back while the switch is still down: it leaves the switch's incident
    status, body = await api.am(node_down("web02.acme", "resolved"))
    assert [o["action"] for o in body["alerts"]] == ["detach"]
    # the switch recovers, web01 stays down: the switch's incident resolves, web01 gets its own
    status, body = await api.am(node_down("sw-core.acme", "resolved"))
    assert [o["action"] for o in body["alerts"]] == ["resolve"]
    assert await api.svc.sla.release_maintenance() == 1
    own = [i for i in await api.incidents(customer="acme") if i["host"] == "web01.acme"]
    assert len(own) == 1 and own[0]["kind"] == "fault"  # one of the two frontends: a silent fault
    assert (await api.incident(switch["id"]))["state"] == "resolved"
