"""Where a new problem goes: its own incident, or one already open for the same customer.

Pure decisions on plain values; `bridge.pipeline` fetches the open incidents and persists the answer.
Precedence, most specific first:

1. **same problem**: another source already has an incident about this host with the same meaning
   (Zabbix and Alertmanager both see web01 down), or monitoring confirms an engineer's finding about
   this host (or, for a finding without a host, this service). The alert joins it.
2. **parent down**: the host depends (config `dependencies`) on a host with an open service-affecting
   incident. The alert attaches to that incident and gets its own only if it outlives it.
3. **storm**: `storm_threshold` incidents or more opened for this service within the storm window. The
   alert joins the first open incident of the storm.
4. otherwise its own incident.

Every candidate is of the alert's own customer: the caller never offers another customer's incidents,
and `place` refuses them too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Placement(StrEnum):
    SAME_PROBLEM = "same_problem"
    FINDING = "finding"
    PARENT = "parent"
    STORM = "storm"
    OWN = "own"


@dataclass(frozen=True, slots=True)
class OpenIncident:
    id: int
    customer: str
    source: str
    origin: str  # monitoring | engineer | customer
    kind: str  # incident | fault
    host: str
    service: str | None
    rule: str


@dataclass(frozen=True, slots=True)
class NewProblem:
    customer: str
    source: str
    host: str
    service: str | None
    kind: str
    rule: str


def norm(host: str | None) -> str:
    return (host or "").strip().lower().rstrip(".")


def base_rule(rule: str) -> str:
    """A rule id without its scope prefix (`acme:website:raid` -> `raid`), so customer rules still match."""
    return rule.split(":")[-1]


def same_problem(p: NewProblem, candidates: Iterable[OpenIncident]) -> tuple[Placement, OpenIncident] | None:
    """The oldest open incident another source opened for this problem, or the engineer's finding it confirms."""
    host = norm(p.host)
    for c in sorted(candidates, key=lambda c: c.id):
        if c.customer != p.customer:
            continue
        same_host = bool(host) and norm(c.host) == host
        if c.origin == "engineer":
            if p.source == "engineer":
                continue  # two findings are two findings
            confirms = same_host if norm(c.host) else (p.service is not None and c.service == p.service)
            if confirms:
                return Placement.FINDING, c
        elif c.source != p.source and same_host and c.kind == p.kind and base_rule(c.rule) == base_rule(p.rule):
            return Placement.SAME_PROBLEM, c
    return None


def down_parent(p: NewProblem, parents: Iterable[str], candidates: Iterable[OpenIncident]) -> OpenIncident | None:
    """The oldest open service-affecting incident on a host this problem's host depends on."""
    wanted = {norm(h) for h in parents} - {""}
    if not wanted or not norm(p.host) or norm(p.host) in wanted:
        return None
    for c in sorted(candidates, key=lambda c: c.id):
        if c.customer == p.customer and c.kind == "incident" and norm(c.host) in wanted:
            return c
    return None


def in_storm(opened_recently: int, threshold: int) -> bool:
    """`opened_recently` incidents of one service within the window make a storm (threshold 0: never)."""
    return threshold > 0 and opened_recently >= threshold


def place(
    p: NewProblem,
    candidates: Iterable[OpenIncident],
    parents: Iterable[str] = (),
    storm_first: OpenIncident | None = None,
) -> tuple[Placement, OpenIncident | None]:
    """Where a new problem goes. `storm_first` is the first open incident of the service's storm, if the
    service is in one (see `in_storm`)."""
    cands = [c for c in candidates if c.customer == p.customer]
    if found := same_problem(p, cands):
        return found
    if parent := down_parent(p, parents, cands):
        return Placement.PARENT, parent
    if (
        storm_first is not None
        and storm_first.customer == p.customer
        and p.service is not None
        and storm_first.service == p.service
    ):
        return Placement.STORM, storm_first
    return Placement.OWN, None
