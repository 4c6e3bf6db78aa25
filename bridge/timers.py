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

from sqlalchemy import select, update

from bridge import maintenance
from bridge.db import Database
from bridge.desk import BuiltinDesk
from bridge.inspect import PARSERS
from bridge.metrics import Metrics
from bridge.pipeline import Pipeline, Rejected
from bridge.schema import alert_events, alerts, const, incidents
from bridge.zabbix_api import ZabbixClient, ZabbixRefused, ZabbixUnavailable, problem_body, recovery_body
from connectors import zabbix as zabbix_connector
from connectors.alert import PayloadError

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
        pipeline: Pipeline | None = None,
        zabbix: ZabbixClient | None = None,
        reconcile_interval: float = 0.0,
    ) -> None:
        self.zabbix = zabbix
        self.reconcile_interval = reconcile_interval
        self._next_reconcile = 0.0  # loop time; the first run happens at start
        self.auto_close_after = auto_close_after
        self.pipeline = pipeline
        self.db = db
        self.desk = desk
        self.metrics = metrics
        self.author = author
        self.interval = interval
        self._stop = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Run the timed work now (e.g. a maintenance window was ended by hand)."""
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="timed-work")

    async def stop(self) -> None:
        self._stop.set()
        self._wakeup.set()
        if self._task:
            await self._task

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.sweep()
                await self.close_resolved()
                await self.release_maintenance()
                if self.pipeline is not None:
                    await self.pipeline.settle_flapping()
                loop = asyncio.get_running_loop()
                if self.zabbix is not None and self.reconcile_interval > 0 and loop.time() >= self._next_reconcile:
                    self._next_reconcile = loop.time() + self.reconcile_interval
                    await self.reconcile_zabbix()
            except Exception as exc:  # database away: try again next time
                log.warning("timed work failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.interval)
            self._wakeup.clear()

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
                conds = [incidents.c.state == const("open"), due.is_not(None), due < now, flag.is_(None)]
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
                .where(incidents.c.state == const("resolved"), incidents.c.resolved_at < cutoff)
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

    async def release_maintenance(self, now: datetime | None = None, batch: int = 500) -> int:
        """Take up the alerts maintenance windows held back once no window covers them any more: what still
        fires is handled as new, what recovered resolves its incident. Returns how many were released."""
        if self.pipeline is None:
            return 0
        now = now or datetime.now(UTC)
        async with self.db.transaction() as conn:
            for w in await maintenance.due_to_end(conn, now):
                log.info("maintenance window %s of %s ended", w["id"], w["customer"])
        async with self.db.read() as conn:
            held = (
                await conn.execute(
                    select(alerts.c.source, alerts.c.identity, alerts.c.last_event_id)
                    .where(alerts.c.suppressed.is_(True), alerts.c.last_event_id.is_not(None))
                    .order_by(alerts.c.id)
                    .limit(batch)
                )
            ).all()
            by_event: dict[int, set[str]] = {}
            for r in held:
                by_event.setdefault(r.last_event_id, set()).add(r.identity)
            events = (
                {
                    e.id: e
                    for e in (
                        await conn.execute(
                            select(alert_events.c.id, alert_events.c.source, alert_events.c.body).where(
                                alert_events.c.id.in_(sorted(by_event))
                            )
                        )
                    ).all()
                }
                if by_event
                else {}
            )
        released = 0
        for event_id, identities in sorted(by_event.items()):
            ev = events.get(event_id)
            parse = PARSERS.get(ev.source) if ev is not None else None
            if ev is None or parse is None:
                continue
            try:
                parsed = [a for a in parse(ev.body) if a.identity in identities]
                prepared = self.pipeline.prepare(parsed)
            except (PayloadError, Rejected) as exc:  # the configuration changed since: leave it held, say why
                log.warning("cannot release alerts of event %s: %s", event_id, exc)
                continue
            result = await self.pipeline.ingest(ev.source, "maintenance-end", ev.body, prepared, now, release=True)
            released += sum(o.action not in ("maintenance", "ignore") for o in result.outcomes)
        return released

    async def reconcile_zabbix(self) -> dict[str, int]:
        """Compare Zabbix's open problems with what is firing here and fix the differences: a problem whose
        webhook never arrived is taken up; one that recovered without its recovery arriving is resolved.
        Safe on several replicas at once: each fix goes through the pipeline like the webhook would."""
        if self.zabbix is None or self.pipeline is None:
            return {"opened": 0, "resolved": 0}
        try:
            problems = await self.zabbix.open_problems()
        except (ZabbixUnavailable, ZabbixRefused) as exc:
            log.warning("zabbix reconcile: cannot read problems: %s", exc)
            return {"opened": 0, "resolved": 0}
        open_ids = {str(p["eventid"]) for p in problems}
        async with self.db.read() as conn:
            rows = (
                (
                    await conn.execute(
                        select(alerts.c.identity, alerts.c.status, alerts.c.name, alerts.c.host).where(
                            alerts.c.source == "zabbix"
                        )
                    )
                )
                .mappings()
                .all()
            )
        known = {r["identity"] for r in rows}
        firing = [dict(r) for r in rows if r["status"] == "firing"]
        fixed = {"opened": 0, "resolved": 0}
        for p in problems:
            if str(p["eventid"]) in known:
                continue
            if await self._reconcile_one(problem_body(p, self.zabbix.settings.url), f"problem {p['eventid']}"):
                fixed["opened"] += 1
        gone = [r for r in firing if r["identity"] not in open_ids]
        if gone:
            try:
                events = await self.zabbix.events([r["identity"] for r in gone])
            except (ZabbixUnavailable, ZabbixRefused) as exc:
                log.warning("zabbix reconcile: cannot read events: %s", exc)
                return fixed
            for r in gone:
                ev = events.get(r["identity"])
                if ev is not None and str(ev.get("r_eventid", "0")) == "0":
                    continue  # still a problem in Zabbix (it left problem.get only just now, or is suppressed)
                recovery = str(ev["r_eventid"]) if ev is not None else str(int(r["identity"]) + 1)
                body = recovery_body(r, recovery, ev)
                if await self._reconcile_one(body, f"recovery of {r['identity']}"):
                    fixed["resolved"] += 1
        if fixed["opened"] or fixed["resolved"]:
            log.info("zabbix reconcile: %d problem(s) taken up, %d resolved", fixed["opened"], fixed["resolved"])
        return fixed

    async def _reconcile_one(self, body: dict[str, object], what: str) -> bool:
        assert self.pipeline is not None
        try:
            prepared = self.pipeline.prepare(zabbix_connector.parse(body))
        except (PayloadError, Rejected) as exc:
            log.warning("zabbix reconcile: %s not taken up: %s", what, exc)
            return False
        result = await self.pipeline.ingest("zabbix", "reconcile", body, prepared)
        log.info("zabbix reconcile: %s -> %s", what, ", ".join(o.action for o in result.outcomes))
        return any(o.action not in ("ignore", "repeat") for o in result.outcomes)
