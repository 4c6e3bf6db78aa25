"""Keys: what makes two alerts the same problem, and how to order a source's resends."""

from __future__ import annotations

from datetime import datetime

from connectors.alert import Alert, AlertStatus


def correlation_key(customer: str, alert: Alert) -> str:
    """The incident an alert belongs to. Always starts with the customer: tenants never share one.

    Alertmanager: the fingerprint (labels identity, not severity or annotations). Zabbix: the
    trigger, so a relapse (new event id) finds its incident. Engineers: place and title.
    """
    return f"{customer}/{alert.source}/{alert.group}"


def order_of(alert: Alert, received: datetime) -> float:
    """A number that grows with the source's own notion of time, to spot stale resends.

    Zabbix: event id for a problem, recovery event id for a recovery (ids only grow).
    Alertmanager: startsAt for firing, endsAt for resolved. Otherwise the arrival time.
    """
    if alert.source_seq is not None:
        return float(alert.source_seq)
    if alert.status is AlertStatus.RESOLVED and alert.ends_at is not None:
        return alert.ends_at.timestamp()
    if alert.status is AlertStatus.FIRING and alert.starts_at is not None:
        return alert.starts_at.timestamp()
    return received.timestamp()
