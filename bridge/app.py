"""The HTTP API (aiohttp): webhooks in, incidents and tickets out, health and metrics."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aiohttp import web
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, StringConstraints
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge import openapi
from bridge.config import Settings, Token
from bridge.db import Database, sqlstate
from bridge.desk import BuiltinDesk, builtin_desk
from bridge.metrics import Metrics
from bridge.outbox import Dispatcher, depth
from bridge.pipeline import Pipeline, Rejected, close_incident
from bridge.schema import alerts, articles, incident_links, incidents, maintenance_windows, outbox, tickets
from bridge.timers import TimedWork
from bridge.views import incident_json, ticket_json
from connectors import alertmanager, findings, zabbix
from connectors.alert import Alert, PayloadError, strip_nul
from connectors.validation import MAX_DEPTH, ascii_digits, in_utc_range, parse_model, too_deep

log = logging.getLogger("alertbridge.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
PIPELINE = web.AppKey("pipeline", Pipeline)
METRICS = web.AppKey("metrics", Metrics)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
TIMERS = web.AppKey("timers", TimedWork)

SOURCES: dict[str, tuple[str, Callable[[Any], list[Alert]]]] = {
    "alertmanager": ("alertmanager", alertmanager.parse),
    "zabbix": ("zabbix", zabbix.parse),
    "findings": ("engineer", findings.parse),
}
FILTERS = {
    "kind": {"incident", "fault"},
    "state": {"open", "resolved", "closed"},
    "origin": {"monitoring", "engineer", "customer"},
}
STAGES = {"new", "in_progress", "resolved", "closed"}


def problem(status: int, error: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    body = {"error": error, "message": message, **extra}
    return web.json_response(body, status=status, headers=headers)


# -- middleware --------------------------------------------------------------------------------
def _unavailable(exc: DBAPIError) -> bool:
    """The server refused or dropped the connection: connection exception (08), shutting down or not yet
    accepting connections (57), out of connection slots (53). asyncpg's errors arrive as plain DBAPIError."""
    return sqlstate(exc)[:2] in ("08", "57", "53")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer is JSON with a name for the problem; a database outage is a 503 to retry."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        reason = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status, "http_error")
        msg = {
            404: f"no such endpoint: {request.method} {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
        }.get(exc.status, exc.reason)
        return problem(exc.status, reason, msg, headers={k: v for k, v in exc.headers.items() if k == "Allow"})
    except (OperationalError, PoolTimeout, ConnectionError, OSError) as exc:
        log.error("database unavailable during %s %s: %s", request.method, request.path, exc)
        return problem(
            503,
            "database_unavailable",
            "the database cannot be reached; nothing was stored, retry later",
            headers={"Retry-After": "5"},
        )
    except DataError as exc:
        # a value the database refuses to hold, e.g. a NUL character in a path or query parameter (PostgreSQL)
        log.info("refused a value the database cannot hold in %s %s: %s", request.method, request.path, exc.orig)
        return problem(400, "bad_parameter", "a parameter holds a value that cannot be stored or searched (NUL?)")
    except DBAPIError as exc:
        if sqlstate(exc).startswith("22"):  # data exception (asyncpg: not a DataError)
            log.info("refused a value the database cannot hold in %s %s: %s", request.method, request.path, exc.orig)
            return problem(400, "bad_parameter", "a parameter holds a value that cannot be stored or searched (NUL?)")
        if exc.connection_invalidated or _unavailable(exc):
            return problem(
                503,
                "database_unavailable",
                "the database connection was lost; nothing was stored, retry later",
                headers={"Retry-After": "5"},
            )
        log.exception("database error during %s %s", request.method, request.path)
        return problem(500, "internal_error", "an internal error occurred; nothing was stored")


@web.middleware
async def timing(request: web.Request, handler: Handler) -> web.StreamResponse:
    start = time.perf_counter()
    status = 500
    try:
        resp = await handler(request)
        status = resp.status
        return resp
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        request.app[METRICS].latency.labels(name, request.method, str(status)).observe(time.perf_counter() - start)


