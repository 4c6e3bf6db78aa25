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


def _best_service(cust: Customer, alert: Alert, named_svc: str | None) -> tuple[int, str, Service | None]:
    best: tuple[int, str, Service | None] = (0, "", None)
    for svc in cust.services:
        if named_svc is not None and named_svc.lower() == svc.id:
            score, why = 4, f"service named by the alert ({svc.id})"
        else:
            score, why = _score(svc.match, alert)
        if score > best[0]:
            best = (score, why, svc)
    return best


def bind(alert: Alert, customers: list[Customer] | tuple[Customer, ...], strict: bool = True) -> Binding:
    """Bind an alert to a customer and service.

    A customer the alert names (label or tag `customer`, by id or name, any case) decides the
    customer; a customer the inventory lacks raises UnknownCustomer when `strict`, else binds to
    none. Otherwise every customer is scored by its own and its services' matches and the most
    specific wins; a service id the alert names counts only within one customer (ids are unique per
    customer, not across them). The order of customers in the config never decides.
    """
    named = _named_customer(alert)
    named_svc = alert.labels.get("service") or alert.tags.get("service") or None
    if named is not None:
        key = named.strip().lower()
        cust = next((c for c in customers if c.id == key), None) or next(
            (c for c in customers if c.name.strip().lower() == key), None
        )
        if cust is None:
            if strict:
                raise UnknownCustomer(named)
            return Binding(None, None, f"unknown customer {named!r}")
        how = f"customer named by the alert ({named})"
        _, why, svc = _best_service(cust, alert, named_svc)
        return Binding(cust, svc, f"{how}; service by {why}" if svc else how)
    if named_svc is not None and sum(1 for c in customers if c.service(named_svc.lower())) > 1:
        named_svc = None  # ambiguous across tenants: bind by the other criteria only
    ranked: list[tuple[int, int, str, Customer, Service | None]] = []
    for cust in customers:
        sscore, swhy, svc = _best_service(cust, alert, named_svc)
        cscore, cwhy = _score(cust.match, alert)
        score = max(sscore, cscore)
        if score:
            ranked.append((score, sscore, swhy if sscore >= cscore else cwhy, cust, svc))
    if not ranked:
        return Binding(None, None, "no customer matches")
    ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
    top = ranked[0]
    ties = [r for r in ranked if (r[0], r[1]) == (top[0], top[1])]
    if len(ties) > 1:
        return Binding(None, None, "ambiguous: " + ", ".join(f"{r[3].id} by {r[2]}" for r in ties))
    _, _, why, cust, svc = top
    return Binding(cust, svc, f"by {why}" + (f"; service {svc.id}" if svc and why.startswith("label customer") else ""))
