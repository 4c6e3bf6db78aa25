"""Timed work that runs once across replicas: SLA breach detection and closing resolved incidents.

Each sweep is one UPDATE ... RETURNING that flags the incidents whose deadline has passed and were
not flagged yet; on PostgreSQL a second replica running the same sweep waits for the row locks and
then finds them flagged, so every breach is recorded exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bridge.db import Database
from bridge.desk import BuiltinDesk
from bridge.metrics import Metrics
from bridge.schema import incidents

log = logging.getLogger("alertbridge.sla")


class TimedWork:
    def __init__(
        self,
        db: Database,
        desk: BuiltinDesk,
        metrics: Metrics,
        author: str,
        interval: float,
        auto_close_after: float = 0.0,
    ) -> None:
        self.auto_close_after = auto_close_after
        self.db = db
        self.desk = desk
        self.metrics = metrics
        self.author = author
        self.interval = interval
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="timed-work")

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.sweep()
                await self.close_resolved()
            except Exception as exc:  # database away: try again next time
                log.warning("timed work failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)

    async def sweep(self, now: datetime | None = None) -> int:
        """Flag and record every deadline that passed since the last sweep; returns how many."""
        now = now or datetime.now(UTC)
        found = 0
        async with self.db.transaction() as conn:
            for kind, due, flag, extra in (
                (
                    "reaction",
                    incidents.c.reaction_due,
                    incidents.c.reaction_breached_at,
                    incidents.c.acknowledged_at.is_(None),
                ),
                ("resolution", incidents.c.resolution_due, incidents.c.resolution_breached_at, None),
            ):
                conds = [incidents.c.state == "open", due.is_not(None), due < now, flag.is_(None)]
                if extra is not None:
                    conds.append(extra)
                stmt = (
                    update(incidents)
                    .where(*conds)
                    .values({flag.key: now})
                    .returning(incidents.c.id, incidents.c.customer, incidents.c.priority, due)
                )
                rows = (await conn.execute(stmt)).all()
                for r in rows:
                    what = "no engineer has reacted" if kind == "reaction" else "the incident is not resolved"
                    await self.desk.add_article(
                        conn,
                        r[0],
                        self.author,
                        f"SLA breach: the {kind} deadline ({r[3]:%Y-%m-%d %H:%M} UTC, priority {r[2]}) has passed "
                        f"and {what}.",
                        now,
                    )
                    self.metrics.sla_breaches.labels(r[1], kind).inc()
                    log.warning("incident %s: %s deadline passed", r[0], kind)
                found += len(rows)
        return found

    async def close_resolved(self, now: datetime | None = None) -> int:
        """Close incidents resolved longer than `auto_close_after` ago; a relapse then opens a new one."""
        if self.auto_close_after <= 0:
            return 0
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(seconds=self.auto_close_after)
        async with self.db.transaction() as conn:
            stmt = (
                update(incidents)
                .where(incidents.c.state == "resolved", incidents.c.resolved_at < cutoff)
                .values(state="closed", active_key=None, closed_at=now, updated_at=now)
                .returning(incidents.c.id)
            )
            ids = (await conn.execute(stmt)).scalars().all()
            for incident_id in ids:
                await self.desk.set_state(conn, incident_id, "closed", now)
                await self.desk.add_article(
                    conn,
                    incident_id,
                    self.author,
                    "Closed automatically: resolved and quiet since the agreed time.",
                    now,
                )
        return len(ids)