# -- helpers -----------------------------------------------------------------------------------
def authenticate(request: web.Request, scope: str) -> Token | web.Response:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return problem(
            401,
            "unauthorized",
            "a bearer token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": 'Bearer realm="alertbridge"'},
        )
    digest = hashlib.sha256(presented.strip().encode()).hexdigest()
    found: Token | None = None
    for t in request.app[SETTINGS].tokens:
        d = t.digest()
        if d is not None and hmac.compare_digest(d, digest):
            found = t
    if found is None:
        return problem(
            401,
            "unauthorized",
            "the token is not valid",
            headers={"WWW-Authenticate": 'Bearer realm="alertbridge", error="invalid_token"'},
        )
    if scope not in found.scopes and "admin" not in found.scopes:
        return problem(403, "forbidden", f"token {found.name!r} may not use this endpoint (needs scope {scope!r})")
    return found


async def read_json(request: web.Request) -> Any:
    limit = request.app[SETTINGS].limits.max_body_bytes
    ctype = request.headers.get("Content-Type", "")
    if ctype.split(";")[0].strip().lower() not in ("application/json", ""):
        raise _Bad(
            415, "unsupported_media_type", f"the body must be JSON (Content-Type: application/json), not {ctype!r}"
        )
    if request.content_length is not None and request.content_length > limit:
        raise _Bad(413, "body_too_large", f"the body is {request.content_length} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise _Bad(413, "body_too_large", f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise _Bad(400, "empty_body", "the body is empty; a JSON object was expected")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Bad(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        data = _TOO_DEEP
    if data is _TOO_DEEP or too_deep(data):
        raise _Bad(400, "too_deep", f"the body nests JSON deeper than {MAX_DEPTH} levels; no alert payload does")
    return strip_nul(data) if b"\\u0000" in raw else data


_TOO_DEEP = object()


class _Bad(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


# -- ingest ------------------------------------------------------------------------------------
def ingest_handler(endpoint: str) -> Handler:
    source, parse = SOURCES[endpoint]

    async def handle(request: web.Request) -> web.StreamResponse:
        metrics = request.app[METRICS]
        auth = authenticate(request, endpoint)
        if isinstance(auth, web.Response):
            metrics.requests_rejected.labels(endpoint, "auth").inc()
            return auth
        try:
            body = await read_json(request)
            parsed = parse(body)
            prepared = request.app[PIPELINE].prepare(parsed, allowed_customer=auth.customer)
        except _Bad as exc:
            metrics.requests_rejected.labels(endpoint, exc.error).inc()
            return problem(exc.status, exc.error, exc.message)
        except PayloadError as exc:
            metrics.requests_rejected.labels(endpoint, "invalid_payload").inc()
            return web.json_response(exc.to_dict(), status=422)
        except Rejected as exc:
            metrics.requests_rejected.labels(endpoint, exc.error).inc()
            return web.json_response(exc.to_dict(), status=exc.status)
        result = await request.app[PIPELINE].ingest(source, auth.name, body, prepared)
        for o in result.outcomes:
            metrics.received.labels(source, o.action).inc()
            metrics.transitions.labels(o.action).inc()
            if o.opened and o.kind:
                metrics.opened.labels(o.kind).inc()
        if any(o.notices for o in result.outcomes):
            request.app[DISPATCHER].wake.set()
        first = result.outcomes[0] if result.outcomes else None
        return web.json_response(
            {
                "status": "accepted",
                "event": result.event_id,
                "alerts": [o.as_dict() for o in result.outcomes],
                "incident_id": first.incident_id if first else None,
                "ticket": first.ticket if first else None,
            },
            status=200,
        )

    return handle


# -- reads -------------------------------------------------------------------------------------
def _reader(request: web.Request) -> Token | web.Response:
    return authenticate(request, "read")


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise _Bad(400, "bad_parameter", f"{name} must be a whole number, not {raw!r}") from None
    if not lo <= v <= hi:
        raise _Bad(400, "bad_parameter", f"{name} must be between {lo} and {hi}")
    return v


async def list_incidents(request: web.Request) -> web.StreamResponse:
    auth = _reader(request)
    if isinstance(auth, web.Response):
        return auth
    try:
        limit = _int_param(request, "limit", 100, 1, 5000)
        offset = _int_param(request, "offset", 0, 0, 10**9)
        known = {"customer", "kind", "state", "stage", "origin", "service", "limit", "offset"}
        unknown = sorted(set(request.query) - known)
        if unknown:
            raise _Bad(400, "bad_parameter", f"unknown filter(s) {unknown}; use {sorted(known)}")
        conds = []
        for name, allowed in FILTERS.items():
            v = request.query.get(name)
            if v is not None:
                if v not in allowed:
                    raise _Bad(400, "bad_parameter", f"{name} must be one of {sorted(allowed)}, not {v!r}")
                conds.append(incidents.c[name] == v)
        stage = request.query.get("stage")
        if stage is not None:
            if stage not in STAGES:
                raise _Bad(400, "bad_parameter", f"stage must be one of {sorted(STAGES)}, not {stage!r}")
            if stage == "new":
                conds += [incidents.c.state == "open", incidents.c.acknowledged_at.is_(None)]
            elif stage == "in_progress":
                conds += [incidents.c.state == "open", incidents.c.acknowledged_at.is_not(None)]
            else:
                conds.append(incidents.c.state == stage)
        for name in ("customer", "service"):
            v = request.query.get(name)
            if v is not None:
                conds.append(incidents.c[name] == v)
        if auth.customer:
            conds.append(incidents.c.customer == auth.customer)
    except _Bad as exc:
        return problem(exc.status, exc.error, exc.message)
    async with request.app[DB].read() as conn:
        total = (await conn.execute(select(func.count()).select_from(incidents).where(*conds))).scalar_one()
        rows = (
            (await conn.execute(select(incidents).where(*conds).order_by(incidents.c.id).limit(limit).offset(offset)))
            .mappings()
            .all()
        )
    nxt = None
    if offset + len(rows) < total:
        q = {k: v for k, v in request.query.items() if k not in ("offset", "limit")}
        q.update(limit=str(limit), offset=str(offset + limit))
        nxt = str(request.rel_url.with_query(q))
    return web.json_response({"incidents": [incident_json(r) for r in rows], "total": total, "next": nxt})


async def get_incident(request: web.Request) -> web.StreamResponse:
    auth = _reader(request)
    if isinstance(auth, web.Response):
        return auth
    raw = request.match_info["id"]
    if not ascii_digits(raw) or len(raw) > 18:
        return problem(400, "bad_parameter", f"incident id must be a number, not {raw!r}")
    async with request.app[DB].read() as conn:
        row = (await conn.execute(select(incidents).where(incidents.c.id == int(raw)))).mappings().first()
        if row is None or (auth.customer and row["customer"] != auth.customer):
            return problem(404, "not_found", f"no incident {raw}")
        al = (
            (await conn.execute(select(alerts).where(alerts.c.incident_id == row["id"]).order_by(alerts.c.id)))
            .mappings()
            .all()
        )
        out = await conn.execute(
            select(incident_links.c.linked_id, incident_links.c.relation).where(
                incident_links.c.incident_id == row["id"]
            )
        )
        back = await conn.execute(
            select(incident_links.c.incident_id, incident_links.c.relation).where(
                incident_links.c.linked_id == row["id"]
            )
        )
        history = (
            await conn.execute(
                select(articles.c.created_at, articles.c.author, articles.c.body, articles.c.visible_to_customer)
                .select_from(articles.join(tickets, articles.c.ticket_id == tickets.c.id))
                .where(tickets.c.incident_id == row["id"])
                .order_by(articles.c.id)
            )
        ).all()
        links = [{"id": r[0], "relation": r[1]} for r in out.all()]
        links += [{"id": r[0], "relation": "causes" if r[1] == "caused_by" else f"{r[1]}_of"} for r in back.all()]
    body = incident_json(row, list(al), sorted(links, key=lambda x: x["id"]))
    body["history"] = [
        {
            "at": h.created_at.isoformat(),
            "author": h.author,
            "text": h.body.split("\n", 1)[0][:300],
            "visible_to_customer": h.visible_to_customer,
        }
        for h in history
    ]
    return web.json_response(body)


class Acknowledgement(BaseModel):
    """An engineer takes the incident: the reaction deadline is met."""

    model_config = ConfigDict(extra="forbid")
    engineer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    note: Annotated[str, StringConstraints(max_length=65536)] = ""


class NoteIn(BaseModel):
    """An engineer's note on the incident's ticket: internal unless `public` (never on a silent fault)."""

    model_config = ConfigDict(extra="forbid")
    engineer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=65536)]
    public: bool = False


