#!/usr/bin/env python3
"""alertbridge against its peers, on this machine, in one run, one after another, on the same storm plan:

    ab-pg      alertbridge on PostgreSQL (fresh database alertbridge_bench, dropped at the end)
    ab-sqlite  alertbridge on SQLite (fresh file in a temporary directory)
    alerta     Alerta 9 under gunicorn on PostgreSQL (shared/peers/alerta/run_alerta.sh; Alertmanager only)
    bare       bench/bare.py: parse the JSON, answer 200; the Python ceiling
    pgbench    one-row INSERT transactions at the same concurrency for 20 s: PostgreSQL's commit limit

    .venv/bin/python bench/run.py                      # reference load: 20,000 posts, 2,000 identities, c=32
    .venv/bin/python bench/run.py --quick              # 2,000 posts
    .venv/bin/python bench/run.py --systems ab-pg,bare --source zabbix
    .venv/bin/python bench/run.py --write              # also append the table to bench/RESULTS.md

For each HTTP system: posts/s, latency percentiles, errors (non-2xx + exceptions), server CPU seconds per
1,000 alerts (utime+stime of the server's process tree, from /proc, before/after the storm), the database
server's CPU likewise (PostgreSQL's postmaster tree), peak RSS of the server tree during the storm, its idle
RSS before, and whether it stored exactly one alert per identity. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness as h
import storm

SYSTEMS = ["ab-pg", "ab-sqlite", "alerta", "bare", "pgbench"]
SHARED = h.REPO.parent / "shared"  # the steering repo's shared/, beside this checkout
ALERTA_DIR = Path(os.environ.get("ALERTA_PEER_DIR", SHARED / "peers" / "alerta"))
CHECK_ALERTA = Path(os.environ.get("CHECK_ALERTA", SHARED / "bench" / "check_alerta.py"))
PG_DB = "alertbridge_bench"
ALERTA_DB = "alertbridge_bench_alerta"
IDLE_SETTLE_S = 2.0


def storm_args(a: argparse.Namespace, customer_label: str = "customer") -> list[str]:
    return [
        "--source",
        a.source,
        "--alerts",
        str(a.alerts),
        "--keys",
        str(a.keys),
        "--concurrency",
        str(a.concurrency),
        "--resolve-fraction",
        str(a.resolve_fraction),
        "--per-body",
        str(a.per_body),
        "--seed",
        str(a.seed),
        "--customer-label",
        customer_label,
    ]


def measure(pid: int, db_pid: int | None, db: str | None, run: Any) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Idle RSS, then the storm (`run()`) with CPU before/after and peak RSS sampled while it runs."""
    time.sleep(IDLE_SETTLE_S)
    idle = h.tree_rss_mb(pid)
    window = h.CpuWindow(pid, db_pid, db)
    with h.Sampler(pid, window=window) as sampler:
        result = run()
    alerts = int(result.get("alerts_posted") or result.get("posts") or 1)
    cpu = window.close(alerts, float(result.get("client_cpu_s") or 0.0))
    return result, {"idle_rss_mb": round(idle, 1), "peak_rss_mb": round(sampler.peak_mb, 1), **cpu}


def run_alertbridge(
    a: argparse.Namespace, cl: h.Cleanup, work: Path, system: str, db_pid: int | None
) -> dict[str, Any]:
    sqlite = work / "alertbridge-bench.db"
    for f in (sqlite, sqlite.with_name(sqlite.name + "-wal"), sqlite.with_name(sqlite.name + "-shm")):
        f.unlink(missing_ok=True)
    url = h.create_db(cl, PG_DB) if system == "ab-pg" else f"sqlite:///{sqlite}"
    ab = h.Alertbridge(cl, work, url, name=system, workers=a.workers if system == "ab-pg" else 1).start()
    assert ab.proc is not None
    sargs = storm_args(a)
    pg_pid = db_pid if system == "ab-pg" else None
    h.log(f"{system}: serving at {ab.base} (pid {ab.proc.pid}); storm {a.alerts} posts")
    result, res = measure(
        ab.proc.pid,
        pg_pid,
        PG_DB,
        lambda: h.run_storm(sargs, ab.url(a.source), [ab.auth(a.source)], a.max_seconds),
    )
    check = h.check_alertbridge(url, sargs, int(result["posts"]))
    check["incidents"] = h.incident_states(url)
    ab.stop()
    if system == "ab-pg":
        cl.pop(f"drop {PG_DB}")
    return {"system": system, "storm": result, "resources": res, "check": check}


