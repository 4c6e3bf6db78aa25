"""What run.py and growth.py share: starting and stopping what they measure, /proc sampling, PostgreSQL
databases, alertbridge's benchmark configuration, running storm.py and checking what alertbridge stored.

Everything started here is registered with `Cleanup` and stopped by process group id on exit, Ctrl-C or
SIGTERM; every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import storm  # bench/storm.py: run from bench/ (python bench/run.py puts it on sys.path)

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV_BIN = REPO / ".venv" / "bin"
ALERTBRIDGE = VENV_BIN / "alertbridge"
PYTHON = VENV_BIN / "python" if (VENV_BIN / "python").exists() else Path(sys.executable)
PG_URL = "postgresql://postgres@127.0.0.1:5432"
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
AVOID_PORTS = {8080, 18090}
TOKENS = {
    "alertmanager": "bench-alertmanager-token-0000000000",
    "zabbix": "bench-zabbix-token-000000000000000000",
    "read": "bench-reader-token-00000000000000000",
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- cleanup -------------------------------------------------------------------------------------
class Cleanup:
    """Stops what was started, newest first: process groups (by id) and callbacks. Idempotent."""

    def __init__(self) -> None:
        self._items: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()

    def push(self, name: str, fn: Callable[[], None]) -> None:
        with self._lock:
            self._items.append((name, fn))

    def pop(self, name: str) -> None:
        """Run the newest item of that name now and forget it."""
        with self._lock:
            for i in range(len(self._items) - 1, -1, -1):
                if self._items[i][0] == name:
                    _, fn = self._items.pop(i)
                    break
            else:
                return
        _safe(name, fn)

    def run(self) -> None:
        while True:
            with self._lock:
                if not self._items:
                    return
                name, fn = self._items.pop()
            _safe(name, fn)

    def install_signals(self) -> None:
        """SIGINT (also when started in the background, where it is ignored by default), SIGTERM and SIGHUP
        raise KeyboardInterrupt: the finally clauses stop what was started."""

        def handler(signum: int, _frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, handler)


def _safe(name: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception as exc:  # cleanup goes on whatever one step does
        log(f"cleanup {name}: {type(exc).__name__}: {exc}")


def stop_group(proc: subprocess.Popen[Any], grace: float = 15.0) -> None:
    """TERM to the process group we created for `proc`, KILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def spawn(
    cleanup: Cleanup, name: str, cmd: list[str], env: dict[str, str] | None = None, out: TextIO | None = None
) -> subprocess.Popen[Any]:
    """Start `cmd` in a new session (its own process group), registered for cleanup."""
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=out or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if out else subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=REPO,
    )
    cleanup.push(name, lambda: stop_group(proc))
    return proc


def run_cmd(cmd: list[str], timeout: float, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run to completion (own process group, killed at the deadline); returns stdout."""
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=REPO,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    if check and proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:3])}... exited {proc.returncode}: {err.strip()[-800:]}")
    return out


def free_port() -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in AVOID_PORTS:
            return port
    raise RuntimeError("no free port")


def wait_http(url: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server exited before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
                last = str(r.status)
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s ({last})")


# -- /proc ---------------------------------------------------------------------------------------
def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user+system) of the tree's live processes, plus what the root reaped (cutime+cstime)."""
    total = 0.0
    for p in tree(pid):
        try:
            f = _stat(p)
        except OSError:
            continue
        total += int(f[11]) + int(f[12])
        if p == pid:
            total += int(f[13]) + int(f[14])
    return total / TICK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v) - idle) / TICK, sum(v) / TICK