IncidentAction = Callable[[AsyncConnection, dict[str, Any], Any, datetime, BuiltinDesk], Awaitable[web.Response | None]]


async def engineer_action(
    request: web.Request, act: IncidentAction, model: type[BaseModel] = Acknowledgement
) -> web.StreamResponse:
    """An engineer's action on one incident (scope `work`): authenticate, read the body, lock the incident
    of the caller's customer, let `act` change it (or answer a problem), return the incident."""
    auth = authenticate(request, "work")
    if isinstance(auth, web.Response):
        return auth
    raw = request.match_info["id"]
    if not ascii_digits(raw) or len(raw) > 18:
        return problem(400, "bad_parameter", f"incident id must be a number, not {raw!r}")
    try:
        who = parse_model(model, await read_json(request))
    except _Bad as exc:
        return problem(exc.status, exc.error, exc.message)
    except PayloadError as exc:
        return web.json_response(exc.to_dict(), status=422)
    now = datetime.now(UTC)
    desk = builtin_desk(request.app[SETTINGS])
    async with request.app[DB].transaction() as conn:
        found = (
            (await conn.execute(select(incidents).where(incidents.c.id == int(raw)).with_for_update()))
            .mappings()
            .first()
        )
        if found is None or (auth.customer and found["customer"] != auth.customer):
            return problem(404, "not_found", f"no incident {raw}")
        refused = await act(conn, dict(found), who, now, desk)
        if refused is not None:
            return refused
        row = (await conn.execute(select(incidents).where(incidents.c.id == found["id"]))).mappings().one()
    return web.json_response(incident_json(row))


