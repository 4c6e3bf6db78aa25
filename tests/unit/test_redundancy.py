"""Redundancy: which alerts are members, and what counted members mean for the service (pure)."""

from __future__ import annotations

import pytest

from classifier import Classifier, Customer, Service, load_pack
from classifier.inventory import Member, Redundancy
from connectors.alert import Alert, AlertStatus
from dedupe.redundancy import GroupAction, group_transition

PACK = load_pack()
RAID = Redundancy(
    id="raid1",
    tolerate=1,
    members=[Member(name="sda", host="db1", text=r"\bsda\b"), Member(name="sdb", host="db1", text=r"\bsdb\b")],
)
WEB = Redundancy.model_validate({"id": "web", "tolerate": 1, "members": ["web01", "web02", "web03"]})
ACME = Customer(
    id="acme",
    name="Acme",
    services=[
        Service(id="files", name="Files", match={"hosts": ["db1"]}, redundancy=[RAID]),
        Service(id="site", name="Site", match={"hosts": ["web0*"]}, redundancy=[WEB]),
    ],
)


def alert(name: str, title: str, host: str) -> Alert:
    return Alert(
        source="zabbix",
        identity="1",
        group="g",
        status=AlertStatus.FIRING,
        name=name,
        title=title,
        host=host,
        labels={"customer": "acme"},
    )


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # (down members, incident open) after each event -> action; RAID1 tolerates 1
        ([(1, False)], [GroupAction.HOLD]),  # first disk fails: a fault only
        ([(1, False), (2, False)], [GroupAction.HOLD, GroupAction.OPEN]),  # second fails: the service is hit
        ([(2, True), (1, True)], [GroupAction.LINK, GroupAction.RESOLVE]),  # first comes back: carried again
        ([(1, False), (0, False)], [GroupAction.HOLD, GroupAction.HOLD]),
    ],
)
def test_group_transitions(steps: list[tuple[int, bool]], expected: list[GroupAction]) -> None:
    assert [group_transition(d, 1, o) for d, o in steps] == expected


def test_tolerate_zero_and_larger_groups() -> None:
    assert group_transition(1, 0, False) is GroupAction.OPEN
    assert group_transition(2, 2, False) is GroupAction.HOLD and group_transition(3, 2, False) is GroupAction.OPEN


def test_disk_and_host_members_are_recognised() -> None:
    c = Classifier([ACME], PACK)
    v = c.classify(alert("Disk failed", "Physical disk sda on db1 has failed", "db1"))
    assert v.kind == "fault" and v.member and (v.member.group_key, v.member.member) == ("files/raid1", "sda")
    assert v.rule == "redundancy-member:physical-disk-failed" and "one of 2 members" in v.reason
    v = c.classify(alert("Unavailable by ICMP ping", "web02 is unavailable by ICMP ping", "web02"))
    assert v.kind == "fault" and v.member and v.member.member == "web02" and v.member.size == 3
    # not a member failure: capacity on a member host stays what it is, with no membership
    v = c.classify(alert("Disk space", "Disk space is low on web02 (less than 10% free)", "web02"))
    assert v.member is None and v.rule == "capacity"
    # a host outside the group is an ordinary incident
    v = c.classify(alert("Unavailable by ICMP ping", "web09 is unavailable by ICMP ping", "web09"))
    assert v.kind == "incident" and v.member is None


def test_group_config_is_validated() -> None:
    with pytest.raises(ValueError, match="tolerate"):
        Redundancy.model_validate({"id": "x", "tolerate": 2, "members": ["a", "b"]})
    with pytest.raises(ValueError, match="unique"):
        Redundancy.model_validate({"id": "x", "members": ["a", "a"]})
    with pytest.raises(ValueError):
        Redundancy.model_validate({"id": "x", "members": ["a"]})


def test_customer_and_service_rules_override_the_pack() -> None:
    from classifier import Rule

    quiet = Rule(
        id="acme-test-site", kind="fault", reason="the test site is not used by anyone", when={"text": ["test site"]}
    )
    loud = Rule(id="acme-files-any", kind="incident", reason="everything on files matters", when={"text": ["."]})
    cust = Customer(
        id="acme",
        name="Acme",
        rules=[quiet],
        services=[Service(id="files", name="Files", match={"hosts": ["db1"]}, rules=[loud])],
    )
    c = Classifier([cust], PACK)
    v = c.classify(alert("HTTP down", "The test site is down", "web01"))
    assert (v.kind, v.rule) == ("fault", "acme-test-site") and any("overrides" in t for t in v.trace)
    v = c.classify(alert("High CPU", "CPU usage is high on db1", "db1"))
    assert (v.kind, v.rule) == ("incident", "acme-files-any")


def test_customer_and_service_priority_overrides() -> None:
    vip = Customer(
        id="vip",
        name="VIP",
        urgency_boost=1,
        services=[Service(id="erp", name="ERP", match={"hosts": ["erp1"]}, impact="high")],
    )
    c = Classifier([vip], PACK)
    a = Alert(
        source="zabbix",
        identity="1",
        group="g",
        status=AlertStatus.FIRING,
        name="High CPU",
        title="High CPU utilization on erp1",
        host="erp1",
        labels={"customer": "vip"},
    )
    v = c.classify(a)
    assert v.kind == "fault" and (v.impact, v.urgency, v.priority) == ("high", "medium", "high")
    assert any("customer vip raises urgency" in t for t in v.trace) and any("service erp" in t for t in v.trace)
