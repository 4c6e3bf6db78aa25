"""Which customer and which service an alert belongs to, from the inventory."""

from __future__ import annotations

from dataclasses import dataclass

from classifier.inventory import Customer, Match, Service, host_matches
from connectors.alert import Alert


class UnknownCustomer(LookupError):
    """The alert names a customer the inventory does not know."""

    def __init__(self, customer: str) -> None:
        super().__init__(f"unknown customer {customer!r}")
        self.customer = customer


@dataclass(frozen=True, slots=True)
class Binding:
    customer: Customer | None
    service: Service | None
    how: str  # which criterion bound it, for the explanation


def _score(match: Match, alert: Alert) -> tuple[int, str]:
    """How specifically `match` binds `alert`: 3 label/tag/host, 1 host group, 0 none."""
    for k, v in match.labels.items():
        if alert.labels.get(k) == v:
            return 3, f"label {k}={v}"
    for k, v in match.tags.items():
        if alert.tags.get(k) == v:
            return 3, f"tag {k}={v}"
    for h in match.hosts:
        if host_matches(h, alert.host):
            return 3, f"host {alert.host}"
    groups = {g.lower() for g in alert.host_groups}
    for g in match.host_groups:
        if g.lower() in groups:
            return 1, f"host group {g}"
    return 0, ""


def _named_customer(alert: Alert) -> str | None:
    return alert.labels.get("customer") or alert.tags.get("customer") or None


def bind(alert: Alert, customers: list[Customer] | tuple[Customer, ...], strict: bool = True) -> Binding:
    """Bind an alert to a customer and service.

    A customer the alert names but the inventory lacks raises UnknownCustomer when `strict`,
    else binds to no customer."""
    named = _named_customer(alert)
    by_id = {c.id: c for c in customers}
    if named is not None:
        cust = by_id.get(named) or next((c for c in customers if c.name.lower() == named.lower()), None)
        if cust is None:
            if strict:
                raise UnknownCustomer(named)
            return Binding(None, None, f"unknown customer {named!r}")
        how = f"customer named by the alert ({named})"
        candidates: list[Customer] = [cust]
    else:
        candidates = list(customers)
        how = ""
    best: tuple[int, str, Customer | None, Service | None] = (0, "", None, None)
    for cust in candidates:
        for svc in cust.services:
            named_svc = alert.labels.get("service") or alert.tags.get("service")
            if named_svc == svc.id:
                score, why = 4, f"service named by the alert ({svc.id})"
            else:
                score, why = _score(svc.match, alert)
            if score > best[0]:
                best = (score, why, cust, svc)
        cscore, cwhy = _score(cust.match, alert)
        if cscore and best[2] is None and cscore > best[0]:
            best = (cscore, cwhy, cust, None)
    _, why, found_cust, found_svc = best
    if named is not None:
        c = candidates[0]
        if found_cust is None:
            return Binding(c, None, how)
        return Binding(c, found_svc, f"{how}; service by {why}" if found_svc else how)
    if found_cust is None:
        return Binding(None, None, "no customer matches")
    return Binding(found_cust, found_svc, f"by {why}")