async def _acknowledge(
    conn: AsyncConnection, row: dict[str, Any], who: Acknowledgement, now: datetime, desk: BuiltinDesk
) -> web.Response | None:
    if row["state"] == "closed":
        return problem(409, "already_closed", f"incident {row['id']} is closed; nothing is left to take")
    if row["acknowledged_at"] is None or row["acknowledged_by"] is None:
        await conn.execute(
            update(incidents)
            .where(incidents.c.id == row["id"])
            .values(
                acknowledged_at=func.coalesce(incidents.c.acknowledged_at, now),
                acknowledged_by=func.coalesce(incidents.c.acknowledged_by, who.engineer),
                updated_at=now,
            )
        )
    await desk.take(conn, row["id"], now)
    await desk.add_article(conn, row["id"], who.engineer, f"Taken by {who.engineer}." + _note(who), now)
    return None


async def _close(
    conn: AsyncConnection, row: dict[str, Any], who: Acknowledgement, now: datetime, desk: BuiltinDesk
) -> web.Response | None:
    """A person closes the incident and its ticket; the same problem firing later opens a new, linked one."""
    if row["state"] == "closed":
        return problem(409, "already_closed", f"incident {row['id']} is already closed")
    await close_incident(
        conn,
        desk,
        row["id"],
        who.engineer,
        f"Closed by {who.engineer}." + _note(who),
        now,
        acknowledged_at=func.coalesce(incidents.c.acknowledged_at, now),
    )
    return None


def _note(who: Acknowledgement) -> str:
    return f"\n{who.note}" if who.note else ""


async def _add_note(
    conn: AsyncConnection, row: dict[str, Any], who: NoteIn, now: datetime, desk: BuiltinDesk
) -> web.Response | None:
    if who.public and row["kind"] != "incident":
        return problem(
            409, "fault_is_internal", f"incident {row['id']} is a silent fault: its notes stay internal (public: false)"
        )
    if row["state"] == "closed":
        return problem(409, "already_closed", f"incident {row['id']} is closed")
    await desk.add_article(conn, row["id"], who.engineer, who.text, now, visible_to_customer=who.public)
    await conn.execute(update(incidents).where(incidents.c.id == row["id"]).values(updated_at=now))
    return None


