"""Read-only views for engineers: why an incident was classified as it was, and what another rule pack
would change on the alerts already received (`alertbridge explain`, `alertbridge replay`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from bridge.config import Settings
from bridge.db import Database
from bridge.schema import alert_events, alerts, incident_links, incidents
from classifier import Classifier, UnknownCustomer
from connectors import alertmanager, findings, zabbix
from connectors.alert import PayloadError

PARSERS = {"alertmanager": alertmanager.parse, "zabbix": zabbix.parse, "engineer": findings.parse}


async def explain(db: Database, incident_id: int) -> dict[str, Any] | None:
    async with db.read() as conn:
        row = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).mappings().first()
        if row is None:
            return None
        al = (await conn.execute(select(alerts).where(alerts.c.incident_id == incident_id))).mappings().all()
        links = (
            await conn.execute(
                select(incident_links.c.linked_id, incident_links.c.relation).where(
                    incident_links.c.incident_id == incident_id
                )
            )
        ).all()
    return {
        "incident": row["id"],
        "title": row["title"],
        "kind": row["kind"],
        "customer": row["customer"],
        "service": row["service"],
        "rule": row["rule"],
        "reason": row["reason"],
        "binding": row["binding"],
        "priority": f"{row['priority']} (impact {row['impact']} x urgency {row['urgency']})",
        "trace": row["trace"] or [],
        "deadlines": {"reaction": _iso(row["reaction_due"]), "resolution": _iso(row["resolution_due"])},
        "alerts": [f"{a['source']} {a['identity']} {a['name']} ({a['status']}, {a['occurrences']}x)" for a in al],
        "links": [f"{r[1]} incident {r[0]}" for r in links],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def replay(db: Database, settings: Settings, classifier: Classifier, since: datetime) -> list[dict[str, Any]]:
    """What `classifier` would decide for every alert received since `since`, where it differs from the
    stored incidents. Reads only."""
    changes: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    async with db.read() as conn:
        events = (
            await conn.execute(
                select(alert_events.c.id, alert_events.c.source, alert_events.c.body)
                .where(alert_events.c.received_at >= since)
                .order_by(alert_events.c.id.desc())
            )
        ).all()
        for ev in events:
            parse = PARSERS.get(ev.source)
            if parse is None:
                continue
            try:
                parsed = parse(ev.body)
            except PayloadError:
                continue
            for a in parsed:
                try:
                    b = classifier.bind(a, strict=True)
                except UnknownCustomer:
                    continue
                cust = b.customer or settings.customer(settings.unmatched_customer or "")
                if cust is None or (cust.id, a.source, a.identity) in seen:
                    continue
                seen.add((cust.id, a.source, a.identity))  # newest event of each alert only
                v = classifier.classify(a, b)
                stored = (
                    await conn.execute(
                        select(incidents.c.id, incidents.c.kind, incidents.c.rule, incidents.c.priority)
                        .select_from(alerts.join(incidents, alerts.c.incident_id == incidents.c.id))
                        .where(
                            alerts.c.customer == cust.id, alerts.c.source == a.source, alerts.c.identity == a.identity
                        )
                    )
                ).first()
                if stored is None:
                    continue
                if (stored.kind, stored.rule, stored.priority) != (v.kind, v.rule, v.priority):
                    changes.append(
                        {
                            "event": ev.id,
                            "incident": stored.id,
                            "alert": f"{a.source} {a.identity} {a.name}",
                            "stored": {"kind": stored.kind, "rule": stored.rule, "priority": stored.priority},
                            "would_be": {"kind": v.kind, "rule": v.rule, "priority": v.priority, "reason": v.reason},
                        }
                    )
    return changes
