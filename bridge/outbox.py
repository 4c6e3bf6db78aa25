"""Delivers what the pipeline queued (curator e-mail, changes for a remote desk), after commit, with
retries and backoff.

Rows are claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), so several replicas never
deliver the same row at once; each row's key is its idempotency key. A claim takes several rows and
delivers them one after another: right before each, the lease is renewed, and only if this claim still
holds it (a row whose lease ran out while it waited is left to whoever took it over); a delivery that
would outlast its lease is cut off and retried later. Rows of one incident and kind go
out in order: a row waits while an earlier row of its incident and kind is still pending (a desk that
is down does not hold up the curator's mail). Desk changes are never given up while the desk is
unreachable: they wait with backoff until it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from bridge.config import OutboxSettings
from bridge.db import Database
from bridge.desk import BuiltinDesk
from bridge.mailer import Mailer, NotConfigured
from bridge.metrics import Metrics
from bridge.remote import RemoteDesks
from bridge.schema import const, incidents, outbox, tickets
from bridge.zabbix_api import ZabbixClient, ZabbixRefused
from connectors.desks import DeskRejected, DeskUnavailable

log = logging.getLogger("alertbridge.outbox")
Handler = Callable[[dict[str, Any], str], Awaitable[None]]


class Permanent(Exception):
    """A delivery that cannot succeed by retrying (e.g. the SMTP server refused the recipient)."""


def backoff(attempts: int, s: OutboxSettings) -> float:
    """Exponential backoff with full jitter after `attempts` failed deliveries."""
    cap = min(s.backoff_max, s.backoff_initial * (2 ** max(0, attempts - 1)))
    return random.uniform(cap / 2, cap)


class Dispatcher:
    def __init__(
        self,
        db: Database,
        settings: OutboxSettings,
        mailer: Mailer,
        desk: BuiltinDesk,
        metrics: Metrics,
        author: str,
        remote: RemoteDesks | None = None,
        zabbix: ZabbixClient | None = None,
    ) -> None:
        self.remote = remote
        self.zabbix = zabbix
        self.db = db
        self.settings = settings
        self.mailer = mailer
        self.desk = desk
        self.metrics = metrics
        self.author = author
        self.wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox")

    async def stop(self) -> None:
        """Finish the delivery in hand, then stop."""
        self._stopping = True
        self.wake.set()
        if self._task:
            await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                busy = await self.deliver_due()
            except Exception as exc:  # database away: keep trying, never die
                log.warning("outbox: cannot read the outbox: %s", exc)
                busy = 0
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.poll_interval)
            self.wake.clear()

    async def deliver_due(self, limit: int = 20) -> int:
        """Claim due rows and deliver them; returns how many were handled."""
        now = datetime.now(UTC)
        rows = await self._claim(now, limit)
        for row in rows:
            if self._stopping and row is not rows[0]:
                await self._release(row)
                continue
            # the first row goes out right after its claim, whose lease outlasts the delivery (cut off at 0.8 of
            # it): nothing else can take or withdraw a row while its lease runs. Later rows waited their turn.
            if row is not rows[0] and not await self._renew(row):
                log.info("outbox %s: its lease ran out before its turn; left to the claim that holds it", row["key"])
                continue
            try:
                async with asyncio.timeout(self.settings.lease * 0.8):
                    await self._deliver(row)
            except TimeoutError:  # cut off before the lease runs out, so nobody else sends it meanwhile
                await self._retry_later(row, f"delivery took longer than {self.settings.lease * 0.8:.0f}s")
        return len(rows)

    async def _claim(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        earlier = outbox.alias("earlier")
        blocked = (
            select(earlier.c.id)
            .where(
                earlier.c.incident_id == outbox.c.incident_id,
                earlier.c.kind == outbox.c.kind,
                earlier.c.id < outbox.c.id,
                earlier.c.state == const("pending"),
            )
            .exists()
        )
        # kinds nothing here can deliver (no SMTP server, no remote desk, no Zabbix API) are tried once, which
        # records why they wait, and then stay queued untouched: a backlog of them costs nothing on every poll
        deliverable = [
            k
            for k, ok in (
                ("curator_mail", self.mailer.configured),
                ("desk", self.remote is not None),
                ("zabbix_ack", self.zabbix is not None),
            )
            if ok
        ]
        q = (
            select(outbox)
            .where(
                outbox.c.state == const("pending"),
                or_(outbox.c.kind.in_(deliverable), outbox.c.last_error.is_(None)),
                outbox.c.next_attempt_at <= now,
                or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < now),
                ~blocked,
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if not self.db.is_sqlite:
            q = q.with_for_update(skip_locked=True, of=outbox)
        token = uuid.uuid4().hex
        async with self.db.transaction() as conn:
            rows = [dict(r) for r in (await conn.execute(q)).mappings().all()]
            if rows:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([r["id"] for r in rows]))
                    .values(locked_until=now + timedelta(seconds=self.settings.lease), lease_owner=token)
                )
        for r in rows:
            r["lease_token"] = token
        return rows

    async def _renew(self, row: dict[str, Any]) -> bool:
        """Extend this claim's lease on the row for one delivery; False if the claim no longer holds it
        (it ran out and another claim took the row, or the row is no longer pending)."""
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            res = await conn.execute(
                update(outbox)
                .where(
                    outbox.c.id == row["id"], outbox.c.lease_owner == row["lease_token"], outbox.c.state == "pending"
                )
                .values(locked_until=now + timedelta(seconds=self.settings.lease))
            )
        return bool(res.rowcount)

    async def _release(self, row: dict[str, Any]) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row["id"], outbox.c.lease_owner == row["lease_token"])
                .values(locked_until=None, lease_owner=None)
            )

    async def _deliver(self, row: dict[str, Any]) -> None:
        kind = row["kind"]
        try:
            if kind == "curator_mail":
                gate = await self._gate(row)
                if gate is not None:
                    await self._finish(row, "cancelled", gate)
                    return
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(2),
                    wait=wait_random_exponential(multiplier=0.2, max=1.0),
                    retry=retry_if_exception(lambda e: not isinstance(e, Permanent | NotConfigured)),
                    reraise=True,
                ):
                    with attempt:
                        await self._send_mail(row)
            elif kind == "desk":
                if self.remote is None:
                    raise NotConfigured("no remote desk is configured")
                try:
                    row["result"] = await self.remote.deliver(row)
                except DeskRejected as exc:
                    raise Permanent(str(exc)) from exc
                except DeskUnavailable:
                    raise
            elif kind == "zabbix_ack":
                if self.zabbix is None:
                    raise NotConfigured("the Zabbix API is not configured (zabbix.url)")
                try:
                    await self.zabbix.acknowledge(row["payload"]["event_id"], row["payload"]["message"])
                except ZabbixRefused as exc:
                    raise Permanent(str(exc)) from exc
            else:
                raise Permanent(f"unknown outbox kind {kind!r}")
        except NotConfigured as exc:
            await self._retry_later(row, str(exc), count=False)
            return
        except Permanent as exc:
            await self._finish(row, "failed", str(exc))
            return
        except Exception as exc:
            await self._retry_later(row, f"{type(exc).__name__}: {exc}")
            return
        await self._finish(row, "delivered", None)

    async def _gate(self, row: dict[str, Any]) -> str | None:
        """Why a row must not go out (its predecessor never went out), or None."""
        if not row["after_key"]:
            return None
        async with self.db.read() as conn:
            state = (await conn.execute(select(outbox.c.state).where(outbox.c.key == row["after_key"]))).scalar()
        if state == "delivered":
            return None
        return f"not sent: the notice it follows ({row['after_key']}) was {state or 'never queued'}"

    async def _send_mail(self, row: dict[str, Any]) -> None:
        import aiosmtplib

        try:
            await self.mailer.send(row["payload"], row["key"])
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPSenderRefused) as exc:
            raise Permanent(f"SMTP refused: {exc}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise Permanent(f"SMTP {exc.code}: {exc.message}") from exc
            raise

    async def _finish(self, row: dict[str, Any], state: str, error: str | None) -> None:
        now = datetime.now(UTC)
        async with self.db.transaction() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row["id"])
                .values(
                    state=state,
                    delivered_at=now if state == "delivered" else None,
                    locked_until=None,
                    lease_owner=None,
                    last_error=error,
                    attempts=outbox.c.attempts + (1 if state != "cancelled" else 0),
                )
            )
            await self._record(conn, row, state, error, now)
        self.metrics.outbox_done(row["kind"], state)
        log.info("outbox %s %s: %s%s", row["key"], state, row["kind"], f" ({error})" if error else "")

    async def _record(
        self, conn: AsyncConnection, row: dict[str, Any], state: str, error: str | None, now: datetime
    ) -> None:
        """What a delivery means for the incident and its ticket."""
        p = row["payload"]
        if row["kind"] == "desk":
            result = row.get("result")
            if state == "delivered" and result:
                await conn.execute(update(tickets).where(tickets.c.id == p["ticket_id"]).values(**result))
            elif state == "failed" and p.get("op") != "note":
                await self.desk.add_article(
                    conn, row["incident_id"], self.author, f"Desk {p['desk']}: {p['op']} failed: {error}", now
                )
            return
        if row["kind"] == "zabbix_ack":
            if row["incident_id"] is not None:
                text = (
                    f"Zabbix problem {p['event_id']} acknowledged with the ticket number."
                    if state == "delivered"
                    else f"Could not acknowledge Zabbix problem {p['event_id']}: {error}"
                )
                await self.desk.add_article(conn, row["incident_id"], self.author, text, now)
            return
        if row["kind"] != "curator_mail" or row["incident_id"] is None:
            return
        if state == "delivered":
            if p.get("kind") == "affected":
                await conn.execute(
                    update(incidents).where(incidents.c.id == row["incident_id"]).values(curator_notified=True)
                )
            await self.desk.add_article(
                conn,
                row["incident_id"],
                self.author,
                f"E-mail to {p.get('to_name', '')} <{p['to']}>\nSubject: {p['subject']}\n\n{p['body']}",
                now,
                visible_to_customer=True,
            )
        elif state == "failed":
            await self.desk.add_article(
                conn,
                row["incident_id"],
                self.author,
                f"Curator notice to {p['to']} could not be delivered: {error}",
                now,
            )

    async def _retry_later(self, row: dict[str, Any], error: str, count: bool = True) -> None:
        attempts = row["attempts"] + (1 if count else 0)
        now = datetime.now(UTC)
        if attempts >= self.settings.max_attempts and row["kind"] != "desk":
            await self._finish(
                {**row, "attempts": attempts - 1}, "failed", f"gave up after {attempts} attempts: {error}"
            )
            return
        delay = backoff(max(attempts, 1), self.settings) if count else 30.0
        async with self.db.transaction() as conn:
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row["id"])
                .values(
                    attempts=attempts,
                    last_error=error,
                    locked_until=None,
                    lease_owner=None,
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            )
        if count:
            self.metrics.outbox_failure(row["kind"])
        (log.warning if count else log.debug)(
            "outbox %s: delivery failed (attempt %d), next in %.0fs: %s", row["key"], attempts, delay, error
        )


async def depth(db: Database) -> dict[str, Any]:
    """Pending rows and the age of the oldest, for /metrics and the API."""
    async with db.read() as conn:
        row = (
            await conn.execute(select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.state == "pending"))
        ).one()
        failed = (await conn.execute(select(func.count()).where(outbox.c.state == "failed"))).scalar_one()
        by_kind: dict[Any, Any] = dict(
            (
                await conn.execute(
                    select(outbox.c.kind, func.count()).where(outbox.c.state == "pending").group_by(outbox.c.kind)
                )
            ).all()
        )
        breached = (
            await conn.execute(
                select(
                    func.count(incidents.c.reaction_breached_at), func.count(incidents.c.resolution_breached_at)
                ).where(incidents.c.state == "open")
            )
        ).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
    return {
        "pending": row[0],
        "pending_by_kind": {str(k): int(v) for k, v in by_kind.items()},
        "failed": failed,
        "oldest_pending_age_seconds": round(age, 3),
        "reaction_breached_open": breached[0],
        "resolution_breached_open": breached[1],
    }