async def add_note(request: web.Request) -> web.StreamResponse:
    return await engineer_action(request, _add_note, NoteIn)


async def acknowledge(request: web.Request) -> web.StreamResponse:
    return await engineer_action(request, _acknowledge)


async def close(request: web.Request) -> web.StreamResponse:
    return await engineer_action(request, _close)


class WindowIn(BaseModel):
    """A maintenance window created through the API."""

    model_config = ConfigDict(extra="forbid")
    customer: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    service: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    host: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    starts_at: Annotated[AwareDatetime, AfterValidator(in_utc_range)] | None = None
    ends_at: Annotated[AwareDatetime, AfterValidator(in_utc_range)]
    reason: Annotated[str, StringConstraints(max_length=4096)] = ""
    engineer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


def window_json(row: Any) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "customer", "service", "host", "reason", "created_by")}
    for k in ("starts_at", "ends_at", "created_at", "ended_at"):
        out[k] = row[k].isoformat() if row[k] else None
    return out


async def create_window(request: web.Request) -> web.StreamResponse:
    auth = authenticate(request, "work")
    if isinstance(auth, web.Response):
        return auth
    try:
        w = parse_model(WindowIn, await read_json(request))
    except _Bad as exc:
        return problem(exc.status, exc.error, exc.message)
    except PayloadError as exc:
        return web.json_response(exc.to_dict(), status=422)
    settings = request.app[SETTINGS]
    cust = settings.customer(w.customer)
    if cust is None or (auth.customer and auth.customer != w.customer):
        return problem(422, "unknown_customer", f"no customer {w.customer!r}", field="customer")
    if w.service and cust.service(w.service) is None:
        return problem(422, "unknown_service", f"customer {w.customer} has no service {w.service!r}", field="service")
    now = datetime.now(UTC)
    starts = w.starts_at or now
    if w.ends_at <= starts or w.ends_at <= now:
        return problem(422, "invalid_payload", "ends_at must be after starts_at and in the future", field="ends_at")
    if w.ends_at - starts > timedelta(days=31):
        return problem(422, "invalid_payload", "a maintenance window lasts at most 31 days", field="ends_at")
    async with request.app[DB].transaction() as conn:
        res = await conn.execute(
            insert(maintenance_windows)
            .values(
                key=f"api:{uuid.uuid4().hex}",
                customer=w.customer,
                service=w.service,
                host=w.host,
                starts_at=starts,
                ends_at=w.ends_at,
                reason=w.reason,
                created_by=w.engineer,
                created_at=now,
            )
            .returning(maintenance_windows)
        )
        row = res.mappings().one()
    return web.json_response(window_json(row), status=201)


async def list_windows(request: web.Request) -> web.StreamResponse:
    auth = _reader(request)
    if isinstance(auth, web.Response):
        return auth
    conds: list[Any] = [maintenance_windows.c.ended_at.is_(None)]
    customer = auth.customer or request.query.get("customer")
    if customer:
        conds.append(maintenance_windows.c.customer == customer)
    async with request.app[DB].read() as conn:
        rows = (
            (await conn.execute(select(maintenance_windows).where(*conds).order_by(maintenance_windows.c.starts_at)))
            .mappings()
            .all()
        )
    return web.json_response({"windows": [window_json(r) for r in rows]})


async def end_window(request: web.Request) -> web.StreamResponse:
    auth = authenticate(request, "work")
    if isinstance(auth, web.Response):
        return auth
    raw = request.match_info["id"]
    if not ascii_digits(raw) or len(raw) > 18:
        return problem(400, "bad_parameter", f"window id must be a number, not {raw!r}")
    now = datetime.now(UTC)
    async with request.app[DB].transaction() as conn:
        row = (
            (await conn.execute(select(maintenance_windows).where(maintenance_windows.c.id == int(raw))))
            .mappings()
            .first()
        )
        if row is None or (auth.customer and row["customer"] != auth.customer):
            return problem(404, "not_found", f"no maintenance window {raw}")
        if row["ended_at"] is not None or row["ends_at"] <= now:
            return problem(409, "already_ended", f"maintenance window {raw} has already ended")
        await conn.execute(update(maintenance_windows).where(maintenance_windows.c.id == row["id"]).values(ends_at=now))
        row = (
            (await conn.execute(select(maintenance_windows).where(maintenance_windows.c.id == row["id"])))
            .mappings()
            .one()
        )
    request.app[TIMERS].wake()
    return web.json_response(window_json(row))