def run_alerta(a: argparse.Namespace, cl: h.Cleanup, work: Path, db_pid: int | None) -> dict[str, Any]:
    if a.source != "alertmanager":
        return {"system": "alerta", "skipped": "Alerta is benchmarked at its Prometheus webhook only"}
    home = work / "alerta"
    port = h.free_port()
    env = dict(os.environ)
    env.update(
        ALERTA_HOME=str(home),
        ALERTA_PORT=str(port),
        ALERTA_DB=ALERTA_DB,
        ALERTA_WORKERS=str(a.alerta_workers),
        ALERTA_FRESH="1",
        PGURL=h.PG_URL,
    )
    env.pop("ALERTA_AUTH", None)
    stop = ALERTA_DIR / "stop_alerta.sh"
    cl.push(f"drop {ALERTA_DB}", lambda: h.drop_db(ALERTA_DB))
    cl.push("alerta", lambda: h.log(h.run_cmd([str(stop)], 60, env=env, check=False).strip() or "alerta stopped"))
    out = h.run_cmd([str(ALERTA_DIR / "run_alerta.sh")], 900, env=env)  # installs it the first time
    api, pid_s = out.split()[:2]
    pid = int(pid_s)
    h.log(f"alerta: {a.alerta_workers} gunicorn workers at {api} (master pid {pid}); storm {a.alerts} posts")
    sargs = storm_args(a, customer_label="tenant")  # auth off: Alerta refuses a `customer` label
    result, res = measure(
        pid, db_pid, ALERTA_DB, lambda: h.run_storm(sargs, f"{api}/webhooks/prometheus", [], a.max_seconds)
    )
    check = check_alerta_sql(sargs, int(result["posts"]))
    storm_json = work / "alerta-storm.json"
    storm_json.write_text(json.dumps(result) + "\n")
    cmd = ["python3", str(CHECK_ALERTA), "--url", api, "--storm-json", str(storm_json)]
    raw = h.run_cmd([*cmd, "--pg", f"{h.PG_URL}/{ALERTA_DB}"], 600, check=False)
    try:
        check["check_alerta_py"] = json.loads(raw.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        check["check_alerta_py"] = {"error": f"{exc}: {raw[-300:]}"}
    cl.pop("alerta")
    cl.pop(f"drop {ALERTA_DB}")
    return {"system": "alerta", "workers": a.alerta_workers, "storm": result, "resources": res, "check": check}


def check_alerta_sql(sargs: list[str], posts: int) -> dict[str, Any]:
    """Alerta's rows in its database: one per identity (environment, resource, event, customer), where its
    Prometheus webhook takes resource = label instance, event = alertname, environment = Production (no
    `environment` label is sent) and no customer (the tenant travels as label `tenant`)."""
    plan = storm.make_plan(h.storm_namespace(sargs, posts))
    expected = {
        ("Production", labels["instance"], labels["alertname"], ""): plan.last_status[n]
        for n, labels in enumerate(plan.identities)
        if plan.notifications[n]
    }
    rows = h.psql(
        ALERTA_DB,
        "SELECT environment, resource, event, coalesce(customer, ''), count(*), max(status) FROM alerts "
        "GROUP BY environment, resource, event, coalesce(customer, '')",
    )
    per = {(e, r, ev, c): (int(n), st) for e, r, ev, c, n, st in rows}
    lost = [k for k in expected if k not in per]
    several = [k for k, (n, _) in per.items() if n > 1]
    unexpected = [k for k in per if k not in expected]
    final = {"firing": "open", "resolved": "closed"}
    off = [k for k, st in expected.items() if k in per and per[k][1] != final.get(st or "", "")]
    return {
        "ok": not lost and not several and not unexpected,
        "unit": "identities",
        "expected_identities": len(expected),
        "rows": sum(n for n, _ in per.values()),
        "distinct_identities": len(per),
        "lost": len(lost),
        "several_rows": len(several),
        "unexpected": len(unexpected),
        "final_status_mismatches": len(off),
    }


def run_bare(a: argparse.Namespace, cl: h.Cleanup, work: Path) -> dict[str, Any]:
    port = h.free_port()
    logf = (work / "bare.log").open("w")
    cl.push("close bare log", logf.close)
    proc = h.spawn(cl, "bare", [str(h.PYTHON), str(h.BENCH / "bare.py"), "--listen", f"127.0.0.1:{port}"], out=logf)
    h.wait_http(f"http://127.0.0.1:{port}/readyz", 30, alive=lambda: proc.poll() is None)
    h.log(f"bare: at 127.0.0.1:{port} (pid {proc.pid}); storm {a.alerts} posts")
    url = f"http://127.0.0.1:{port}/api/v1/{a.source}"
    result, res = measure(proc.pid, None, None, lambda: h.run_storm(storm_args(a), url, [], a.max_seconds))
    cl.pop("bare")
    return {"system": "bare", "storm": result, "resources": res, "check": {"ok": None}}


def run_pgbench(a: argparse.Namespace, cl: h.Cleanup, work: Path, db_pid: int | None) -> dict[str, Any]:
    exe = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    h.create_db(cl, PG_DB)
    h.psql(PG_DB, "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, k integer NOT NULL, v text NOT NULL)")
    script = work / "insert.sql"
    script.write_text("\\set k random(1, 1000000)\nINSERT INTO bench_insert (k, v) VALUES (:k, 'alert');\n")
    logdir = work / "pgbench-log"
    logdir.mkdir(exist_ok=True)
    h.log(f"pgbench: {a.concurrency} clients, {a.pgbench_seconds} s of one-row INSERT transactions")
    cmd = [exe, "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-n", "-c", str(a.concurrency)]
    cmd += ["-j", str(min(a.concurrency, os.cpu_count() or 1)), "-T", str(a.pgbench_seconds), "-f", str(script)]
    cmd += ["-l", "--log-prefix", str(logdir / "tx"), PG_DB]
    out_path = work / "pgbench.out"
    start = h.backends_cpu(db_pid, PG_DB) if db_pid else {}
    last = dict(start)
    cluster0 = h.tree_cpu(db_pid) if db_pid else 0.0
    busy0, total0 = h.machine_cpu()
    t0 = os.times()
    with out_path.open("w") as out_file:
        proc = h.spawn(cl, "pgbench", cmd, out=out_file)
        deadline = time.monotonic() + a.pgbench_seconds + 120
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
            if db_pid:  # its backends exit with it: keep their last figures
                last.update(h.backends_cpu(db_pid, PG_DB))
        cl.pop("pgbench")
    if proc.returncode:
        raise RuntimeError(f"pgbench exited {proc.returncode}: {out_path.read_text()[-500:]}")
    out = out_path.read_text()
    db_cpu = h.tree_cpu(db_pid) - cluster0 if db_pid else None
    backends = sum(c - start.get(p, 0.0) for p, c in last.items()) if db_pid else None
    busy1, total1 = h.machine_cpu()
    t1 = os.times()  # pgbench itself, reaped by us
    client = (t1.children_user + t1.children_system) - (t0.children_user + t0.children_system)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    avg = re.search(r"latency average = ([\d.]+) ms", out)
    tx = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    lat: list[float] = []
    for f in logdir.iterdir():
        with f.open() as fh:
            lat.extend(int(line.split()[2]) / 1000 for line in fh if line.strip())
    lat.sort()
    rows = h.psql(PG_DB, "SELECT count(*) FROM bench_insert")[0][0]
    cl.pop(f"drop {PG_DB}")
    n = int(tx.group(1)) if tx else len(lat)
    return {
        "system": "pgbench",
        "storm": {
            "posts": n,
            "posts_per_s": float(tps.group(1)) if tps else None,
            "mean_ms": float(avg.group(1)) if avg else None,
            "p50_ms": storm.pct(lat, 0.50),
            "p95_ms": storm.pct(lat, 0.95),
            "p99_ms": storm.pct(lat, 0.99),
            "max_ms": round(lat[-1], 2) if lat else None,
            "errors_total": int(failed.group(1)) if failed else 0,
            "concurrency": a.concurrency,
            "seconds": a.pgbench_seconds,
        },
        "resources": {
            "db_cpu_s": round(db_cpu, 2) if db_cpu is not None else None,
            "db_cpu_s_per_1k": round(db_cpu * 1000 / max(1, n), 3) if db_cpu is not None else None,
            "db_backends_cpu_s": round(backends, 2) if backends is not None else None,
            "machine_busy_pct": round(100 * (busy1 - busy0) / (total1 - total0), 1) if total1 > total0 else None,
            "client_cpu_s": round(client, 2),
            "other_cpu_s": round((busy1 - busy0) - (db_cpu or 0.0) - client, 1),
        },
        "check": {"ok": int(rows) == n, "rows": int(rows)},
    }


# -- report --------------------------------------------------------------------------------------
def _f(v: Any, nd: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


NAMES = {
    "ab-pg": "alertbridge, PostgreSQL",
    "ab-sqlite": "alertbridge, SQLite",
    "alerta": "Alerta (gunicorn, PostgreSQL)",
    "bare": "bare aiohttp handler",
    "pgbench": "pgbench one-row INSERT",
}


def _check_text(r: dict[str, Any]) -> str:
    c = r.get("check") or {}
    if r["system"] == "bare":
        return "- (stores nothing)"
    if r["system"] == "pgbench":
        return f"{_f(c.get('rows'))} rows = transactions" if c.get("ok") else f"rows {_f(c.get('rows'))} (mismatch)"
    if "error" in c:
        return f"check failed: {c['error'][:80]}"
    verdict = "OK" if c.get("ok") else "FAIL"
    found = (c.get("expected_identities") or 0) - (c.get("lost") or 0)
    text = f"{verdict}: {_f(found)}/{_f(c.get('expected_identities'))} {c.get('unit', 'identities')}, "
    text += f"{_f(c.get('rows'))} rows, lost {c.get('lost')}, >1 row {c.get('several_rows')}"
    if c.get("unexpected"):
        text += f", unexpected {c['unexpected']}"
    if c.get("final_status_mismatches"):
        text += f", last status off {c['final_status_mismatches']}"
    return text


def busy_machine(r: dict[str, Any]) -> bool:
    """Other load took more than a tenth of the machine during the storm: the row is not to be trusted."""
    other = (r.get("resources") or {}).get("other_cpu_s")
    wall = (r.get("storm") or {}).get("wall_s") or (r.get("storm") or {}).get("seconds")
    return bool(other is not None and wall and other > max(2.0, 0.1 * float(wall) * (os.cpu_count() or 1)))


def wait_idle(limit: float) -> float | None:
    """Wait (at most `limit` s) until the machine is quiet: under 15 % busy over 5 s. Returns the last busy %."""
    deadline = time.monotonic() + limit
    pct = None
    while True:
        b0, t0 = h.machine_cpu()
        time.sleep(5)
        b1, t1 = h.machine_cpu()
        pct = 100 * (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
        if pct < 15 or time.monotonic() >= deadline:
            return round(pct, 1)
        h.log(f"machine {pct:.0f} % busy: waiting for quiet (up to {deadline - time.monotonic():.0f} s more)")


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| system | posts | posts/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU s/1k alerts "
        "| DB CPU s/1k | peak RSS MB | idle RSS MB | other CPU s | one row per identity |"
    )
    lines = [head, "|" + "---|" * 14]
    for r in results:
        name = NAMES.get(r["system"], r["system"])
        if r.get("workers"):
            name += f", {r['workers']} workers"
        if "skipped" in r or "error" in r:
            lines.append(f"| {name} | {r.get('skipped') or 'ERROR: ' + r['error'][:150]} |" + " |" * 12)
            continue
        s, res = r["storm"], r.get("resources", {})
        rate = _f(s.get("posts_per_s"))
        if r["system"] == "pgbench":
            rate += " tx/s"
        elif s.get("per_body", 1) != 1:
            rate += f" ({_f(s.get('alerts_per_s'))} alerts/s)"
        posts = _f(s.get("posts"))
        if s.get("stopped_by_deadline"):
            posts += f" of {_f(s.get('planned'))} (deadline)"
        errors = s.get("errors_total", 0)
        cells = [
            name,
            posts,
            rate,
            _f(s.get("p50_ms"), 2),
            _f(s.get("p95_ms"), 2),
            _f(s.get("p99_ms"), 2),
            _f(s.get("max_ms"), 2),
            _f(errors) + (f" {s.get('non_2xx') or ''}{s.get('errors') or ''}" if errors else ""),
            _f(res.get("server_cpu_s_per_1k"), 2),
            _f(res.get("db_cpu_s_per_1k"), 2),
            _f(res.get("peak_rss_mb")),
            _f(res.get("idle_rss_mb")),
            _f(res.get("other_cpu_s")) + (" (busy machine)" if busy_machine(r) else ""),
            _check_text(r),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe(a: argparse.Namespace) -> str:
    return (
        f"{a.source} bodies, {a.alerts:,} posts over {a.keys:,} identities, {a.per_body} alert(s) per body, "
        f"concurrency {a.concurrency}, {a.resolve_fraction:.0%} resolves, seed {a.seed}; "
        f"pgbench {a.pgbench_seconds} s at {a.concurrency} clients"
    )


def write_results(
    a: argparse.Namespace, results: list[dict[str, Any]], facts: dict[str, str], when: str, head: str
) -> Path:
    path = h.BENCH / "RESULTS.md"
    if not path.exists():
        path.write_text(
            "# Benchmark results\n\nAppended by `bench/run.py --write`; what each column means: bench/README.md.\n"
        )
    clients = ", ".join(
        f"{r['system']} {r['storm'].get('client_cpu_s')} s" for r in results if r.get("storm", {}).get("client_cpu_s")
    )
    text = [
        "",
        f"## {when} · {head}",
        "",
        f"Load: {describe(a)}. Storm, servers and PostgreSQL share this machine.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()) + ".",
        "",
        f"Command: `{' '.join(['.venv/bin/python', 'bench/run.py', *sys.argv[1:]])}`",
        "",
        table(results),
        "",
        f"Storm client CPU (the load generator, same machine): {clients}.",
        "",
    ]
    with path.open("a") as f:
        f.write("\n".join(text))
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="alertbridge vs Alerta, a bare handler and pgbench, on this machine.")
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    p.add_argument("--source", choices=["alertmanager", "zabbix"], default="alertmanager")
    p.add_argument("--alerts", type=int, default=20000, help="posts in the storm (default 20000)")
    p.add_argument("--keys", type=int, default=2000, help="identities (default 2000)")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight, pgbench clients (default 32)")
    p.add_argument("--resolve-fraction", type=float, default=0.1, help="posts that resolve (default 0.1)")
    p.add_argument("--per-body", type=int, default=1, help="Alertmanager alerts per body (default 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="2,000 posts (unless --alerts is given)")
    p.add_argument("--max-seconds", type=float, default=600, help="per storm: no new post after this (default 600)")
    p.add_argument("--pgbench-seconds", type=int, default=20)
    p.add_argument("--alerta-workers", type=int, default=2)
    p.add_argument("--workers", type=int, default=1, help="alertbridge server processes on PostgreSQL (default 1)")
    p.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    p.add_argument("--json", help="also write every figure as JSON to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (configs, logs)")
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="S",
        help="before each system, wait up to S seconds for the machine to be under 15%% busy (default 0: no wait)",
    )
    return p


def main() -> int:
    argv = sys.argv[1:]
    a = parser().parse_args(argv)
    if a.quick and "--alerts" not in argv:
        a.alerts = 2000
    systems = [s.strip() for s in a.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise SystemExit(f"unknown system(s) {unknown}; choose from {SYSTEMS}")
    if a.source == "zabbix" and a.per_body != 1:
        raise SystemExit("--per-body is for Alertmanager bodies")
    storm.check_args(h.storm_namespace(storm_args(a)))
    if not h.ALERTBRIDGE.exists() and any(s.startswith("ab-") for s in systems):
        raise SystemExit(f"{h.ALERTBRIDGE} is missing: run `make dev` in {h.REPO}")
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = h.git_head()
    facts = h.machine_facts()
    work = Path(tempfile.mkdtemp(prefix="alertbridge-bench-"))
    cl = h.Cleanup()
    cl.install_signals()
    results: list[dict[str, Any]] = []
    h.log(f"run.py: {describe(a)}; systems {systems}; work dir {work}")
    db_pid = h.postmaster_pid()
    try:
        for system in systems:
            busy_before = wait_idle(a.wait_idle) if a.wait_idle > 0 else None
            t0 = time.monotonic()
            try:
                if system.startswith("ab-"):
                    r = run_alertbridge(a, cl, work, system, db_pid)
                elif system == "alerta":
                    r = run_alerta(a, cl, work, db_pid)
                elif system == "bare":
                    r = run_bare(a, cl, work)
                else:
                    r = run_pgbench(a, cl, work, db_pid)
            except Exception as exc:
                r = {"system": system, "error": f"{type(exc).__name__}: {exc}"}
                h.log(f"{system}: {r['error']}")
            finally:
                cl.run()  # whatever this system left running or created
            r["elapsed_s"] = round(time.monotonic() - t0, 1)
            r["machine_busy_pct_before"] = busy_before
            results.append(r)
            s = r.get("storm") or {}
            h.log(
                f"{system}: {s.get('posts')} posts, {s.get('posts_per_s')}/s, p99 {s.get('p99_ms')} ms, "
                f"errors {s.get('errors_total')}, check {(r.get('check') or {}).get('ok')} ({r['elapsed_s']} s)"
            )
    except KeyboardInterrupt:
        h.log("interrupted: stopping what was started")
        cl.run()
        raise
    finally:
        cl.run()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{when} · {head} · {describe(a)}\n")
    print(table(results))
    print("\nmachine: " + "; ".join(f"{k} {v}" for k, v in facts.items()))
    if a.json:
        Path(a.json).write_text(json.dumps({"when": when, "head": head, "facts": facts, "results": results}, indent=1))
    if a.write:
        path = write_results(a, results, facts, when, head)
        h.log(f"appended to {path}")
    return 0 if all((r.get("check") or {}).get("ok") is not False and "error" not in r for r in results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
