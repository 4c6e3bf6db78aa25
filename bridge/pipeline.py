"""The ingest pipeline: classify alerts, then in one transaction store them, move their incidents
through the state machine, write tickets and articles, and queue side effects in the outbox."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from bridge import maintenance
from bridge.batch import GroupCommit
from bridge.config import Maintenance, Settings
from bridge.db import Database, sqlstate
from bridge.desk import BuiltinDesk
from bridge.notices import IncidentFacts, render
from bridge.schema import (
    alert_events,
    alerts,
    const,
    incident_links,
    incidents,
    maintenance_windows,
    outbox,
    redundancy_state,
)
from bridge.statements import Inc, update_by_id, update_pair
from classifier import Classification, Classifier, Customer, Service, UnknownCustomer
from classifier.inventory import norm_host
from classifier.sla import deadlines
from connectors.alert import Alert, AlertStatus
from dedupe import Action, IncidentView, Notice, correlation_key, order_of, transition
from dedupe.correlation import NewProblem, OpenIncident, Placement, in_storm, place
from dedupe.flapping import FlapState, record_change
from dedupe.redundancy import GroupAction, group_transition

log = logging.getLogger("alertbridge.pipeline")

# Set while a request is stored on the live clock (no `now` given): the time of a change is then read again
# once the rows it changes are locked, so a request that waited behind another never records an earlier time
# than the change it waited for (an incident resolved before it was opened, a notice withdrawn too early).
_LIVE_CLOCK: ContextVar[bool] = ContextVar("alertbridge_live_clock", default=False)


def _after_locks(now: datetime) -> datetime:
    return max(now, datetime.now(UTC)) if _LIVE_CLOCK.get() else now


class Rejected(ValueError):
    """The request's alerts cannot be accepted (unknown customer, no customer); nothing was stored."""

    def __init__(self, status: int, error: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, **self.details}


@dataclass(frozen=True, slots=True)
class Prepared:
    alert: Alert
    customer: Customer
    service: Service | None
    verdict: Classification
    key: str


@dataclass
class Outcome:
    identity: str
    action: str
    why: str
    customer: str
    incident_id: int | None = None
    ticket: str | None = None
    kind: str | None = None
    opened: bool = False
    notices: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert": self.identity,
            "action": self.action,
            "why": self.why,
            "customer": self.customer,
            "incident_id": self.incident_id,
            "ticket": self.ticket,
            "kind": self.kind,
        }


@dataclass
class IngestResult:
    event_id: int
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass(slots=True)
class _Job:
    """One request's alerts waiting for the batch that stores them."""

    source: str
    token: str
    body: Any
    prepared: list[Prepared]
    now: datetime | None  # None: the time the batch is stored


REPEAT_WHY = "repeat of a firing alert"


async def close_incident(
    conn: AsyncConnection,
    desk: BuiltinDesk,
    incident_id: int,
    author: str,
    text: str,
    now: datetime,
    **also: Any,
) -> None:
    """Close an incident and its ticket: its key is free again, so the problem firing later opens a new one."""
    await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(state="closed", active_key=None, closed_at=now, updated_at=now, **also)
    )
    await desk.set_state(conn, incident_id, "closed", now)
    await desk.add_article(conn, incident_id, author, text, now)


ZABBIX_ACK_PREFIX = "alertbridge:"


def _open_incident(row: Any) -> OpenIncident:
    return OpenIncident(
        row["id"],
        row["customer"],
        row["source"],
        row["origin"],
        row["kind"],
        row["host"] or "",
        row["service"],
        row["rule"],
    )