async def get_ticket(request: web.Request) -> web.StreamResponse:
    auth = _reader(request)
    if isinstance(auth, web.Response):
        return auth
    number = request.match_info["number"]
    async with request.app[DB].read() as conn:
        row = (await conn.execute(select(tickets).where(tickets.c.number == number))).mappings().first()
        if row is None or (auth.customer and row["customer"] != auth.customer):
            return problem(404, "not_found", f"no ticket {number!r}")
        arts = (
            (await conn.execute(select(articles).where(articles.c.ticket_id == row["id"]).order_by(articles.c.id)))
            .mappings()
            .all()
        )
    return web.json_response(ticket_json(row, list(arts)))


async def get_outbox(request: web.Request) -> web.StreamResponse:
    auth = _reader(request)
    if isinstance(auth, web.Response):
        return auth
    db = request.app[DB]
    summary = await depth(db)
    conds = [outbox.c.state.in_(("pending", "failed"))]
    if auth.customer:
        conds.append(outbox.c.incident_id.in_(select(incidents.c.id).where(incidents.c.customer == auth.customer)))
    async with db.read() as conn:
        rows = (
            (
                await conn.execute(
                    select(
                        outbox.c.id,
                        outbox.c.key,
                        outbox.c.kind,
                        outbox.c.incident_id,
                        outbox.c.state,
                        outbox.c.attempts,
                        outbox.c.next_attempt_at,
                        outbox.c.last_error,
                        outbox.c.created_at,
                    )
                    .where(*conds)
                    .order_by(outbox.c.id)
                    .limit(500)
                )
            )
            .mappings()
            .all()
        )
    items = [
        {**dict(r), "next_attempt_at": r["next_attempt_at"].isoformat(), "created_at": r["created_at"].isoformat()}
        for r in rows
    ]
    return web.json_response({**summary, "items": items})


# -- health ------------------------------------------------------------------------------------
async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.StreamResponse:
    try:
        async with request.app[DB].read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return problem(503, "not_ready", f"database unreachable: {type(exc).__name__}")
    return web.json_response({"status": "ready"})


async def metrics_view(request: web.Request) -> web.StreamResponse:
    body = await request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


async def openapi_view(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi.document())


def build_app(
    settings: Settings,
    db: Database,
    pipeline: Pipeline,
    metrics: Metrics,
    dispatcher: Dispatcher,
    timers: TimedWork,
) -> web.Application:
    # the body limit is enforced by read_json with a JSON answer; aiohttp's own is a backstop
    app = web.Application(middlewares=[timing, errors], client_max_size=settings.limits.max_body_bytes * 4)
    app[SETTINGS], app[DB], app[PIPELINE], app[METRICS], app[DISPATCHER] = settings, db, pipeline, metrics, dispatcher
    app[TIMERS] = timers
    r = app.router
    r.add_post("/api/v1/alertmanager", ingest_handler("alertmanager"))
    r.add_post("/api/v1/zabbix", ingest_handler("zabbix"))
    r.add_post("/api/v1/findings", ingest_handler("findings"))
    r.add_get("/api/v1/incidents", list_incidents)
    r.add_get("/api/v1/incidents/{id}", get_incident)
    r.add_post("/api/v1/incidents/{id}/acknowledge", acknowledge)
    r.add_post("/api/v1/incidents/{id}/notes", add_note)
    r.add_post("/api/v1/incidents/{id}/close", close)
    r.add_post("/api/v1/maintenance", create_window)
    r.add_get("/api/v1/maintenance", list_windows)
    r.add_post("/api/v1/maintenance/{id}/end", end_window)
    r.add_get("/api/v1/tickets/{number}", get_ticket)
    r.add_get("/api/v1/outbox", get_outbox)
    r.add_get("/api/v1/openapi.json", openapi_view)
    r.add_get("/healthz", healthz)
    r.add_get("/readyz", readyz)
    r.add_get("/metrics", metrics_view)
    return app
