"""Where a new problem goes, on plain values: same problem, an engineer's finding, a parent host down,
a storm, or its own incident, and which wins when several apply."""

from __future__ import annotations

import pytest

from dedupe.correlation import NewProblem, OpenIncident, Placement, down_parent, in_storm, place, same_problem


def inc(
    id: int,
    *,
    customer: str = "acme",
    source: str = "zabbix",
    origin: str = "monitoring",
    kind: str = "incident",
    host: str = "web01.acme",
    service: str | None = "website",
    rule: str = "endpoint-down",
) -> OpenIncident:
    return OpenIncident(id, customer, source, origin, kind, host, service, rule)


def new(
    *,
    customer: str = "acme",
    source: str = "alertmanager",
    host: str = "web01.acme",
    service: str | None = "website",
    kind: str = "incident",
    rule: str = "endpoint-down",
) -> NewProblem:
    return NewProblem(customer, source, host, service, kind, rule)


FINDING_ON_HOST = inc(5, source="engineer", origin="engineer", kind="fault", rule="finding")
FINDING_ON_SERVICE = inc(6, source="engineer", origin="engineer", kind="fault", host="", rule="finding")


@pytest.mark.parametrize(
    ("problem", "candidates", "want"),
    [
        # another source, same host, same meaning: one incident
        (new(), [inc(1)], (Placement.SAME_PROBLEM, 1)),
        # host names compare without case or a trailing dot
        (new(host="WEB01.acme."), [inc(1)], (Placement.SAME_PROBLEM, 1)),
        # the same source twice is not cross-source (its own key decides)
        (new(source="zabbix"), [inc(1)], None),
        # same host, another meaning: two problems
        (new(rule="capacity", kind="fault"), [inc(1)], None),
        # same meaning, but the other incident is a fault and this one an incident: kinds must agree
        (new(), [inc(1, kind="fault")], None),
        # rules scoped to a customer or service still compare by their base id
        (new(rule="acme:website:endpoint-down"), [inc(1)], (Placement.SAME_PROBLEM, 1)),
        # another host: apart
        (new(host="web02.acme"), [inc(1)], None),
        # no host on the alert: cross-source needs one
        (new(host=""), [inc(1, host="")], None),
        # another customer's incident is never joined, whatever else matches
        (new(), [inc(1, customer="globex")], None),
        # monitoring confirms a finding about the host, whatever its meaning or kind
        (new(rule="capacity", kind="fault", source="zabbix"), [FINDING_ON_HOST], (Placement.FINDING, 5)),
        # a finding with no host is confirmed on its service
        (new(host="db01.acme"), [FINDING_ON_SERVICE], (Placement.FINDING, 6)),
        (new(host="db01.acme", service="mail"), [FINDING_ON_SERVICE], None),
        (new(host="db01.acme", service=None), [FINDING_ON_SERVICE], None),
        # a finding about a host is not confirmed by an alert on another host of the same service
        (new(host="web02.acme"), [FINDING_ON_HOST], None),
        # a second finding does not join the first
        (new(source="engineer"), [FINDING_ON_HOST], None),
        # the oldest match wins
        (new(), [inc(9), inc(3)], (Placement.SAME_PROBLEM, 3)),
    ],
)
def test_same_problem(problem: NewProblem, candidates: list[OpenIncident], want: tuple[Placement, int] | None) -> None:
    got = same_problem(problem, candidates)
    assert (got[0], got[1].id) == want if want else got is None


SWITCH = inc(20, host="sw-core.acme", service=None, rule="endpoint-down")


@pytest.mark.parametrize(
    ("problem", "parents", "candidates", "want"),
    [
        (new(host="web01.acme"), ["sw-core.acme"], [SWITCH], 20),
        (new(host="web01.acme"), ["SW-CORE.acme."], [SWITCH], 20),
        # no dependency configured for this host
        (new(host="web01.acme"), [], [SWITCH], None),
        # the parent only has a silent fault (one PSU): its children are not hidden behind it
        (new(host="web01.acme"), ["sw-core.acme"], [inc(20, host="sw-core.acme", kind="fault")], None),
        # another customer's switch
        (new(host="web01.acme"), ["sw-core.acme"], [inc(20, host="sw-core.acme", customer="globex")], None),
        # the parent's own alert does not attach to itself
        (new(host="sw-core.acme"), ["sw-core.acme"], [SWITCH], None),
        (new(host=""), ["sw-core.acme"], [SWITCH], None),
    ],
)
def test_down_parent(problem: NewProblem, parents: list[str], candidates: list[OpenIncident], want: int | None) -> None:
    got = down_parent(problem, parents, candidates)
    assert (got.id if got else None) == want


@pytest.mark.parametrize(
    ("opened", "threshold", "want"),
    [(9, 10, False), (10, 10, True), (50, 10, True), (100, 0, False), (0, 1, False), (1, 1, True)],
)
def test_in_storm(opened: int, threshold: int, want: bool) -> None:
    assert in_storm(opened, threshold) is want


STORM_FIRST = inc(30, host="p0.acme", rule="endpoint-down", source="alertmanager")


@pytest.mark.parametrize(
    ("problem", "candidates", "parents", "storm", "want"),
    [
        # nothing applies: its own incident
        (new(), [], [], None, (Placement.OWN, None)),
        # same problem beats a parent down and a storm
        (new(), [inc(1), SWITCH], ["sw-core.acme"], STORM_FIRST, (Placement.SAME_PROBLEM, 1)),
        # a finding beats a parent down: the engineer's ticket is where the work is
        (new(source="zabbix"), [FINDING_ON_HOST, SWITCH], ["sw-core.acme"], None, (Placement.FINDING, 5)),
        # a known cause (the switch it hangs off is down) beats the storm heuristic
        (new(host="srv-7.acme"), [SWITCH], ["sw-core.acme"], STORM_FIRST, (Placement.PARENT, 20)),
        # storm only when nothing more specific applies
        (new(host="srv-7.acme"), [], [], STORM_FIRST, (Placement.STORM, 30)),
        # a storm is per service: an alert without a service, or of another service, stays apart
        (new(host="srv-7.acme", service=None), [], [], STORM_FIRST, (Placement.OWN, None)),
        (new(host="srv-7.acme", service="mail"), [], [], STORM_FIRST, (Placement.OWN, None)),
        # and per customer
        (new(customer="globex"), [], [], STORM_FIRST, (Placement.OWN, None)),
    ],
)
def test_place_precedence(
    problem: NewProblem,
    candidates: list[OpenIncident],
    parents: list[str],
    storm: OpenIncident | None,
    want: tuple[Placement, int | None],
) -> None:
    where, target = place(problem, candidates, parents, storm)
    assert (where, target.id if target else None) == want
