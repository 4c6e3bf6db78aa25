"""Maintenance windows: which alerts they hold back, syncing the configured ones, and ending them."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.config import Maintenance
from bridge.schema import maintenance_windows
from classifier.inventory import host_matches

log = logging.getLogger("alertbridge.maintenance")


def config_key(m: Maintenance) -> str:
    canon = "|".join([m.customer, m.service or "", m.host or "", m.starts.isoformat(), m.ends.isoformat()])
    return "config:" + hashlib.sha256(canon.encode()).hexdigest()[:32]


_ACTIVE = select(maintenance_windows).where(
    maintenance_windows.c.customer.in_(bindparam("b_customers", expanding=True)),
    maintenance_windows.c.starts_at <= bindparam("b_now"),
    maintenance_windows.c.ends_at > bindparam("b_now"),
    maintenance_windows.c.ended_at.is_(None),
)


async def active(conn: AsyncConnection, customers: set[str], now: datetime) -> list[dict[str, Any]]:
    """Windows of these customers open at `now`."""
    if not customers:
        return []
    rows = await conn.execute(_ACTIVE, {"b_customers": sorted(customers), "b_now": now})
    return [dict(r) for r in rows.mappings().all()]


def covering(windows: list[dict[str, Any]], customer: str, service: str | None, host: str) -> dict[str, Any] | None:
    """The window that holds back an alert of this customer, service and host, if any."""
    for w in windows:
        if w["customer"] != customer:
            continue
        if w["service"] and w["service"] != service:
            continue
        if w["host"] and not host_matches(w["host"], host):
            continue
        return w
    return None


async def due_to_end(conn: AsyncConnection, now: datetime) -> list[dict[str, Any]]:
    """Claim the windows that have ended and were not processed yet (once, across replicas)."""
    stmt = (
        update(maintenance_windows)
        .where(maintenance_windows.c.ends_at <= now, maintenance_windows.c.ended_at.is_(None))
        .values(ended_at=now)
        .returning(maintenance_windows)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings().all()]