def backends_cpu(postmaster: int, db: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to database `db` (by its process title)."""
    out: dict[int, float] = {}
    for p in tree(postmaster)[1:]:
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace")
            if f" {db} " not in title:
                continue
            fields = _stat(p)
            out[p] = (int(fields[11]) + int(fields[12])) / TICK
        except OSError:
            pass
    return out


class CpuWindow:
    """CPU used during a window: by the server tree; by PostgreSQL (the postmaster's whole tree, backends it
    reaped included: right for a peer that connects per request, but it also counts other databases' work);
    by the backends connected to the server's database only (sampled with `sample()`; a backend that exits
    between samples loses its last part, so this misses per-request connections); and by the machine as a
    whole. `other_cpu_s` = machine busy minus server, PostgreSQL and `client_s`: load that was not ours. A test
    suite or another benchmark at the same time makes the window's figures unreliable."""

    def __init__(self, pid: int, postmaster: int | None = None, db: str | None = None) -> None:
        self.pid, self.postmaster, self.db = pid, postmaster, db
        self.server0 = tree_cpu(pid)
        self.cluster0 = tree_cpu(postmaster) if postmaster else 0.0
        self.db_start = self._db() or {}
        self.db_last = dict(self.db_start)
        self.busy0, self.total0 = machine_cpu()

    def _db(self) -> dict[int, float] | None:
        if not self.postmaster or not self.db:
            return None
        return backends_cpu(self.postmaster, self.db)

    def sample(self) -> None:
        now = self._db()
        if now:
            self.db_last.update(now)

    def close(self, alerts: int, client_s: float) -> dict[str, float | None]:
        server = tree_cpu(self.pid) - self.server0
        self.sample()
        db = tree_cpu(self.postmaster) - self.cluster0 if self.postmaster else None
        backends = None
        if self.postmaster and self.db:
            backends = sum(c - self.db_start.get(p, 0.0) for p, c in self.db_last.items())
        busy1, total1 = machine_cpu()
        busy = busy1 - self.busy0
        alerts = max(1, alerts)
        return {
            "server_cpu_s": round(server, 2),
            "server_cpu_s_per_1k": round(server * 1000 / alerts, 2),
            "db_cpu_s": round(db, 2) if db is not None else None,
            "db_cpu_s_per_1k": round(db * 1000 / alerts, 2) if db is not None else None,
            "db_backends_cpu_s": round(backends, 2) if backends is not None else None,
            "machine_busy_pct": round(100 * busy / (total1 - self.total0), 1) if total1 > self.total0 else None,
            "other_cpu_s": round(busy - server - (db or 0.0) - client_s, 1),
        }


def tree_rss_mb(pid: int) -> float:
    kb = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/statm") as f:
                kb += int(f.read().split()[1]) * PAGE_KB
        except OSError:
            pass
    return kb / 1024


class Sampler:
    """Peak RSS of a process tree, sampled every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.25, window: CpuWindow | None = None) -> None:
        self.pid, self.interval, self.window = pid, interval, window
        self.peak_mb = tree_rss_mb(pid)
        self.samples = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))
            if self.window:
                self.window.sample()
            self.samples += 1

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak_mb = max(self.peak_mb, tree_rss_mb(self.pid))


# -- PostgreSQL ----------------------------------------------------------------------------------
def psql(db: str, sql: str, timeout: float = 120) -> list[list[str]]:
    out = run_cmd(["psql", f"{PG_URL}/{db}", "-X", "-v", "ON_ERROR_STOP=1", "-Atqc", sql], timeout)
    return [line.split("|") for line in out.splitlines() if line]


def create_db(cleanup: Cleanup, name: str) -> str:
    """A fresh database (dropped first if it exists), dropped again at cleanup. Returns its URL."""
    drop_db(name)
    psql("postgres", f'CREATE DATABASE "{name}"')
    cleanup.push(f"drop {name}", lambda: drop_db(name))
    return f"{PG_URL}/{name}"


def drop_db(name: str) -> None:
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postmaster_pid() -> int | None:
    try:
        data = psql("postgres", "SHOW data_directory")[0][0]
        with open(Path(data) / "postmaster.pid") as f:
            return int(f.readline())
    except (OSError, ValueError, IndexError, RuntimeError):
        return None


# -- alertbridge ---------------------------------------------------------------------------------
def write_config(path: Path, customers: int = 50) -> Path:
    """The benchmark configuration: customers cust000.. matched by label and Zabbix tag, three tokens,
    no SMTP (curator notices stay queued in the outbox)."""
    lines = [
        "listen: 127.0.0.1:8080",
        "database_url: sqlite:///unused-ALERTBRIDGE_DATABASE_URL-overrides-it.db",
        "public_url: http://127.0.0.1:8080",
        "system_requester: Monitoring",
        "msp_name: Bench MSP",
        "unmatched_customer: null",
        "tokens:",
        "  - name: alertmanager",
        f"    token: {TOKENS['alertmanager']}",
        "    scopes: [alertmanager]",
        "  - name: zabbix",
        f"    token: {TOKENS['zabbix']}",
        "    scopes: [zabbix]",
        "  - name: reader",
        f"    token: {TOKENS['read']}",
        "    scopes: [read]",
        "mail:",
        '  smtp_url: ""',
        '  sender: "Bench <desk@bench.example>"',
        "customers:",
    ]
    for n in range(customers):
        c = f"cust{n:03d}"
        lines += [
            f"  - id: {c}",
            f"    name: Customer {n}",
            "    curators:",
            f"      - name: Curator {n}",
            f"        email: curator@{c}.example",
            "    match:",
            f"      labels: {{customer: {c}}}",
            f"      tags: {{customer: {c}}}",
        ]
    # e.g. AB_BENCH_INGEST="writers=4,max_batch=64": try other group-commit settings on the same storm
    extra = os.environ.get("AB_BENCH_INGEST", "")
    if extra:
        lines.append("ingest:")
        lines += [f"  {k.strip()}: {v.strip()}" for k, v in (kv.split("=", 1) for kv in extra.split(","))]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Alertbridge:
    """One alertbridge server: migrated database, `serve` in its own process group, ready."""

    cleanup: Cleanup
    workdir: Path
    database_url: str
    name: str = "alertbridge"
    workers: int = 1
    port: int = 0
    proc: subprocess.Popen[Any] | None = None
    log_path: Path = field(default_factory=Path)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTBRIDGE_")}
        env["ALERTBRIDGE_DATABASE_URL"] = self.database_url
        return env

    def start(self, ready_timeout: float = 90) -> Alertbridge:
        config = write_config(self.workdir / f"{self.name}.yaml")
        run_cmd([str(ALERTBRIDGE), "migrate", "--config", str(config)], 180, env=self.env())
        self.port = free_port()
        self.log_path = self.workdir / f"{self.name}.log"
        out = self.log_path.open("w")
        self.cleanup.push(f"close {self.name} log", out.close)
        cmd = [str(ALERTBRIDGE), "serve", "--config", str(config), "--listen", f"127.0.0.1:{self.port}"]
        cmd += ["--workers", str(self.workers)]
        self.proc = spawn(self.cleanup, self.name, [*cmd, "--no-migrate"], env=self.env(), out=out)
        proc = self.proc
        try:
            wait_http(f"{self.base}/readyz", ready_timeout, alive=lambda: proc.poll() is None)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; log: {self.log_path}: {self.log_tail()}") from None
        return self

    def stop(self) -> None:
        self.cleanup.pop(self.name)

    def log_tail(self, n: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def url(self, source: str) -> str:
        return f"{self.base}/api/v1/{source}"

    def auth(self, source: str) -> str:
        return f"Authorization: Bearer {TOKENS[source]}"


def run_storm(
    storm_args: list[str], url: str, headers: list[str], max_seconds: float, timeout: float = 30
) -> dict[str, Any]:
    """storm.py in a child process (its CPU is not ours to count); its JSON summary."""
    cmd = [str(PYTHON), str(BENCH / "storm.py"), *storm_args, "--url", url, "--max-seconds", str(max_seconds)]
    cmd += ["--timeout", str(timeout)]
    for h in headers:
        cmd += ["--header", h]
    out = run_cmd(cmd, max_seconds + timeout + 180)
    return dict(json.loads(out.strip().splitlines()[-1]))


def storm_namespace(storm_args: list[str], posts: int | None = None) -> Any:
    """storm.py's parsed flags (for its plan), optionally cut to the first `posts` posts."""
    ns = storm.parser().parse_args(storm_args)
    if posts is not None:
        ns.alerts = posts
    return ns


def stored_rows(database_url: str) -> list[tuple[str, str, str, int, str]]:
    """alertbridge's alerts, one line per (customer, source, identity): row count, a status."""
    sql = "SELECT customer, source, identity, count(*), max(status) FROM alerts GROUP BY customer, source, identity"
    if database_url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(database_url[len("sqlite:///") :], timeout=60)
        try:
            return [(str(a), str(b), str(c), int(d), str(e)) for a, b, c, d, e in con.execute(sql)]
        finally:
            con.close()
    db = database_url.rsplit("/", 1)[1]
    return [(a, b, c, int(d), e) for a, b, c, d, e in psql(db, sql)]


def check_alertbridge(database_url: str, storm_args: list[str], posts: int) -> dict[str, Any]:
    """Every identity the first `posts` posts carried must have exactly one row in `alerts`
    (customer, source, identity: the Alertmanager fingerprint or the Zabbix event id), none other;
    the row's status should be the last notification's."""
    plan = storm.make_plan(storm_namespace(storm_args, posts))
    expected = plan.expected_rows
    rows = stored_rows(database_url)
    per = {(c, s, i): (n, st) for c, s, i, n, st in rows}
    lost = [k for k in expected if k not in per]
    several = [k for k, (n, _) in per.items() if n > 1]
    unexpected = [k for k in per if k not in expected]
    status_off = [k for k, st in expected.items() if k in per and per[k][1] != st]
    ok = not lost and not several and not unexpected
    return {
        "ok": ok,
        "unit": "Zabbix events" if plan.docs is not None else "identities",
        "expected_identities": len(expected),
        "rows": sum(n for n, _ in per.values()),
        "distinct_identities": len(per),
        "lost": len(lost),
        "lost_sample": [list(k) for k in lost[:3]],
        "several_rows": len(several),
        "several_sample": [list(k) for k in several[:3]],
        "unexpected": len(unexpected),
        "final_status_mismatches": len(status_off),
        "status_counts": dict(Counter(st for _, st in per.values())),
    }


def incident_states(database_url: str) -> dict[str, int]:
    sql = "SELECT state, count(*) FROM incidents GROUP BY state"
    if database_url.startswith("sqlite:///"):
        import sqlite3

        con = sqlite3.connect(database_url[len("sqlite:///") :], timeout=60)
        try:
            return {str(s): int(n) for s, n in con.execute(sql)}
        finally:
            con.close()
    return {s: int(n) for s, n in psql(database_url.rsplit("/", 1)[1], sql)}


# -- facts ---------------------------------------------------------------------------------------
def git_head() -> str:
    try:
        head = run_cmd(["git", "rev-parse", "--short", "HEAD"], 20).strip()
        dirty = run_cmd(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], 20).strip()
        return head + ("+dirty" if dirty else "")
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine_facts() -> dict[str, str]:
    facts = {"nproc": str(os.cpu_count()), "kernel": platform.release(), "python": platform.python_version()}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        facts["memory"] = f"{int(mem) / 1024 / 1024:.1f} GiB"
    with contextlib.suppress(RuntimeError, OSError, subprocess.TimeoutExpired, IndexError):
        facts["postgresql"] = psql("postgres", "SHOW server_version")[0][0]
    with contextlib.suppress(RuntimeError, OSError, subprocess.TimeoutExpired):
        facts["aiohttp/SQLAlchemy"] = run_cmd(
            [
                str(PYTHON),
                "-c",
                "import aiohttp, sqlalchemy; print(aiohttp.__version__ + ' / ' + sqlalchemy.__version__)",
            ],
            60,
        ).strip()
    return facts
