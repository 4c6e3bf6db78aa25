"""What the reliability tests share: a config, `alertbridge serve` as a subprocess, a storm of
Alertmanager v4 bodies sent by a recording client, the checks of the store, the mailbox and the API
after the storm, a private PostgreSQL cluster, and the figures the tests write for
scripts/reliability_report.py.

Every wait here is bounded (subprocess timeouts, asyncio timeouts)."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from sqlalchemy import select

from bridge import schema
from bridge.db import Database
from bridge.mailer import message_id
from connectors.desks.webhook import signature
from tests.conftest import ALERTBRIDGE, ROOT, TOKENS, free_port, migrate_with_cli
from tests.integration import bodies

EXE = ALERTBRIDGE
SENDER = "Example MSP service desk <servicedesk@msp.example>"
AM_HEADERS = {
    "Authorization": f"Bearer {TOKENS['ALERTBRIDGE_TOKEN_ALERTMANAGER']}",
    "Content-Type": "application/json",
}
ENG_HEADERS = {"Authorization": f"Bearer {TOKENS['ALERTBRIDGE_TOKEN_ENGINEER']}"}
PG_BIN = Path("/usr/lib/postgresql/15/bin")
NO_ANSWER = 0  # the status recorded for an attempt that got no HTTP answer at all


# -- figures -------------------------------------------------------------------------------------
def write_figures(name: str, figures: dict[str, Any]) -> Path | None:
    """Print the figures and, with ALERTBRIDGE_RELIABILITY_OUT set, write them to <dir>/<name>.json."""
    text = json.dumps(figures, indent=2, sort_keys=True, default=str)
    print(f"\nreliability figures {name}:\n{text}")
    out = os.environ.get("ALERTBRIDGE_RELIABILITY_OUT")
    if not out:
        return None
    path = Path(out) / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return path


# -- configuration ----------------------------------------------------------------------------------
def write_config(
    path: Path,
    smtp_url: str | None,
    *,
    lifecycle: dict[str, Any] | None = None,
    outbox: dict[str, Any] | None = None,
    desks: dict[str, Any] | None = None,
    desk_customers: Iterable[str] = (),
) -> Path:
    """config/example.yaml (customers acme and globex bound by the label `customer`, their curators,
    the three tokens from the environment) with a quick outbox and every identity its own incident."""
    cfg = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    cfg["mail"] = {"smtp_url": smtp_url or "", "sender": SENDER, "timeout": 5}
    cfg["public_url"] = "http://alertbridge.test"
    cfg["lifecycle"] = {
        "reopen_window": "1h",
        "storm_threshold": 0,  # every identity gets its own incident
        "min_notice_interval": 0,  # every relapse notice goes out at once: the outbox can drain
        "sla_check_interval": "30s",
        **(lifecycle or {}),
    }
    # a crashed process's claimed rows are free again after `lease`; backoff short so the test can wait
    cfg["outbox"] = {"poll_interval": 0.2, "backoff_initial": 0.2, "backoff_max": 1.0, "lease": 8, **(outbox or {})}
    if desks:
        cfg["desks"] = desks
        for c in cfg["customers"]:
            if c["id"] in set(desk_customers):
                c["desk"] = next(iter(desks))
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    return path


# -- the service as a subprocess -------------------------------------------------------------------
class Server:
    """`alertbridge serve` on a fixed port, restartable; every start logs to its own file."""

    def __init__(self, config: Path, database_url: str, logdir: Path, name: str = "alertbridge") -> None:
        self.config, self.database_url, self.logdir, self.name = config, database_url, logdir, name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **TOKENS, "ALERTBRIDGE_DATABASE_URL": database_url}
        self.env.pop("ALERTBRIDGE_SMTP_URL", None)
        self.proc: subprocess.Popen[bytes] | None = None
        self.args: list[str] = []  # more `serve` arguments, e.g. ["--workers", "2"]
        self.starts = 0
        self.kills = 0
        self.logs: list[Path] = []

    def migrate(self) -> None:
        migrate_with_cli(self.config, self.env)

    def spawn(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = self.logdir / f"{self.name}.{self.starts}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    EXE,
                    "serve",
                    "--config",
                    str(self.config),
                    "--listen",
                    f"127.0.0.1:{self.port}",
                    "--no-migrate",
                    *self.args,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal for the test run never reaches it, nor the reverse
            )

    async def wait_ready(self, session: aiohttp.ClientSession, within: float = 30.0) -> float:
        """Seconds until GET /readyz answered 200; raises with the log's tail if it never does."""
        start = time.monotonic()
        while time.monotonic() - start < within:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(self.base + "/readyz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return time.monotonic() - start
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {within}s:\n{self.log_tail()}")

    async def start(self, session: aiohttp.ClientSession, within: float = 30.0) -> float:
        self.spawn()
        return await self.wait_ready(session, within)

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, f"{self.name} is not running"
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.kills += 1

    async def stop(self, within: float = 20.0) -> int | None:
        """SIGTERM (finish the delivery in hand), SIGKILL if it does not stop in time."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.proc.wait, within)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"{self.name} did not stop within {within}s of SIGTERM:\n{self.log_tail()}") from None

    def close(self) -> None:
        """Last resort (fixture teardown): nothing outlives the test."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)

    def log_tail(self, chars: int = 3000) -> str:
        if not self.logs:
            return ""
        return self.logs[-1].read_text(errors="replace")[-chars:]

    def log_lines(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return [ln for p in self.logs for ln in p.read_text(errors="replace").splitlines() if rx.search(ln)]

    async def get_json(self, session: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
        async with session.get(self.base + path, headers=ENG_HEADERS, timeout=aiohttp.ClientTimeout(total=20)) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text


# -- a storm of Alertmanager v4 bodies ------------------------------------------------------------
BASE_TIME = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
KINDS = [  # (customer, service, alertname, summary, severity): incidents mostly, a few silent faults
    ("acme", "website", "BlackboxProbeFailed", "Website {i} does not answer", "critical"),
    ("globex", "mail", "SMTPServiceDown", "SMTP on mx{i} does not answer", "critical"),
    ("acme", "fileserver", "NodeRAIDDegraded", "RAID array md{i} degraded, one disk failed", "warning"),
    ("globex", "nas", "HostDown", "NAS volume {i} unreachable", "critical"),
]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Ident:
    n: int
    customer: str
    labels: dict[str, str]
    summary: str
    fp: str = ""
    steps: list[tuple[str, int]] = field(default_factory=list)  # (status, phase 0..3)

    def alert(self, status: str, phase: int) -> dict[str, Any]:
        t0 = BASE_TIME + timedelta(seconds=self.n)
        starts = t0 + timedelta(seconds=1200 if phase >= 2 else 0)
        ends = t0 + timedelta(seconds=600 if phase < 2 else 1800)
        a = bodies.alert(self.labels, {"summary": self.summary}, status, _iso(starts), _iso(ends))
        self.fp = a["fingerprint"]
        return a


def identities(count: int, rng: random.Random, tag: str = "r") -> list[Ident]:
    """`count` distinct problems, each with a life: it fires, repeats, maybe recovers, maybe relapses
    (within the reopen window) and recovers again."""
    out = []
    for n in range(count):
        customer, service, name, summary, severity = KINDS[0 if rng.random() < 0.4 else rng.randrange(len(KINDS))]
        labels = {
            "alertname": name,
            "instance": f"{tag}{n}.{customer}.example:9100",
            "job": "node",
            "customer": customer,
            "service": service,
            "severity": severity,
        }
        ident = Ident(n, customer, labels, summary.format(i=n))
        steps = [("firing", 0)] * (1 + rng.randrange(3))
        if rng.random() < 0.7:
            steps.append(("resolved", 1))
            if rng.random() < 0.6:
                steps += [("firing", 2)] * (1 + rng.randrange(2))
                if rng.random() < 0.6:
                    steps.append(("resolved", 3))
        ident.steps = steps
        ident.alert("firing", 0)  # sets the fingerprint
        out.append(ident)
    return out


def plan(idents: list[Ident], rng: random.Random) -> list[dict[str, Any]]:
    """Bodies carrying the identities' steps in order per identity, interleaved at random; a body
    groups one to three alerts of one customer, as Alertmanager groups them."""
    todo = {i.n: list(i.steps) for i in idents}
    by_n = {i.n: i for i in idents}
    out = []
    while todo:
        customer = by_n[rng.choice(list(todo))].customer
        mine = [n for n in todo if by_n[n].customer == customer]
        picked = rng.sample(mine, min(len(mine), rng.choice([1, 1, 1, 2, 3])))
        alerts = []
        for n in picked:
            status, phase = todo[n].pop(0)
            alerts.append(by_n[n].alert(status, phase))
            if not todo[n]:
                del todo[n]
        out.append(bodies.body(alerts))
    return out


def body_key(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


@dataclass
class Attempt:
    status: int  # NO_ANSWER when the connection failed or the answer never came
    error: str = ""
    event: int | None = None
    at: float = 0.0  # monotonic, when the answer (or the failure) came
    sent: float = 0.0  # monotonic, when the request was sent


@dataclass
class Request:
    id: int
    body: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    abandoned: bool = False  # the sender gave up on it (no retry)

    @property
    def acked(self) -> bool:
        return any(200 <= a.status < 300 for a in self.attempts)


class Storm:
    """Posts bodies with `concurrency` workers and records every attempt. A request that failed
    (no answer, or 5xx) is retried, as Alertmanager does, until it gets a 2xx or the storm is closed."""

    def __init__(self, base: str, concurrency: int = 30, retry_pause: float = 0.1, timeout: float = 15.0) -> None:
        self.base = base
        self.bases = [base]  # several: each attempt goes to one of them at random, as through a balancer
        self.answered_by: Counter[str] = Counter()
        self.concurrency = concurrency
        self.retry_pause = retry_pause
        self.timeout = timeout
        self.requests: list[Request] = []
        self.queue: asyncio.Queue[Request] = asyncio.Queue()
        self.inflight = 0
        self.closed = False
        self.abandon: Callable[[Request, Attempt], bool] | None = None  # True: give up instead of retrying
        self._progress = asyncio.Event()  # set after every attempt
        self._workers: list[asyncio.Task[None]] = []
        self._retrying: set[asyncio.Task[None]] = set()

    def add(self, bodies_: Iterable[dict[str, Any]]) -> list[Request]:
        added = []
        for b in bodies_:
            r = Request(len(self.requests), b)
            self.requests.append(r)
            self.queue.put_nowait(r)
            added.append(r)
        return added

    def start(self, session: aiohttp.ClientSession) -> None:
        self._workers = [asyncio.create_task(self._work(session)) for _ in range(self.concurrency)]

    async def _work(self, session: aiohttp.ClientSession) -> None:
        while True:
            r = await self.queue.get()
            self.inflight += 1
            try:
                a = await self._post(session, r)
            finally:
                self.inflight -= 1
                self.queue.task_done()
            self._progress.set()
            if not 200 <= a.status < 300 and (a.status == NO_ANSWER or a.status >= 500) and not self.closed:
                if self.abandon is not None and self.abandon(r, a):
                    r.abandoned = True
                    continue
                t = asyncio.create_task(self._retry(r))
                self._retrying.add(t)
                t.add_done_callback(self._retrying.discard)

    async def _retry(self, r: Request) -> None:
        failed = 0  # consecutive failures: the pause doubles with each, up to 1 s (Alertmanager backs off too)
        for a in reversed(r.attempts):
            if 200 <= a.status < 300:
                break
            failed += 1
        pause = min(1.0, self.retry_pause * 2 ** max(0, failed - 1))
        await asyncio.sleep(pause * (0.5 + random.random() / 2))
        if not self.closed:
            self.queue.put_nowait(r)

    async def _post(self, session: aiohttp.ClientSession, r: Request) -> Attempt:
        data = json.dumps(r.body)
        sent = time.monotonic()
        base = random.choice(self.bases)
        try:
            async with session.post(
                base + "/api/v1/alertmanager",
                data=data,
                headers=AM_HEADERS,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                text = await resp.text()
                a = Attempt(resp.status, at=time.monotonic())
                try:
                    answer = json.loads(text)
                except ValueError:
                    answer = None
                if 200 <= resp.status < 300:
                    a.event = answer["event"]
                    self.answered_by[base] += 1
                else:
                    a.error = (answer or {}).get("error", text[:200]) if isinstance(answer, dict) else text[:200]
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            a = Attempt(NO_ANSWER, f"{type(exc).__name__}: {exc}"[:200], at=time.monotonic())
        a.sent = sent
        r.attempts.append(a)
        return a

    def pending(self) -> int:
        return sum(1 for r in self.requests if not r.acked and not r.abandoned)

    async def settle(self, within: float) -> None:
        """Wait until every request got its 2xx (or was given up)."""
        try:
            async with asyncio.timeout(within):
                while self.pending():
                    self._progress.clear()
                    await self._progress.wait()
        except TimeoutError:
            raise AssertionError(f"{self.pending()} requests never got a 2xx within {within}s") from None

    async def close(self) -> None:
        self.closed = True
        for t in [*self._workers, *self._retrying]:
            t.cancel()
        await asyncio.gather(*self._workers, *self._retrying, return_exceptions=True)

    def figures(self) -> dict[str, Any]:
        statuses = Counter(a.status for r in self.requests for a in r.attempts)
        return {
            "requests": len(self.requests),
            "requests_acknowledged": sum(1 for r in self.requests if r.acked),
            "attempts": sum(len(r.attempts) for r in self.requests),
            "attempts_by_status": {("no_answer" if k == NO_ANSWER else str(k)): v for k, v in sorted(statuses.items())},
            "alerts_acknowledged": sum(len(r.body["alerts"]) for r in self.requests if r.acked),
            "requests_abandoned": sum(1 for r in self.requests if r.abandoned),
        }


# -- what the store holds ------------------------------------------------------------------------------
async def read_store(database_url: str) -> dict[str, list[dict[str, Any]]]:
    db = Database(database_url, pool_size=2)
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        async with db.read() as conn:
            for t in (schema.alert_events, schema.alerts, schema.incidents, schema.tickets, schema.outbox):
                rows = (await conn.execute(select(t).order_by(t.c.id))).mappings().all()
                out[t.name] = [dict(r) for r in rows]
    finally:
        await db.dispose()
    return out


def _order(a: dict[str, Any]) -> float:
    t = a["endsAt"] if a["status"] == "resolved" else a["startsAt"]
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def check_store(store: dict[str, list[dict[str, Any]]], requests: list[Request]) -> tuple[list[str], dict[str, Any]]:
    """The invariants after a storm, from the database. Returns (problems, figures)."""
    problems: list[str] = []
    events = {e["id"]: e for e in store["alert_events"]}
    stored_by_body = Counter(body_key(e["body"]) for e in events.values())

    # 1. every 2xx answer names an event that is stored, with the body that was sent
    acked_events = 0
    for r in requests:
        for a in r.attempts:
            if 200 <= a.status < 300:
                acked_events += 1
                e = events.get(a.event)  # type: ignore[arg-type]
                if e is None:
                    problems.append(f"request {r.id} got {a.status} with event {a.event}, which is not stored")
                elif body_key(e["body"]) != body_key(r.body):
                    problems.append(f"request {r.id}: event {a.event} holds another body")
    # 2. per body: stored at least as often as acknowledged, at most as often as attempted
    acks: Counter[str] = Counter()
    tries: Counter[str] = Counter()
    for r in requests:
        k = body_key(r.body)
        acks[k] += sum(1 for a in r.attempts if 200 <= a.status < 300)
        tries[k] += len(r.attempts)
    for k in tries:
        if not acks[k] <= stored_by_body[k] <= tries[k]:
            problems.append(f"a body acknowledged {acks[k]}x, sent {tries[k]}x is stored {stored_by_body[k]}x")
    unfinished = [e["id"] for e in events.values() if e["outcome"] == "accepted"]
    if unfinished:  # the outcome is written last in the transaction that stored the event
        problems.append(f"events stored with their processing unfinished (outcome 'accepted'): {unfinished[:10]}")
    unknown = [e["id"] for e in events.values() if body_key(e["body"]) not in tries]
    if unknown:
        problems.append(f"events nobody sent: {unknown[:10]}")
    stored_unacked = sum(max(0, stored_by_body[k] - acks[k]) for k in tries)

    # 3. each identity exactly one row in `alerts`, in the newest state the stored events carried
    newest: dict[tuple[str, str], tuple[float, str]] = {}
    firing_starts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in events.values():
        for a in e["body"]["alerts"]:
            ident = (a["labels"]["customer"], a["fingerprint"])
            o = (_order(a), a["status"])
            if ident not in newest or o[0] > newest[ident][0]:
                newest[ident] = o
            if a["status"] == "firing":
                firing_starts[ident].add(a["startsAt"])
    rows = Counter((r["customer"], r["identity"]) for r in store["alerts"] if r["source"] == "alertmanager")
    dup = [k for k, n in rows.items() if n != 1]
    if dup:
        problems.append(f"identities with more than one alerts row: {dup[:5]}")
    missing = sorted(set(newest) - set(rows))
    extra = sorted(set(rows) - set(newest))
    if missing:
        problems.append(f"{len(missing)} identities stored in events have no alerts row: {missing[:5]}")
    if extra:
        problems.append(f"{len(extra)} alerts rows no stored event carried: {extra[:5]}")
    incidents = {i["id"]: i for i in store["incidents"]}
    alerts_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    wrong_state = []
    for row in store["alerts"]:
        ident = (row["customer"], row["identity"])
        if ident not in newest:
            continue
        order, status = newest[ident]
        if row["status"] != status or abs(row["last_order"] - order) > 1e-3:
            wrong_state.append(f"{ident}: stored {row['status']}@{row['last_order']}, newest sent {status}@{order}")
        if row["last_event_id"] is not None and row["last_event_id"] not in events:
            problems.append(f"alert {ident} names event {row['last_event_id']}, which is not stored")
        if row["incident_id"] is not None:
            alerts_of[row["incident_id"]].append(row)
    if wrong_state:
        problems.append(f"{len(wrong_state)} alerts not in the newest state sent: {wrong_state[:5]}")

    # 4. at most one open (and one live) incident per correlation key; one ticket per incident
    live = Counter(i["key"] for i in incidents.values() if i["state"] != "closed")
    opened = Counter(i["key"] for i in incidents.values() if i["state"] == "open")
    for what, c in (("not closed", live), ("open", opened)):
        bad = [k for k, n in c.items() if n > 1]
        if bad:
            problems.append(f"keys with more than one {what} incident: {bad[:5]}")
    tickets = Counter(t["incident_id"] for t in store["tickets"])
    numbers = {t["incident_id"]: t["number"] for t in store["tickets"]}
    for i in incidents.values():
        if tickets[i["id"]] != 1:
            problems.append(f"incident {i['id']} has {tickets[i['id']]} tickets")
        elif numbers[i["id"]] != i["ticket"]:
            problems.append(f"incident {i['id']} names ticket {i['ticket']}, its ticket is {numbers[i['id']]}")

    # 5. incident state follows its (only) alert; no more episodes than the alert had firing phases
    inconsistent = []
    for inc_id, its in alerts_of.items():
        inc = incidents[inc_id]
        if len(its) != 1:
            continue
        ident = (its[0]["customer"], its[0]["identity"])
        status = newest[ident][1]
        ok = inc["state"] == "open" if status == "firing" else inc["state"] == "resolved" or inc["settle_at"]
        if not ok:
            inconsistent.append(f"incident {inc_id} is {inc['state']} but its alert last {status}")
        if inc["episode"] > len(firing_starts[ident]):
            problems.append(
                f"incident {inc_id} counts {inc['episode']} episodes; its alert fired in "
                f"{len(firing_starts[ident])} phase(s)"
            )
    if inconsistent:
        problems.append(f"{len(inconsistent)} incidents disagree with their alert: {inconsistent[:5]}")

    figures = {
        "events_stored": len(events),
        "events_acknowledged": acked_events,
        "events_stored_without_ack": stored_unacked,
        "identities": len(newest),
        "incidents": len(incidents),
        "incidents_by_kind": dict(Counter(i["kind"] for i in incidents.values())),
        "episodes": sum(i["episode"] for i in incidents.values()),
        "tickets": len(store["tickets"]),
        "flapping_incidents": sum(1 for i in incidents.values() if i["flapping"]),
        # test_regressions.py: a transaction that waited for another's locks must not act with an older clock
        "incidents_resolved_before_opened": sum(
            1 for i in incidents.values() if i["resolved_at"] is not None and i["resolved_at"] < i["opened_at"]
        ),
    }
    if figures["incidents_resolved_before_opened"]:
        problems.append(f"{figures['incidents_resolved_before_opened']} incidents resolved before they were opened")
    return problems, figures


def check_mail(
    store: dict[str, list[dict[str, Any]]], messages: list[dict[str, Any]]
) -> tuple[list[str], dict[str, Any]]:
    """Curator notices: every message is one the outbox queued; a resend keeps its Message-ID (the
    documented limit after a kill, counted); never two different notices of one kind for one episode;
    a restored notice only after the episode's affected notice; every delivered row was received."""
    problems: list[str] = []
    rows = [r for r in store["outbox"] if r["kind"] == "curator_mail"]
    by_mid = {message_id(r["key"], SENDER): r for r in rows}
    seen: Counter[str] = Counter(m["message_id"] for m in messages)
    first_at: dict[str, int] = {}
    for i, m in enumerate(messages):
        first_at.setdefault(m["message_id"], i)
    per_kind: dict[tuple[int, int, str, str], set[str]] = defaultdict(set)
    for m in messages:
        r = by_mid.get(m["message_id"])
        if r is None:
            problems.append(f"a message no outbox row explains: {m['message_id']} {m['subject']!r}")
            continue
        if m["subject"] != r["payload"]["subject"]:
            problems.append(f"{m['message_id']}: subject {m['subject']!r}, the row says {r['payload']['subject']!r}")
        _, inc, episode, kind, to = r["key"].split(":", 4)
        per_kind[int(inc), int(episode), kind, to].add(m["message_id"])
        if m["headers"].get("X-Alertbridge-Incident") != inc:
            problems.append(f"{m['message_id']}: X-Alertbridge-Incident {m['headers'].get('X-Alertbridge-Incident')}")
    for k, mids in per_kind.items():
        if len(mids) > 1:
            problems.append(f"{len(mids)} different notices for incident {k[0]} episode {k[1]} kind {k[2]}")
    for r in rows:
        mid = message_id(r["key"], SENDER)
        if r["state"] == "delivered" and not seen[mid]:
            problems.append(f"outbox row {r['key']} is delivered but no such message arrived")
        if r["state"] in ("pending", "failed"):
            problems.append(f"outbox row {r['key']} is {r['state']}: {r['last_error']}")
        if r["kind"] == "curator_mail" and r["after_key"] and seen[mid]:
            before = message_id(r["after_key"], SENDER)
            if not seen[before] or first_at[before] > first_at[mid]:
                problems.append(f"{r['key']} arrived before the notice it follows ({r['after_key']})")
    # A cancelled notice is lost unless the config asked for it. With notify_after 0 (these tests) there
    # is no hold-down, so no "affected" notice may be withdrawn; the two ways it once happened are counted
    # apart (test_regressions.py shows each alone):
    # - after a failed attempt its next try lies in the future (the SMTP server refused, the database
    #   was away): test_a_notice_waiting_for_a_retry_is_not_withdrawn;
    # - never attempted, but the recovery was processed with a clock older than the notice's queue time
    #   (a transaction that waited for another's locks): test_a_transaction_that_waited_does_not_act_in_the_past.
    incidents = {i["id"]: i for i in store["incidents"]}
    withdrawn_retry = withdrawn_clock = 0
    for r in rows:
        if r["state"] != "cancelled":
            continue
        inc = incidents.get(r["incident_id"], {})
        hold_down = r["payload"]["kind"] == "affected" and "hold-down" in (r["last_error"] or "")
        if hold_down and r["attempts"] > 0:
            withdrawn_retry += 1
        elif hold_down and r["next_attempt_at"] == r["created_at"]:  # queued due at once: no hold-down at all
            withdrawn_clock += 1
        else:
            problems.append(
                f"notice {r['key']} was cancelled: {r['last_error']} (attempts {r['attempts']}, queued "
                f"{r['created_at']:%H:%M:%S.%f}, due {r['next_attempt_at']:%H:%M:%S.%f}; incident opened "
                f"{inc.get('opened_at')}, resolved {inc.get('resolved_at')})"
            )
    resent = {mid: n for mid, n in seen.items() if n > 1}
    figures = {
        "notices_queued": len(rows),
        "notices_by_state": dict(Counter(r["state"] for r in rows)),
        "messages_received": len(messages),
        "distinct_message_ids": len(seen),
        "resent_same_message_id": sum(n - 1 for n in resent.values()),
        "notices_resent": len(resent),
        "notices_by_kind": dict(Counter(r["payload"]["kind"] for r in rows if seen[message_id(r["key"], SENDER)])),
        "notices_withdrawn_after_failed_attempt": withdrawn_retry,
        "notices_withdrawn_by_older_clock": withdrawn_clock,
    }
    if withdrawn_retry or withdrawn_clock:
        problems.append(
            f"'affected' notices withdrawn without a hold-down: {withdrawn_retry} after a failed attempt, "
            f"{withdrawn_clock} by an older clock"
        )
    return problems, figures


async def check_api(server: Server, session: aiohttp.ClientSession, store: dict[str, Any]) -> list[str]:
    """What the API says agrees with the database: incidents, tickets, the drained outbox."""
    problems: list[str] = []
    status, page = await server.get_json(session, "/api/v1/incidents?limit=5000")
    if status != 200:
        return [f"GET /api/v1/incidents: {status} {page}"]
    api = {i["id"]: i for i in page["incidents"]}
    db = {i["id"]: i for i in store["incidents"]}
    if page["total"] != len(db) or set(api) != set(db):
        problems.append(f"API lists {page['total']} incidents, the database holds {len(db)}")
    for i in api.values():
        if i["ticket"] != db.get(i["id"], {}).get("ticket") or i["state"] != db.get(i["id"], {}).get("state"):
            problems.append(f"incident {i['id']}: API {i['ticket']}/{i['state']} differs from the database")
    for inc_id in random.sample(sorted(db), min(15, len(db))):
        s, one = await server.get_json(session, f"/api/v1/incidents/{inc_id}")
        if s != 200 or not one.get("alerts"):
            problems.append(f"GET /api/v1/incidents/{inc_id}: {s}, alerts {one.get('alerts') if s == 200 else one}")
        s, t = await server.get_json(session, f"/api/v1/tickets/{db[inc_id]['ticket']}")
        if s != 200 or t.get("number") != db[inc_id]["ticket"]:
            problems.append(f"GET /api/v1/tickets/{db[inc_id]['ticket']}: {s}")
    s, ob = await server.get_json(session, "/api/v1/outbox")
    if s != 200 or ob["pending"] or ob["failed"]:
        problems.append(
            f"GET /api/v1/outbox after the quiet period: {s} pending {ob.get('pending')} failed "
            f"{ob.get('failed')} {ob.get('items', [])[:3]}"
        )
    return problems


async def wait_drained(server: Server, session: aiohttp.ClientSession, within: float) -> float:
    """Seconds until GET /api/v1/outbox shows nothing pending (two looks in a row)."""
    start = time.monotonic()
    quiet = 0
    while time.monotonic() - start < within:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            s, ob = await server.get_json(session, "/api/v1/outbox")
            quiet = quiet + 1 if s == 200 and ob["pending"] == 0 else 0
            if quiet >= 2:
                return time.monotonic() - start
        await asyncio.sleep(0.25)
    s, ob = await server.get_json(session, "/api/v1/outbox")
    raise AssertionError(f"outbox not drained after {within}s: {s} {json.dumps(ob, default=str)[:1500]}")


# -- a remote desk: the webhook backend's receiver ---------------------------------------------------
SECRET = "reliability-webhook-secret"


class Receiver:
    """A desk's webhook endpoint: checks signatures, answers 503 while `down`, keeps what it accepted."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []  # {"delivery", "event", "ticket", "data"} in arrival order
        self.refused = 0
        self.bad_signatures = 0
        self.down = False
        self.port = free_port()
        self.runner: web.AppRunner | None = None
        self._ids = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ts = request.headers.get("X-Alertbridge-Timestamp", "")
        if not hmac.compare_digest(signature(SECRET, ts, body), request.headers.get("X-Alertbridge-Signature", "")):
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)
        if self.down:
            self.refused += 1
            return web.Response(status=503, text="desk under maintenance")
        event = json.loads(body)
        self.accepted.append({**event, "delivery": request.headers["X-Alertbridge-Delivery"]})
        if event["event"] == "ticket.opened":
            self._ids += 1
            return web.json_response({"id": f"EXT-{self._ids}"})
        return web.json_response({})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return f"http://127.0.0.1:{self.port}/hook"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()


def desk_config(tmp_path: Path, smtp_url: str, hook_url: str) -> Path:
    return write_config(
        tmp_path / "alertbridge.yaml",
        smtp_url,
        desks={"hook": {"backend": "webhook", "url": hook_url, "token": SECRET, "timeout": 5}},
        desk_customers=["acme", "globex"],
    )


# -- a private PostgreSQL cluster --------------------------------------------------------------------
class PrivateCluster:
    """A PostgreSQL 15 cluster of its own (initdb, pg_ctl), to be stopped and started at will without
    touching the machine's shared server. As root it runs as the `postgres` user (runuser), in a
    0755 directory outside pytest's 0700 temporary tree."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="alertbridge-reliability-pg-"))
        self.home.chmod(0o755)
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"
        self.sock = self.home / "sock"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    @staticmethod
    def available() -> str | None:
        if not (PG_BIN / "initdb").exists():
            return f"no PostgreSQL binaries at {PG_BIN}"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser"
        return None

    def _run(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        argv = ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else list(cmd)
        return subprocess.run(argv, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self.sock.mkdir()
        if self.as_root:
            shutil.chown(self.home, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        r = self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", timeout=120,
        )  # fmt: skip
        assert r.returncode == 0, r.stdout.decode()[-2000:] + r.stderr.decode()[-2000:]

    def start(self) -> float:
        t = time.monotonic()
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.sock} "
            "-c fsync=off -c full_page_writes=off -c max_connections=100"
        )
        r = self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                      "-o", opts, "start", timeout=90)  # fmt: skip
        assert r.returncode == 0, r.stdout.decode()[-2000:] + r.stderr.decode()[-2000:] + self.log_tail()
        return time.monotonic() - t

    def stop(self, mode: str = "immediate") -> None:
        r = self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)
        assert r.returncode == 0, r.stdout.decode()[-2000:] + r.stderr.decode()[-2000:]

    def running(self) -> bool:
        return self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status", timeout=30).returncode == 0

    def create_database(self, name: str = "alertbridge") -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.data.exists() and self.running():
                self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)