def _aware(t: datetime) -> datetime:
    """A time as UTC-aware (SQLite gives back naive ones)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _is_deadlock(exc: BaseException) -> bool:
    """PostgreSQL chose this transaction as a deadlock victim (or a serialization failure): safe to retry."""
    if not isinstance(exc, DBAPIError):
        return False
    return sqlstate(exc) in ("40P01", "40001")


def _deadlock_retries() -> AsyncRetrying:
    """A transaction that lost a race (deadlock victim, serialization failure) is run again, a few times."""
    return AsyncRetrying(
        retry=retry_if_exception(_is_deadlock),
        stop=stop_after_attempt(4),
        wait=wait_random_exponential(multiplier=0.05, max=0.5),
        reraise=True,
    )


def _insert(db: Database, table: Any) -> Any:
    return sqlite_insert(table) if db.is_sqlite else pg_insert(table)


# a plain repeat, for a whole batch at once (executemany): what the one-by-one path writes for it
_REPEAT_ALERT = (
    update(alerts)
    .where(alerts.c.id == bindparam("b_id"))
    .values(
        last_seen=bindparam("b_now"),
        last_event_id=bindparam("b_event"),
        occurrences=alerts.c.occurrences + 1,
        status="firing",
        last_order=bindparam("b_order"),
        title=bindparam("b_title"),
        severity=bindparam("b_severity"),
        member_group=None,
        member=None,
    )
)
_REPEAT_INCIDENT = (
    update(incidents)
    .where(incidents.c.id == bindparam("b_id"))
    .values(occurrences=incidents.c.occurrences + bindparam("b_n"), updated_at=bindparam("b_now"))
)


# built once, run with parameters (bridge.statements)
_EVENTS = insert(alert_events).returning(alert_events.c.id, sort_by_parameter_order=True)
# one row per event, run for a whole batch at once (executemany): one statement whatever the outcomes
_OUTCOME = update(alert_events).where(alert_events.c.id == bindparam("b_id")).values(outcome=bindparam("b_outcome"))
_ACTIVE = select(incidents).where(incidents.c.active_key == bindparam("b_key")).with_for_update()
_INC = "inc_"  # the prefix of the incident's columns read with the alert's row


# the alert's columns `_alert_row` writes; in `_with_active_incident` each is bound as "v_" + its name
_ALERT_VALUES = (
    "customer",
    "source",
    "identity",
    "status",
    "name",
    "title",
    "host",
    "severity",
    "labels",
    "last_order",
    "occurrences",
    "first_seen",
    "last_seen",
    "starts_at",
    "last_event_id",
)


def _with_active_incident() -> Any:
    """PostgreSQL: the alert's upsert (as `Pipeline._upsert_alert`) and the read of its key's active incident
    (`_ACTIVE`) in one statement; the incident's columns come prefixed with `_INC`, all None when there is
    none. Parameters: "v_" + each of `_ALERT_VALUES`, and b_key."""
    ins = pg_insert(alerts).values({c: bindparam("v_" + c, type_=alerts.c[c].type) for c in _ALERT_VALUES})
    upsert = ins.on_conflict_do_update(
        index_elements=["customer", "source", "identity"], set_={"last_event_id": ins.excluded.last_event_id}
    ).returning(*alerts.c)
    a = upsert.cte("a")
    i = _ACTIVE.lateral("i")
    return select(a, *(i.c[c.name].label(_INC + c.name) for c in incidents.c)).select_from(a.outerjoin(i, true()))


# the incident's other firing alerts of its own, and its firing dependents (attached from another incident)
_OTHER_FIRING = (
    select(
        func.count().filter(alerts.c.id != bindparam("b_row"), alerts.c.attached.is_(False)),
        func.count().filter(alerts.c.attached.is_(True)),
    )
    .select_from(alerts)
    .where(alerts.c.incident_id == bindparam("b_incident"), alerts.c.status == "firing")
)
_CANDIDATES = (
    select(incidents)
    .where(
        incidents.c.customer == bindparam("b_customer"),
        incidents.c.state == const("open"),
        or_(
            incidents.c.origin == const("engineer"),
            func.lower(incidents.c.host).in_(bindparam("b_hosts", expanding=True)),
        ),
    )
    .order_by(incidents.c.id)
    .limit(500)
)
# counted up to the threshold only: whether it is a storm, not how big (bounded however many were opened)
_STORM_COUNT = select(func.count()).select_from(
    select(incidents.c.id)
    .where(
        incidents.c.customer == bindparam("b_customer"),
        incidents.c.service == bindparam("b_service"),
        incidents.c.opened_at >= bindparam("b_since"),
        incidents.c.source != "redundancy",
    )
    .limit(bindparam("b_limit"))
    .subquery()
)
# the last incident of a key, read by the INSERT of the next one (which does not see its own new row)
_PREVIOUS_OF_NEW = (
    select(incidents.c.id)
    .where(incidents.c.key == bindparam("b_prev_key"))
    .order_by(incidents.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
_TIMES = select(incidents.c.opened_at, incidents.c.resolved_at).where(incidents.c.id == bindparam("b_id"))
_WITHDRAW = (
    update(outbox)
    .where(
        outbox.c.incident_id == bindparam("b_incident"),
        outbox.c.key.like(bindparam("b_pattern")),
        outbox.c.state == "pending",
        outbox.c.attempts == 0,  # a notice waiting for a retry was already due: it is not withdrawn
        outbox.c.next_attempt_at > bindparam("b_now"),
        or_(outbox.c.locked_until.is_(None), outbox.c.locked_until < bindparam("b_now")),
    )
    .values(state="cancelled", last_error="recovered within the hold-down time")
)


class Pipeline:
    def __init__(self, db: Database, settings: Settings, classifier: Classifier, desk: BuiltinDesk) -> None:
        self.db = db
        self.settings = settings
        self.classifier = classifier
        self.desk = desk
        # the dialect's INSERT ... ON CONFLICT, built once
        upsert = _insert(db, alerts)
        self._upsert_alert = upsert.on_conflict_do_update(
            index_elements=["customer", "source", "identity"], set_={"last_event_id": upsert.excluded.last_event_id}
        ).returning(*alerts.c)
        # PostgreSQL: the upsert also reads (and locks, after the alert's row) the key's open incident
        self._upsert_alert_and_incident = None if db.is_sqlite else _with_active_incident()
        self._insert_incident = (
            _insert(db, incidents)
            .on_conflict_do_nothing(index_elements=["active_key"])
            .returning(incidents.c.id, incidents.c.previous_id)
        )
        # a first incident of its key or one after a closed one: the insert finds the previous incident itself
        self._insert_incident_after = (
            _insert(db, incidents)
            .values(previous_id=_PREVIOUS_OF_NEW)
            .on_conflict_do_nothing(index_elements=["active_key"])
            .returning(incidents.c.id, incidents.c.previous_id)
        )
        self._insert_notice = _insert(db, outbox).on_conflict_do_nothing(index_elements=["key"]).returning(outbox.c.id)
        ingest = settings.ingest
        self.group_commit: GroupCommit[_Job, IngestResult] | None = None
        if ingest.group_commit:
            self.group_commit = GroupCommit(
                self._ingest_batch,
                self._ingest_job,
                max_batch=ingest.max_batch,
                writers=1 if db.is_sqlite else ingest.writers,
            )

    def _own_zabbix_update(self, user: str, message: str) -> bool:
        """An update alertbridge itself made in Zabbix (its acknowledgement), echoed back by the media type."""
        z = self.settings.zabbix
        if message.startswith(ZABBIX_ACK_PREFIX):
            return True
        login = z.user.strip()
        return bool(login) and (user.strip() == login or user.strip().endswith(f"({login})"))

    async def _zabbix_ack(self, conn: AsyncConnection, a: Alert, out: Outcome, now: datetime) -> None:
        """Queue the acknowledgement of a Zabbix problem with its ticket number (once per problem event)."""
        z = self.settings.zabbix
        if not (z.enabled and z.acknowledge) or a.source != "zabbix" or a.status is not AlertStatus.FIRING:
            return
        if not out.ticket or out.action in (Action.IGNORE.value, "maintenance", "hold"):
            return
        link = f"{self.settings.public_url.rstrip('/')}/api/v1/tickets/{out.ticket}" if self.settings.public_url else ""
        kind = "service-affecting incident" if out.kind == "incident" else "silent fault"
        message = f"{ZABBIX_ACK_PREFIX} ticket {out.ticket} ({kind}){' ' + link if link else ''}"
        await conn.execute(
            _insert(self.db, outbox)
            .values(
                key=f"zabbix_ack:{a.identity}",
                kind="zabbix_ack",
                incident_id=out.incident_id,
                payload={"event_id": a.identity, "message": message, "ticket": out.ticket},
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )

    # -- pure part: decide everything that can be decided before touching the database ----------
    def prepare(self, alerts_in: list[Alert], allowed_customer: str | None = None) -> list[Prepared]:
        """Bind and classify; raises Rejected (nothing stored) if any alert has no known customer."""
        out: list[Prepared] = []
        for a in alerts_in:
            try:
                b = self.classifier.bind(a, strict=True)
            except UnknownCustomer as exc:
                raise Rejected(
                    422,
                    "unknown_customer",
                    f"alert {a.identity} ({a.name}) names customer "
                    f"{exc.customer!r}, which is not configured; nothing was stored",
                    customer=exc.customer,
                    alert=a.identity,
                ) from None
            cust = b.customer
            if cust is None and self.settings.unmatched_customer:
                cust = self.settings.customer(self.settings.unmatched_customer)
                b = type(b)(cust, None, f"no customer matched; collected by {self.settings.unmatched_customer}")
            if cust is None:
                raise Rejected(
                    422,
                    "no_customer",
                    f"alert {a.identity} ({a.name}, host {a.host or '-'}) matches no "
                    "configured customer (label/tag 'customer', host, host group); nothing was stored",
                    alert=a.identity,
                )
            if allowed_customer is not None and cust.id != allowed_customer:
                raise Rejected(
                    403,
                    "forbidden_customer",
                    f"this token may only send alerts of customer "
                    f"{allowed_customer!r}, not {cust.id!r}; nothing was stored",
                    alert=a.identity,
                )
            verdict = self.classifier.classify(a, b)
            out.append(Prepared(a, cust, b.service, verdict, correlation_key(cust.id, a)))
        # lock rows in one global order so concurrent bodies never deadlock
        out.sort(key=lambda p: (p.key, p.alert.identity))
        return out

    # -- the transaction ---------------------------------------------------------------------------
    async def ingest(
        self,
        source: str,
        token: str,
        body: Any,
        prepared: list[Prepared],
        now: datetime | None = None,
        release: bool = False,
    ) -> IngestResult:
        """Store and act on prepared alerts in one transaction. `release` re-processes alerts a maintenance
        window held back (each only if still held back, so replicas never process one twice).

        With group commit on, requests that arrive together share a transaction (see bridge.batch)."""
        if self.group_commit is not None and not release:
            return await self.group_commit.submit(_Job(source, token, body, prepared, now))
        _LIVE_CLOCK.set(now is None)
        return await self._ingest_retrying(source, token, body, prepared, now or datetime.now(UTC), release)

    async def _ingest_job(self, job: _Job) -> IngestResult:
        _LIVE_CLOCK.set(job.now is None)
        return await self._ingest_retrying(
            job.source, job.token, job.body, job.prepared, job.now or datetime.now(UTC), False
        )

    async def _ingest_retrying(
        self, source: str, token: str, body: Any, prepared: list[Prepared], now: datetime, release: bool
    ) -> IngestResult:
        async for attempt in _deadlock_retries():
            with attempt:
                return await self._ingest_once(source, token, body, prepared, now, release)
        raise AssertionError("unreachable")

    async def _ingest_once(
        self, source: str, token: str, body: Any, prepared: list[Prepared], now: datetime, release: bool
    ) -> IngestResult:
        async with self.db.transaction() as conn:
            ev = await conn.execute(
                _EVENTS,
                [
                    dict(
                        source=source, received_at=now, token=token, alerts=len(prepared), outcome="accepted", body=body
                    )
                ],
            )
            result = IngestResult(ev.scalar_one())
            groups: dict[str, Prepared] = {}
            windows = await maintenance.active(conn, {p.customer.id for p in prepared}, now)
            for p in prepared:
                held = maintenance.covering(windows, p.customer.id, p.service.id if p.service else None, p.alert.host)
                out = await self._one(conn, p, now, result.event_id, held, release)
                result.outcomes.append(out)
                await self._zabbix_ack(conn, p.alert, out, now)
                if p.verdict.member is not None:
                    groups.setdefault(f"{p.customer.id}/{p.verdict.member.group_key}", p)
            # redundancy groups last, in a fixed order: every row lock above is taken before any group lock
            for _, p in sorted(groups.items()):
                group_outcome = await self._redundancy(conn, p, now)
                if group_outcome is not None:
                    result.outcomes.append(group_outcome)
            actions = sorted({o.action for o in result.outcomes})
            outcome = actions[0] if len(actions) == 1 else "mixed"
            await conn.execute(_OUTCOME, {"b_id": result.event_id, "b_outcome": outcome})
        return result

    async def _ingest_batch(self, jobs: Sequence[_Job]) -> list[IngestResult]:
        """Several requests in one transaction (group commit), retried whole if it lost a race."""
        async for attempt in _deadlock_retries():
            with attempt:
                return await self._ingest_batch_once(jobs, datetime.now(UTC))
        raise AssertionError("unreachable")

    def _may_repeat(self, p: Prepared) -> bool:
        """Could this alert be a plain repeat (firing again on its open incident, nothing else to do)?"""
        a = p.alert
        if a.status is not AlertStatus.FIRING or a.update is not None or p.verdict.member is not None:
            return False
        return not (a.source == "zabbix" and self.settings.zabbix.enabled)

    async def _ingest_batch_once(self, jobs: Sequence[_Job], batch_now: datetime) -> list[IngestResult]:
        nows = [j.now or batch_now for j in jobs]
        async with self.db.transaction() as conn:
            ids = (
                (
                    await conn.execute(
                        _EVENTS,
                        [
                            dict(
                                source=j.source,
                                received_at=now,
                                token=j.token,
                                alerts=len(j.prepared),
                                outcome="accepted",
                                body=j.body,
                            )
                            for j, now in zip(jobs, nows, strict=True)
                        ],
                    )
                )
                .scalars()
                .all()
            )
            results = [IngestResult(i) for i in ids]
            customers = {p.customer.id for j in jobs for p in j.prepared}
            windows: dict[datetime, list[dict[str, Any]]] = {}
            for now in sorted(set(nows)):
                windows[now] = await maintenance.active(conn, customers, now)
            held: dict[tuple[int, int], dict[str, Any] | None] = {}
            for ji, j in enumerate(jobs):
                for pi, p in enumerate(j.prepared):
                    svc = p.service.id if p.service else None
                    held[ji, pi] = maintenance.covering(windows[nows[ji]], p.customer.id, svc, p.alert.host)
            done = await self._repeats(conn, jobs, nows, ids, held)
            for ji, j in enumerate(jobs):
                now, res = nows[ji], results[ji]
                _LIVE_CLOCK.set(j.now is None)
                groups: dict[str, Prepared] = {}
                for pi, p in enumerate(j.prepared):
                    out = done.get((ji, pi))
                    if out is None:
                        out = await self._one(conn, p, now, res.event_id, held[ji, pi], False)
                        await self._zabbix_ack(conn, p.alert, out, now)
                    res.outcomes.append(out)
                    if p.verdict.member is not None:
                        groups.setdefault(f"{p.customer.id}/{p.verdict.member.group_key}", p)
                for _, p in sorted(groups.items()):
                    group_outcome = await self._redundancy(conn, p, now)
                    if group_outcome is not None:
                        res.outcomes.append(group_outcome)
            outcomes = []
            for res in results:
                actions = sorted({o.action for o in res.outcomes})
                outcomes.append({"b_id": res.event_id, "b_outcome": actions[0] if len(actions) == 1 else "mixed"})
            await conn.execute(_OUTCOME, outcomes)
        return results

    async def _repeats(
        self,
        conn: AsyncConnection,
        jobs: Sequence[_Job],
        nows: list[datetime],
        event_ids: Sequence[int],
        held: dict[tuple[int, int], dict[str, Any] | None],
    ) -> dict[tuple[int, int], Outcome]:
        """Store, in a few statements for the whole batch, the alerts that merely fire again on their open
        incident (most of a storm). What this decides is exactly what the one-by-one path decides for them
        (action "repeat"); anything else is left to that path."""
        seen = Counter((p.customer.id, p.alert.source, p.alert.identity) for j in jobs for p in j.prepared)
        maybe = {
            (p.customer.id, p.alert.source, p.alert.identity): (ji, pi)
            for ji, j in enumerate(jobs)
            for pi, p in enumerate(j.prepared)
            if held[ji, pi] is None
            and seen[p.customer.id, p.alert.source, p.alert.identity] == 1
            and self._may_repeat(p)
        }
        if not maybe:
            return {}
        rows = (
            (
                await conn.execute(
                    select(
                        alerts.c.id,
                        alerts.c.customer,
                        alerts.c.source,
                        alerts.c.identity,
                        alerts.c.status,
                        alerts.c.last_order,
                        alerts.c.suppressed,
                        alerts.c.attached,
                        alerts.c.incident_id,
                    )
                    .where(tuple_(alerts.c.customer, alerts.c.source, alerts.c.identity).in_(list(maybe)))
                    .order_by(alerts.c.id)
                    .with_for_update()
                )
            )
            .mappings()
            .all()
        )
        firing: dict[tuple[int, int], tuple[int, int, float]] = {}
        for r in rows:
            ji, pi = maybe[r["customer"], r["source"], r["identity"]]
            order = order_of(jobs[ji].prepared[pi].alert, nows[ji])
            if (
                r["status"] == "firing"
                and not r["suppressed"]
                and not r["attached"]
                and r["incident_id"] is not None
                and order >= r["last_order"]
            ):
                firing[ji, pi] = (r["id"], r["incident_id"], order)
        if not firing:
            return {}
        open_incidents = {
            r["id"]: r
            for r in (
                await conn.execute(
                    select(
                        incidents.c.id, incidents.c.active_key, incidents.c.state, incidents.c.ticket, incidents.c.kind
                    )
                    .where(incidents.c.id.in_(sorted({inc for _, inc, _ in firing.values()})))
                    .order_by(incidents.c.id)
                    .with_for_update()
                )
            )
            .mappings()
            .all()
        }
        done: dict[tuple[int, int], Outcome] = {}
        alert_rows: list[dict[str, Any]] = []
        counts: Counter[int] = Counter()
        touched: dict[int, datetime] = {}
        for (ji, pi), (alert_id, incident_id, order) in firing.items():
            p, now = jobs[ji].prepared[pi], nows[ji]
            inc = open_incidents.get(incident_id)
            # the incident the one-by-one path would find: the open one of this alert's key
            if inc is None or inc["state"] != "open" or inc["active_key"] != p.key:
                continue
            a = p.alert
            alert_rows.append(
                dict(
                    b_id=alert_id,
                    b_now=now,
                    b_event=event_ids[ji],
                    b_order=order,
                    b_title=a.title,
                    b_severity=a.severity[:64],
                )
            )
            counts[incident_id] += 1
            touched[incident_id] = max(now, touched.get(incident_id, now))
            out = Outcome(a.identity, Action.REPEAT.value, REPEAT_WHY, p.customer.id, kind=p.verdict.kind)
            out.incident_id, out.ticket, out.kind = incident_id, inc["ticket"], inc["kind"]
            done[ji, pi] = out
        if alert_rows:
            await conn.execute(_REPEAT_ALERT, alert_rows)
            await conn.execute(
                _REPEAT_INCIDENT,
                [dict(b_id=i, b_n=n, b_now=touched[i]) for i, n in sorted(counts.items())],
            )
        return done

    async def _one(
        self,
        conn: AsyncConnection,
        p: Prepared,
        now: datetime,
        event_id: int,
        held: dict[str, Any] | None = None,
        release: bool = False,
    ) -> Outcome:
        a = p.alert
        if a.update is not None and a.source == "zabbix" and self._own_zabbix_update(a.update.user, a.update.message):
            return Outcome(
                a.identity, Action.IGNORE.value, "alertbridge's own update in Zabbix, echoed back", p.customer.id
            )
        order = order_of(a, now)
        # a release must not mark a row another replica already took up: it reads first, writes after checking
        row, is_new, active = await self._alert_row(conn, p, now, order, None if release else event_id)
        now = _after_locks(now)
        if release and not row["suppressed"]:
            return Outcome(a.identity, Action.IGNORE.value, "already released from maintenance", p.customer.id)
        if held is not None:
            # recorded, nothing opened or sent; its state is taken up when the window ends
            await update_by_id(
                conn, alerts, row["id"], last_seen=now, last_event_id=event_id, suppressed=True, occurrences=Inc()
            )
            why = f"maintenance window {held['id']} until {held['ends_at']:%Y-%m-%d %H:%M} UTC"
            return Outcome(a.identity, "maintenance", why, p.customer.id, kind=p.verdict.kind)
        alert_was = None if is_new else AlertStatus(row["status"]) if row["status"] in ("firing", "resolved") else None
        stale = (not is_new) and a.status is not AlertStatus.UPDATE and order < row["last_order"]
        if row["suppressed"]:
            await update_by_id(conn, alerts, row["id"], suppressed=False, last_event_id=event_id)
        elif release:
            await update_by_id(conn, alerts, row["id"], last_event_id=event_id)
        if row["attached"] and row["incident_id"] is not None and not stale:
            attached = await self._attached(conn, p, row, alert_was, now, order)
            if attached is not None:
                return attached
        joined = row["incident_id"] if not row["attached"] else None
        return await self._settle(conn, p, alert_was, stale, now, row["id"], is_new, order, joined, active)

    async def _attached(
        self,
        conn: AsyncConnection,
        p: Prepared,
        row: dict[str, Any],
        alert_was: AlertStatus | None,
        now: datetime,
        order: float,
    ) -> Outcome | None:
        """An alert that joined its parent host's incident: repeats count there, a recovery leaves it.
        None when the parent's incident is no longer open (the alert is then handled on its own)."""
        a = p.alert
        parent = (
            (await conn.execute(select(incidents).where(incidents.c.id == row["incident_id"]).with_for_update()))
            .mappings()
            .first()
        )
        if parent is None or parent["state"] != "open":
            await update_by_id(conn, alerts, row["id"], attached=False, incident_id=None)
            return None
        out = Outcome(
            a.identity,
            "repeat",
            f"attached to incident {parent['id']} of the host it depends on",
            p.customer.id,
            incident_id=parent["id"],
            ticket=parent["ticket"],
            kind=parent["kind"],
        )
        values: dict[str, Any] = {"last_seen": now, "last_order": order}
        if a.status is AlertStatus.RESOLVED and alert_was is AlertStatus.FIRING:
            out.action, out.why = "detach", f"recovered while attached to incident {parent['id']}"
            values.update(status="resolved", ends_at=a.ends_at or now, attached=False)
            await self.desk.add_article(
                conn,
                parent["id"],
                self.settings.system_requester,
                f"Dependent alert recovered: {a.title} ({a.host or a.identity}).",
                now,
            )
        elif a.status is AlertStatus.FIRING:
            values.update(status="firing", occurrences=Inc())
        await update_by_id(conn, alerts, row["id"], **values)
        return out

    async def _candidates(self, conn: AsyncConnection, p: Prepared) -> list[OpenIncident]:
        """Open incidents of this customer a new problem could join: on its host or a host it depends on,
        or engineers' findings."""
        host = norm_host(p.alert.host) if p.alert.host else ""
        hosts = {host} | {norm_host(x) for d in p.customer.dependencies for x in d.parents_of(host)} if host else set()
        rows = (
            (await conn.execute(_CANDIDATES, {"b_customer": p.customer.id, "b_hosts": sorted(hosts)})).mappings().all()
        )
        return [_open_incident(r) for r in rows]

    def _problem(self, p: Prepared) -> NewProblem:
        a, v = p.alert, p.verdict
        return NewProblem(p.customer.id, a.source, a.host or "", p.service.id if p.service else None, v.kind, v.rule)

    async def _hang(
        self, conn: AsyncConnection, row_id: int, incident_id: int, attached: bool, order: float, now: datetime
    ) -> None:
        """A firing alert joins another incident (same problem, storm) or attaches to its parent's."""
        await update_by_id(
            conn,
            alerts,
            row_id,
            incident_id=incident_id,
            attached=attached,
            status="firing",
            last_order=order,
            last_seen=now,
            occurrences=Inc(),
        )

    async def _storm(self, conn: AsyncConnection, p: Prepared, now: datetime) -> OpenIncident | None:
        """The first open incident of this service when it is in a storm: `storm_threshold` incidents or
        more opened for it within `storm_window`."""
        life = self.settings.lifecycle
        if p.service is None or life.storm_threshold <= 0:
            return None
        since = now - timedelta(seconds=life.storm_window)
        scope = (
            incidents.c.customer == p.customer.id,
            incidents.c.service == p.service.id,
            incidents.c.opened_at >= since,
            incidents.c.source != "redundancy",
        )
        opened = (
            await conn.execute(
                _STORM_COUNT,
                {
                    "b_customer": p.customer.id,
                    "b_service": p.service.id,
                    "b_since": since,
                    "b_limit": life.storm_threshold,
                },
            )
        ).scalar_one()
        if not in_storm(opened, life.storm_threshold):
            return None
        first = await self._first_open(conn, *scope)
        return _open_incident(first) if first else None

    async def _join(
        self,
        conn: AsyncConnection,
        p: Prepared,
        inc: dict[str, Any],
        row_id: int,
        order: float,
        now: datetime,
        storm: bool = False,
    ) -> Outcome:
        """The alert joins an incident of another source about the same problem; a service-affecting
        alert raises a silent fault it joins to an incident (the curator hears of it then)."""
        a, v = p.alert, p.verdict
        await self._hang(conn, row_id, inc["id"], False, order, now)
        values: dict[str, Any] = {"occurrences": Inc(), "updated_at": now}
        what = (
            f"storm on {inc['service']}: joins the first incident of the storm"
            if storm
            else "confirms the engineer's finding"
            if inc["origin"] == "engineer"
            else "sees the same problem"
        )
        text = f"{a.source.capitalize()} {what}: {a.title} ({a.host or '-'})."
        escalate = v.kind == "incident" and inc["kind"] == "fault"
        if escalate:
            values.update(kind="incident", priority=v.priority, impact=v.impact, urgency=v.urgency)
            text += f" It is service-affecting ({v.rule}): the fault becomes an incident."
            await self.desk.set_queue(conn, inc["id"], self.desk.queue_for("incident"), now)
        await update_by_id(conn, incidents, inc["id"], **values)
        await self.desk.add_article(conn, inc["id"], self.settings.system_requester, text, now)
        out = Outcome(
            a.identity,
            "attach",
            what,
            p.customer.id,
            incident_id=inc["id"],
            ticket=inc["ticket"],
            kind="incident" if escalate else inc["kind"],
        )
        if escalate:
            out.notices = await self._queue_notices(
                conn,
                p.customer,
                {**inc, "kind": "incident", "priority": v.priority},
                Notice.AFFECTED,
                Action.OPEN,
                inc["episode"],
                now,
            )
        return out

    async def _place(self, conn: AsyncConnection, p: Prepared, now: datetime) -> tuple[Placement, OpenIncident] | None:
        """Where a new problem goes (`dedupe.correlation.place`); None: its own incident."""
        problem = self._problem(p)
        cands = await self._candidates(conn, p)
        parents = [x for d in p.customer.dependencies for x in d.parents_of(p.alert.host)] if p.alert.host else []
        where, target = place(problem, cands, parents)
        if target is None:
            storm = await self._storm(conn, p, now)
            where, target = place(problem, cands, parents, storm)
        return (where, target) if target is not None else None

    async def _attach_to_parent(
        self, conn: AsyncConnection, p: Prepared, parent: dict[str, Any], row_id: int, order: float, now: datetime
    ) -> Outcome:
        """Its host depends on one that is down: the alert attaches to that incident instead of opening its own."""
        a = p.alert
        await self._hang(conn, row_id, parent["id"], True, order, now)
        await update_by_id(conn, incidents, parent["id"], occurrences=Inc(), updated_at=now)
        await self.desk.add_article(
            conn,
            parent["id"],
            self.settings.system_requester,
            f"Dependent alert attached: {a.title} ({a.host}); {a.host} depends on {parent['host']}, which is down.",
            now,
        )
        return Outcome(
            a.identity,
            "attach",
            f"{a.host} depends on {parent['host']}, which is down",
            p.customer.id,
            incident_id=parent["id"],
            ticket=parent["ticket"],
            kind=parent["kind"],
        )

    async def _first_open(self, conn: AsyncConnection, *conds: Any) -> dict[str, Any] | None:
        """The oldest open incident matching `conds`, locked for this transaction."""
        row = (
            (
                await conn.execute(
                    select(incidents)
                    .where(*conds, incidents.c.state == "open")
                    .order_by(incidents.c.id)
                    .limit(1)
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def sync_maintenance(self, windows: list[Maintenance], now: datetime | None = None) -> int:
        """Store the configured maintenance windows (once each, whichever replica starts first)."""
        now = now or datetime.now(UTC)
        added = 0
        async with self.db.transaction() as conn:
            for m in windows:
                res = await conn.execute(
                    _insert(self.db, maintenance_windows)
                    .values(
                        key=maintenance.config_key(m),
                        customer=m.customer,
                        service=m.service,
                        host=m.host,
                        starts_at=m.starts,
                        ends_at=m.ends,
                        reason=m.reason,
                        created_by="config",
                        created_at=now,
                    )
                    .on_conflict_do_nothing(index_elements=["key"])
                    .returning(maintenance_windows.c.id)
                )
                added += len(res.scalars().all())
        return added

    async def _settle(
        self,
        conn: AsyncConnection,
        p: Prepared,
        alert_was: AlertStatus | None,
        stale: bool,
        now: datetime,
        row_id: int | None,
        is_new: bool = False,
        order: float = 0.0,
        joined: int | None = None,
        active: dict[str, Any] | None = None,
    ) -> Outcome:
        """Move the incident of `p.key` (or the one the alert joined) through the state machine for what
        arrived, and persist it. `active`: the key's open incident, already read and locked (None: read it
        here; an incident another transaction opened after the caller's statement began is seen only so)."""
        a, v = p.alert, p.verdict
        for attempt in range(3):
            inc = active if attempt == 0 and active is not None else await self._active_incident(conn, p.key)
            if inc is None and joined is not None:  # it joined another source's incident for the same problem
                got = (
                    (
                        await conn.execute(
                            select(incidents)
                            .where(incidents.c.id == joined, incidents.c.active_key.is_not(None))
                            .with_for_update()
                        )
                    )
                    .mappings()
                    .first()
                )
                inc = dict(got) if got else None
            now = _after_locks(now)
            view = None
            if inc is not None:
                other = 0  # what else fires matters only to a recovery or a close at the source
                if a.status is not AlertStatus.FIRING:
                    # ids are positive: -1 stands for "no row of its own" (every firing alert counts)
                    other, inc["dependents_firing"] = (
                        await conn.execute(
                            _OTHER_FIRING, {"b_incident": inc["id"], "b_row": -1 if row_id is None else row_id}
                        )
                    ).one()
                view = IncidentView(
                    state=inc["state"],
                    kind=inc["kind"],
                    resolved_at=inc["resolved_at"],
                    other_firing=other,
                    affected_notice_sent=inc["affected_notice"],
                )
            t = transition(
                view,
                alert_was,
                a.status,
                kind=v.kind,
                closes=bool(a.update and a.update.closes),
                stale=stale,
                now=now,
                reopen_window=self.settings.lifecycle.reopen_window,
            )
            out = Outcome(a.identity, t.action.value, t.why, p.customer.id, kind=v.kind)
            if t.action is Action.OPEN and row_id is not None:
                placed = await self._place(conn, p, now)
                if placed is not None:
                    where, target = placed
                    locked = await self._first_open(conn, incidents.c.id == target.id)
                    if locked is not None:
                        if where is Placement.PARENT:
                            return await self._attach_to_parent(conn, p, locked, row_id, order, now)
                        return await self._join(conn, p, locked, row_id, order, now, storm=where is Placement.STORM)
            if t.action in (Action.OPEN, Action.SUPERSEDE):
                if t.action is Action.SUPERSEDE and inc is not None:
                    await self._close(conn, inc, now, "superseded by a relapse")
                new = await self._open(conn, p, now, previous_id=inc["id"] if inc else None)
                if new is None:  # another transaction opened it first: decide again against it
                    continue
                inc = new
                out.opened = True
            if inc is None:  # IGNORE without an incident
                if row_id is not None and (not is_new or a.status is not AlertStatus.UPDATE):
                    touched = self._touch_values(p, t.alert_state_changed, order, None, now, stale)
                    await update_by_id(conn, alerts, row_id, **touched)
                return out
            out.incident_id, out.ticket, out.kind = inc["id"], inc["ticket"], inc["kind"]
            touch = None
            if row_id is not None:  # the alert's row is written with the incident's, last
                touch = (row_id, self._touch_values(p, t.alert_state_changed, order, inc["id"], now, stale, t.counts))
            await self._apply(conn, p, inc, t.action, t.why, t.notice, now, out, touch)
            return out
        raise RuntimeError(f"could not settle the incident for {p.key} after concurrent changes")

    async def _alert_row(
        self,
        conn: AsyncConnection,
        p: Prepared,
        now: datetime,
        order: float,
        event_id: int | None = None,
    ) -> tuple[dict[str, Any], bool, dict[str, Any] | None]:
        """The alert's row, created if new, locked, whether it is new, and (PostgreSQL, with `event_id`) its key's
        open incident, read and locked in the same statement (None: none, or not read here). With `event_id`, the
        row is also marked as last carried by that event (one statement: an upsert that returns the row)."""
        a = p.alert
        values = dict(
            customer=p.customer.id,
            source=a.source,
            identity=a.identity,
            status="new",
            name=a.name[:512],
            title=a.title,
            host=a.host[:255],
            severity=a.severity[:64],
            labels=a.labels,
            last_order=order,
            occurrences=0,
            first_seen=now,
            last_seen=now,
            starts_at=a.starts_at,
            last_event_id=event_id,
        )
        if event_id is not None:
            if self._upsert_alert_and_incident is not None:
                params = {"v_" + c: values[c] for c in _ALERT_VALUES} | {"b_key": p.key}
                if len(params) != len(values) + 1:  # a column written above but not bound in the statement
                    raise RuntimeError(f"_ALERT_VALUES is not the columns written: {sorted(values)}")
                both = dict((await conn.execute(self._upsert_alert_and_incident, params)).mappings().one())
                row = {k: v for k, v in both.items() if not k.startswith(_INC)}
                # what `_settle` would read first, locked as it would lock it
                inc = {c.name: both[_INC + c.name] for c in incidents.c} if both[_INC + "id"] is not None else None
                return row, row["occurrences"] == 0 and row["status"] == "new", inc
            got = (await conn.execute(self._upsert_alert, values)).mappings().one()
            # a row nothing has counted yet is new (a source update for an unknown alert leaves one so,
            # and is handled the same way again)
            return dict(got), got["occurrences"] == 0 and got["status"] == "new", None
        ins = _insert(self.db, alerts).values(**values)
        inserted = (
            await conn.execute(
                ins.on_conflict_do_nothing(index_elements=["customer", "source", "identity"]).returning(alerts.c.id)
            )
        ).scalar()
        q = (
            select(alerts)
            .where(alerts.c.customer == p.customer.id, alerts.c.source == a.source, alerts.c.identity == a.identity)
            .with_for_update()
        )
        locked = (await conn.execute(q)).mappings().one()
        return dict(locked), inserted is not None, None

    async def _active_incident(self, conn: AsyncConnection, key: str) -> dict[str, Any] | None:
        row = (await conn.execute(_ACTIVE, {"b_key": key})).mappings().first()
        return dict(row) if row else None

    @staticmethod
    def _touch_values(
        p: Prepared,
        changed: bool,
        order: float,
        incident_id: int | None,
        now: datetime,
        stale: bool,
        counts: bool = False,
    ) -> dict[str, Any]:
        """What an alert's row gets once its incident is settled."""
        a, m = p.alert, p.verdict.member
        values: dict[str, Any] = {"last_seen": now}
        if a.status is not AlertStatus.UPDATE:
            values["member_group"] = m.group_key if m else None
            values["member"] = m.member if m else None
        if counts:
            values["occurrences"] = Inc()
        if incident_id is not None:
            values["incident_id"] = incident_id
        if not stale and a.status is not AlertStatus.UPDATE:
            values["status"] = a.status.value
            values["last_order"] = order
            values["title"] = a.title
            values["severity"] = a.severity[:64]
            if a.status is AlertStatus.RESOLVED:
                values["ends_at"] = a.ends_at or now
            elif changed:
                values["ends_at"] = None
                if a.starts_at:
                    values["starts_at"] = a.starts_at
        return values

    async def _open(
        self, conn: AsyncConnection, p: Prepared, now: datetime, previous_id: int | None
    ) -> dict[str, Any] | None:
        a, v = p.alert, p.verdict
        engineer = a.extra.get("engineer") if a.source == "engineer" else None
        values = dict(
            key=p.key,
            active_key=p.key,
            kind=v.kind,
            customer=p.customer.id,
            service=p.service.id if p.service else None,
            host=a.host[:255],
            title=a.title,
            description=a.description,
            state="open",
            priority=v.priority,
            impact=v.impact,
            urgency=v.urgency,
            rule=v.rule,
            reason=v.reason,
            binding=v.binding,
            origin="engineer" if engineer else "monitoring",
            requester=str(engineer) if engineer else self.settings.system_requester,
            source=a.source,
            occurrences=1,  # this alert (what the one-by-one path used to add right after)
            reopened=0,
            episode=1,
            affected_notice=False,
            curator_notified=False,
            opened_at=now,
            updated_at=now,
            trace=list(v.trace),
        )
        values["reaction_due"], values["resolution_due"] = deadlines(now, v.priority, p.customer.contract)
        if previous_id is None:  # the last incident of this key, closed by a person or by time
            got = (await conn.execute(self._insert_incident_after, {**values, "b_prev_key": p.key})).first()
        else:
            got = (await conn.execute(self._insert_incident, {**values, "previous_id": previous_id})).first()
        if got is None:
            return None
        new_id, previous_id = got
        values["previous_id"] = previous_id
        inc = {**values, "id": new_id, "ticket": None, "resolved_at": None, "fresh": True}
        lines = [
            f"{'Finding logged by ' + str(engineer) if engineer else 'Opened by monitoring'} ({a.source}): {a.title}"
        ]
        if a.description:
            lines.append(a.description)
        lines.append(
            f"Customer: {p.customer.name}; service: {p.service.name if p.service else '-'}; host: {a.host or '-'}"
        )
        lines.append(
            f"Classified as {'service-affecting incident' if v.kind == 'incident' else 'silent fault'} "
            f"by rule {v.rule}: {v.reason}. Priority {v.priority} (impact {v.impact}, urgency {v.urgency})."
        )
        if previous_id:
            lines.append(f"Follows incident {previous_id}, which was closed.")
        author = str(engineer) if engineer else self.settings.system_requester
        # the incident's ticket number is written by _apply, with the rest it changes on the incident
        inc["ticket"] = await self.desk.open_ticket(
            conn, inc, now, article=(author, "\n".join(lines)), store_on_incident=False
        )
        if v.rule == "redundancy-lost" and a.host:
            # the alert itself says the last member failed: link the member faults open on the same host
            faults = await conn.execute(
                select(incidents.c.id).where(
                    incidents.c.customer == p.customer.id,
                    incidents.c.host == a.host[:255],
                    incidents.c.kind == "fault",
                    incidents.c.state == "open",
                    incidents.c.id != new_id,
                )
            )
            await self._link(conn, new_id, set(faults.scalars().all()), now)
        return inc

    async def _close(self, conn: AsyncConnection, inc: dict[str, Any], now: datetime, why: str) -> None:
        await close_incident(conn, self.desk, inc["id"], self.settings.system_requester, f"Closed: {why}.", now)

    async def _apply(
        self,
        conn: AsyncConnection,
        p: Prepared,
        inc: dict[str, Any],
        action: Action,
        why: str,
        notice: Notice | None,
        now: datetime,
        out: Outcome,
        touch: tuple[int, dict[str, Any]] | None = None,
    ) -> None:
        """Persist `action` on the incident: its ticket, notices and one update of its row. `touch`: the alert's
        row id and the values `_touch_values` made for it, written here (with the incident's update when it can
        go in the same statement)."""
        a = p.alert
        author = self.settings.system_requester
        values: dict[str, Any] = {"updated_at": now}
        life = self.settings.lifecycle
        settling = inc.get("settle_at") is not None
        if action in (Action.RESOLVE, Action.REOPEN) or (action is Action.ATTACH and settling):
            flap = record_change(
                FlapState(inc.get("flap_changes") or 0, inc.get("flap_window_start"), bool(inc.get("flapping"))),
                now,
                life.flap_window,
                life.flap_changes,
            )
            values.update(flap_changes=flap.changes, flap_window_start=flap.window_start, flapping=flap.flapping)
            if flap.flapping and not inc.get("flapping"):
                await self.desk.add_article(
                    conn,
                    inc["id"],
                    author,
                    f"Flapping: {flap.changes} state changes since {flap.window_start:%H:%M} UTC. The incident stays "
                    f"open until it has been quiet for {int(life.flap_settle // 60)} min; the curator is not told of "
                    "each change.",
                    now,
                )
            if action is Action.RESOLVE and flap.flapping and a.update is None:
                # recovered, but it flaps: resolve only once it stays quiet
                values["settle_at"] = now + timedelta(seconds=life.flap_settle)
                await self._write(conn, inc["id"], values, touch)
                out.action, out.why = "hold", f"flapping: resolves if quiet until {values['settle_at']:%H:%M} UTC"
                return
        if action is Action.ATTACH and settling:
            values["settle_at"] = None  # fires again before settling: stays open, quietly
            await self._write(conn, inc["id"], {**values, "occurrences": Inc()}, touch)
            return
        if action in (Action.OPEN, Action.SUPERSEDE, Action.REPEAT, Action.ATTACH, Action.REOPEN):
            values["occurrences"] = Inc()
        if action is Action.ATTACH:
            await self.desk.add_article(
                conn, inc["id"], author, f"Alert firing again: {a.title} ({a.source} {a.identity}).", now
            )
        elif action is Action.DETACH:
            await self.desk.add_article(
                conn, inc["id"], author, f"Alert resolved: {a.title} ({a.identity}); {why}.", now
            )
        elif action is Action.RESOLVE:
            values.update(state="resolved", resolved_at=now, settle_at=None)
            # dependents still down get their own incidents (taken up like alerts after a maintenance window);
            # none to release when the count read with the incident locked found none
            if inc.get("dependents_firing", 1):
                await conn.execute(
                    update(alerts)
                    .where(alerts.c.incident_id == inc["id"], alerts.c.attached.is_(True), alerts.c.status == "firing")
                    .values(attached=False, incident_id=None, suppressed=True)
                )
            text = (
                f"Closed at the source by {a.update.user or 'a user'}: {a.update.message}"
                if a.update
                else f"Recovered: {a.title}."
            )
            await self.desk.set_state(conn, inc["id"], "resolved", now, article=(author, f"{text} Incident resolved."))
        elif action is Action.REOPEN:
            values.update(state="open", resolved_at=None, reopened=Inc(), episode=Inc(), affected_notice=False)
            await self.desk.set_state(
                conn,
                inc["id"],
                "in_progress" if inc.get("acknowledged_at") else "new",
                now,
                article=(author, f"Reopened: {a.title} fires again ({why})."),
            )
        elif action is Action.NOTE and a.update is not None:
            u = a.update
            # a person acknowledged or commented in Zabbix (after alertbridge's own acknowledgement Zabbix
            # records a person's acknowledgement as a comment): an engineer took it, the reaction is met
            if any(w in u.action.lower() for w in ("acknowledg", "comment")):
                values["acknowledged_at"] = func.coalesce(incidents.c.acknowledged_at, now)
                values["acknowledged_by"] = func.coalesce(incidents.c.acknowledged_by, (u.user or "unknown user")[:200])
                await self.desk.take(conn, inc["id"], now)
            await self.desk.add_article(
                conn,
                inc["id"],
                author,
                f"{a.source.capitalize()} update by "
                f"{u.user or 'unknown user'} ({u.action or 'update'}): {u.message or '-'}",
                now,
            )
        if action in (Action.OPEN, Action.SUPERSEDE) and inc.get("fresh"):
            # a new one was written whole and already counted: only its ticket number is still to be stored
            values = {"ticket": inc["ticket"]}
        if notice is not None and inc["kind"] == "incident":
            episode = inc.get("episode", 1) + (1 if action is Action.REOPEN else 0)
            if action in (Action.OPEN, Action.SUPERSEDE):
                episode = 1
            times = None
            if "opened_at" in inc and "resolved_at" in inc:  # as the incident stands once `values` is written
                times = (inc["opened_at"], values["resolved_at"] if "resolved_at" in values else inc["resolved_at"])
            out.notices = await self._queue_notices(
                conn, p.customer, inc, notice, action, episode, now, times=times, pending=values
            )
        # one update of the incident for everything this alert changed on it, with the alert's own if given
        await self._write(conn, inc["id"], values, touch)

    @staticmethod
    async def _write(
        conn: AsyncConnection, incident_id: int, values: dict[str, Any], touch: tuple[int, dict[str, Any]] | None
    ) -> None:
        if touch is None:
            await update_by_id(conn, incidents, incident_id, **values)
        else:
            await update_pair(conn, (incidents, incident_id, values), (alerts, touch[0], touch[1]))

    async def _rate_limit(self, conn: AsyncConnection, incident_id: int, now: datetime) -> float:
        """Seconds to wait so the curator hears of one incident at most once per `min_notice_interval`."""
        last = (
            await conn.execute(
                select(func.max(outbox.c.next_attempt_at)).where(
                    outbox.c.incident_id == incident_id,
                    outbox.c.key.like(f"notice:{incident_id}:%:affected:%"),
                    outbox.c.state.in_(("pending", "delivered")),
                )
            )
        ).scalar()
        if last is None:
            return 0.0
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return max(0.0, (last - now).total_seconds() + self.settings.lifecycle.min_notice_interval)

    def _hold_down(self, service: Service | None) -> float:
        """How long an outage must last before the curator hears of it (service, else the default)."""
        if service is not None and service.notify_after is not None:
            return service.notify_after
        return self.settings.lifecycle.notify_after

    async def _withdraw_affected(self, conn: AsyncConnection, incident_id: int, episode: int, now: datetime) -> bool:
        """Cancel this episode's "affected" notices that are still waiting out the hold-down and not being
        delivered; True if any was withdrawn (then the curator never heard of the outage)."""
        res = await conn.execute(
            _WITHDRAW,
            {"b_incident": incident_id, "b_pattern": f"notice:{incident_id}:{episode}:affected:%", "b_now": now},
        )
        return bool(res.rowcount)

    async def _queue_notices(
        self,
        conn: AsyncConnection,
        customer: Customer,
        inc: dict[str, Any],
        notice: Notice,
        action: Action,
        episode: int,
        now: datetime,
        times: tuple[datetime, datetime | None] | None = None,
        pending: dict[str, Any] | None = None,
    ) -> int:
        """Queue the curators' notices of `notice` for the incident; returns how many were queued. `times`
        (opened, resolved) saves reading them; with `pending`, the incident's `affected_notice` flag is put
        there for the caller's own update of the incident instead of being written here."""

        async def flag(value: bool) -> None:
            if pending is not None:
                pending["affected_notice"] = value
            else:
                await update_by_id(conn, incidents, inc["id"], affected_notice=value)

        curators = customer.curators_of(inc["service"])
        if not curators:
            await self.desk.add_article(
                conn,
                inc["id"],
                self.settings.system_requester,
                f"No curator is configured for {customer.id}/{inc['service'] or '-'}: nobody at the customer was told.",
                now,
            )
            return 0
        service = customer.service(inc["service"]) if inc["service"] else None
        # an incident opened in this transaction carries its times; another is read as it stands now
        if times is None:
            times = (
                (inc["opened_at"], None)
                if inc.get("fresh")
                else tuple((await conn.execute(_TIMES, {"b_id": inc["id"]})).one())
            )
        opened, resolved = times
        fresh = (_aware(opened), None if resolved is None else _aware(resolved))
        facts = IncidentFacts(
            customer_name=customer.name,
            service_name=service.name if service else None,
            title=inc["title"],
            host=inc["host"],
            priority=inc["priority"],
            ticket=inc["ticket"] or "-",
            opened_at=fresh[0] if episode == 1 else now,
            resolved_at=fresh[1],
        )
        told_before = bool(inc.get("curator_notified"))
        kind = (
            "restored"
            if notice is Notice.RESTORED
            else ("affected_again" if action is Action.REOPEN and told_before else "affected")
        )
        hold = self._hold_down(service)
        if notice is Notice.AFFECTED and action is Action.REOPEN:
            hold = max(hold, await self._rate_limit(conn, inc["id"], now))
        if notice is Notice.RESTORED and await self._withdraw_affected(conn, inc["id"], episode, now):
            await flag(False)
            await self.desk.add_article(
                conn,
                inc["id"],
                self.settings.system_requester,
                "Recovered within the hold-down time: the curator was not told, so no restored notice either.",
                now,
            )
            return 0
        queued = 0
        for c in curators:
            subject, body = render(kind, c, facts, self.settings.msp_name)
            base = f"notice:{inc['id']}:{episode}"
            key = f"{base}:{notice.value}:{c.email.lower()}"
            after = f"{base}:affected:{c.email.lower()}" if notice is Notice.RESTORED else None
            payload = {
                "to": c.email,
                "to_name": c.name,
                "subject": subject,
                "body": body,
                "kind": notice.value,
                "language": c.language,
                "incident_id": inc["id"],
                "ticket": inc["ticket"],
                "thread": f"{base}:affected:{c.email.lower()}",
            }
            row = dict(
                key=key,
                kind="curator_mail",
                incident_id=inc["id"],
                after_key=after,
                payload=payload,
                state="pending",
                attempts=0,
                next_attempt_at=now + timedelta(seconds=hold if notice is Notice.AFFECTED else 0),
                created_at=now,
            )
            queued += len((await conn.execute(self._insert_notice, row)).scalars().all())
        if notice is Notice.AFFECTED:
            await flag(True)
        return queued

    async def _redundancy(self, conn: AsyncConnection, p: Prepared, now: datetime) -> Outcome | None:
        """Count the members of the alert's redundancy group that are down; open the service's incident
        when more are down than the group tolerates, resolve it when the group carries the service again."""
        m = p.verdict.member
        assert m is not None and p.service is not None
        cust = p.customer.id
        await conn.execute(
            _insert(self.db, redundancy_state)
            .values(customer=cust, member_group=m.group_key, down=0, updated_at=now)
            .on_conflict_do_nothing(index_elements=["customer", "member_group"])
        )
        await conn.execute(
            select(redundancy_state.c.down)
            .where(redundancy_state.c.customer == cust, redundancy_state.c.member_group == m.group_key)
            .with_for_update()
        )
        firing = (
            await conn.execute(
                select(alerts.c.member, alerts.c.incident_id).where(
                    alerts.c.customer == cust, alerts.c.member_group == m.group_key, alerts.c.status == "firing"
                )
            )
        ).all()
        down = sorted({r.member for r in firing})
        await conn.execute(
            update(redundancy_state)
            .where(redundancy_state.c.customer == cust, redundancy_state.c.member_group == m.group_key)
            .values(down=len(down), updated_at=now)
        )
        key = f"{cust}/redundancy/{m.group_key}"
        inc = await self._active_incident(conn, key)
        group_open = inc is not None and inc["state"] == "open"
        action = group_transition(len(down), m.tolerate, group_open)
        if action is GroupAction.LINK:
            assert inc is not None
            await self._link(conn, inc["id"], {r.incident_id for r in firing}, now)
            return None
        if action is GroupAction.HOLD:
            return None
        exhausted = action is GroupAction.OPEN
        svc = p.service
        members = ", ".join(down) or "none"
        title = (
            f"{svc.name}: {len(down)} of {m.size} members of {m.group} down, the service is not carried"
            if exhausted
            else f"{svc.name}: {m.group} carries the service again ({len(down)} of {m.size} down)"
        )
        alert = Alert(
            source="redundancy",
            identity=m.group_key,
            group=m.group_key,
            status=AlertStatus.FIRING if exhausted else AlertStatus.RESOLVED,
            name="RedundancyExhausted",
            title=title,
            description=f"Members down: {members}. The group tolerates {m.tolerate} down of {m.size}.",
        )
        reason = (
            f"{len(down)} of {m.size} members of {svc.name} / {m.group} are down ({members}); the group carries "
            f"the service only with at most {m.tolerate} down"
        )
        verdict = Classification(
            kind="incident",
            customer=cust,
            service=svc.id,
            impact="high",
            urgency="high",
            priority=self.classifier.settings.matrix["high"]["high"],
            rule="redundancy-exhausted",
            reason=reason,
            binding=f"redundancy group {m.group_key}",
            trace=(f"members down: {members}", f"tolerates {m.tolerate} of {m.size}", "redundancy exhausted"),
        )
        gp = Prepared(alert, p.customer, svc, verdict, key)
        was = AlertStatus.FIRING if group_open else (AlertStatus.RESOLVED if inc is not None else None)
        out = await self._settle(conn, gp, was, False, now, None)
        if exhausted and out.incident_id is not None:
            await self._link(conn, out.incident_id, {r.incident_id for r in firing}, now)
        return out

    async def _link(self, conn: AsyncConnection, incident_id: int, linked: set[int | None], now: datetime) -> None:
        for other in sorted(i for i in linked if i is not None and i != incident_id):
            res = await conn.execute(
                _insert(self.db, incident_links)
                .values(incident_id=incident_id, linked_id=other, relation="caused_by", created_at=now)
                .on_conflict_do_nothing(index_elements=["incident_id", "linked_id", "relation"])
                .returning(incident_links.c.id)
            )
            if res.scalars().all():
                await self.desk.add_article(
                    conn, incident_id, self.settings.system_requester, f"Linked: caused by incident {other}.", now
                )

    async def settle_flapping(self, now: datetime | None = None) -> int:
        """Resolve flapping incidents that stayed quiet for the settle time (once, across replicas)."""
        now = now or datetime.now(UTC)
        settled = 0
        async with self.db.transaction() as conn:
            q = select(incidents).where(
                incidents.c.state == "open", incidents.c.settle_at.is_not(None), incidents.c.settle_at <= now
            )
            q = q.with_for_update(skip_locked=True) if not self.db.is_sqlite else q
            for row in (await conn.execute(q)).mappings().all():
                inc = dict(row)
                firing = (
                    await conn.execute(
                        select(func.count()).where(alerts.c.incident_id == inc["id"], alerts.c.status == "firing")
                    )
                ).scalar_one()
                if firing:
                    await conn.execute(update(incidents).where(incidents.c.id == inc["id"]).values(settle_at=None))
                    continue
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.id == inc["id"])
                    .values(
                        state="resolved",
                        resolved_at=now,
                        updated_at=now,
                        settle_at=None,
                        flapping=False,
                        flap_changes=0,
                        flap_window_start=None,
                    )
                )
                await self.desk.set_state(conn, inc["id"], "resolved", now)
                await self.desk.add_article(
                    conn,
                    inc["id"],
                    self.settings.system_requester,
                    f"Quiet since {inc['settle_at'] - timedelta(seconds=self.settings.lifecycle.flap_settle):%H:%M} "
                    f"UTC after flapping ({inc['flap_changes']} state changes): incident resolved.",
                    now,
                )
                customer = self.settings.customer(inc["customer"])
                if customer is not None and inc["kind"] == "incident" and inc["affected_notice"]:
                    await self._queue_notices(conn, customer, inc, Notice.RESTORED, Action.RESOLVE, inc["episode"], now)
                settled += 1
        return settled
