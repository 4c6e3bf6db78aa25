#!/usr/bin/env python3
"""The cost of an alert while open incidents grow: alertbridge on PostgreSQL (a fresh database
alertbridge_growth, dropped at the end), preloaded step by step to N open incidents (100, 1,000, 10,000,
100,000), and at each N the same small storm of fresh identities (3,000 posts over 300 identities,
concurrency 32, 10 % resolves): posts/s, p50/p99, errors, server CPU per 1,000 alerts. Prints the curve.

    .venv/bin/python bench/growth.py                    # up to 100,000 open incidents
    .venv/bin/python bench/growth.py --max-n 10000      # stop earlier
    .venv/bin/python bench/growth.py --ns 100,1000 --storm-alerts 1000 --storm-keys 100

Preload: by posting, through alertbridge's own API, Alertmanager bodies that group --preload-per-body firing
alerts of new identities each (default 500 per body, 4 bodies in flight): every alert is a distinct
identity, so it opens its own incident (no services, dependencies or redundancy groups are configured to
merge them). Nothing is written into the database behind alertbridge's back. Before each measuring storm the
open incidents are counted in the database; the count includes the incidents the previous steps' storms
left open (their fresh identities), so it is a little above N. After a preload the database is vacuumed and
analysed (`VACUUM (ANALYZE)`), so autovacuum's clean-up after the bulk load does not run during the storm and
count as the storm's database CPU.

Bounded: each preload and storm has a deadline (--preload-max-seconds, --storm-max-seconds), the whole run
--max-seconds; a step whose preload does not reach N within its deadline is measured where it got to and
the run stops there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness as h

DB = "alertbridge_growth"


def open_incidents(db: str) -> int:
    return int(h.psql(db, "SELECT count(*) FROM incidents WHERE state = 'open'")[0][0])


def preload(a: argparse.Namespace, ab: h.Alertbridge, step: int, count: int, budget: float) -> dict[str, Any]:
    """`count` new firing identities in grouped bodies: `count` new open incidents."""
    per_body = max(1, min(a.preload_per_body, count))
    args = [
        "--alerts",
        str(math.ceil(count / per_body)),
        "--keys",
        str(count),
        "--per-body",
        str(per_body),
        "--resolve-fraction",
        "0",
        "--concurrency",
        str(a.preload_concurrency),
        "--instance-prefix",
        f"pre{step}-",
        "--seed",
        str(1000 + step),
    ]
    return h.run_storm(args, ab.url("alertmanager"), [ab.auth("alertmanager")], budget, timeout=a.preload_timeout)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="alertbridge: cost of an alert as open incidents grow (PostgreSQL).")
    p.add_argument("--ns", default="100,1000,10000,100000", help="open-incident targets, ascending")
    p.add_argument("--max-n", type=int, help="stop after the last target <= this")
    p.add_argument("--storm-alerts", type=int, default=3000, help="posts of the measuring storm (default 3000)")
    p.add_argument("--storm-keys", type=int, default=300, help="its fresh identities (default 300)")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--resolve-fraction", type=float, default=0.1)
    p.add_argument("--preload-per-body", type=int, default=500, help="alerts per preload body (<= 1000)")
    p.add_argument("--preload-concurrency", type=int, default=4, help="preload bodies in flight (default 4)")
    p.add_argument("--preload-timeout", type=float, default=300, help="per preload request, seconds")
    p.add_argument("--preload-max-seconds", type=float, default=2400, help="per preload step (default 2400)")
    p.add_argument("--storm-max-seconds", type=float, default=300, help="per measuring storm (default 300)")
    p.add_argument("--max-seconds", type=float, default=5400, help="whole run (default 5400)")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    p.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (config, server log)")
    return p


def table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| target N | open incidents at storm | preload alerts | preload alerts/s | posts | posts/s | p50 ms | p99 ms "
        "| errors | server CPU s/1k alerts | DB CPU s/1k | other CPU s | one row per identity |",
        "|" + "---|" * 13,
    ]
    for r in rows:
        s, c = r["storm"], r["check"]
        out.append(
            f"| {r['target']:,} | {r['open_before']:,} | {r['preload_alerts']:,} | {r['preload_alerts_per_s']} "
            f"| {s['posts']:,} | {s['posts_per_s']} | {s['p50_ms']} | {s['p99_ms']} | {s['errors_total']} "
            f"| {r['server_cpu_s_per_1k']} | {r['db_cpu_s_per_1k']} | {r['other_cpu_s']} "
            f"| {'OK' if c['ok'] else 'FAIL'} ({c['expected_identities'] - c['lost']}/{c['expected_identities']}) |"
        )
    return "\n".join(out)


def main() -> int:
    a = parser().parse_args()
    targets = sorted(int(x) for x in a.ns.split(",") if x.strip())
    if a.max_n is not None:
        targets = [n for n in targets if n <= a.max_n]
    if not targets:
        raise SystemExit("no target N left")
    if not 1 <= a.preload_per_body <= 1000:
        raise SystemExit("--preload-per-body must be 1..1000 (alertbridge takes at most 1000 alerts per body)")
    deadline = time.monotonic() + a.max_seconds
    work = Path(tempfile.mkdtemp(prefix="alertbridge-growth-"))
    cl = h.Cleanup()
    cl.install_signals()
    rows: list[dict[str, Any]] = []
    db_pid = h.postmaster_pid()
    head = h.git_head()
    try:
        url = h.create_db(cl, DB)
        ab = h.Alertbridge(cl, work, url, name="ab-growth").start()
        assert ab.proc is not None
        pid = ab.proc.pid
        h.log(f"growth: alertbridge at {ab.base} (pid {pid}) on {url}; targets {targets}")
        for step, target in enumerate(targets):
            have = open_incidents(DB)
            loaded, rate = 0, None
            if target > have:
                budget = min(a.preload_max_seconds, deadline - time.monotonic() - a.storm_max_seconds - 60)
                if budget < 10:
                    h.log("growth: out of time before preloading; stopping")
                    break
                h.log(f"N={target}: preloading {target - have} firing alerts ({have} open now)")
                t0 = time.monotonic()
                pre = preload(a, ab, step, target - have, budget)
                took = time.monotonic() - t0
                loaded = int(pre.get("alerts_posted") or 0)
                rate = round(loaded / took, 1) if took else None
                if pre["errors_total"]:
                    h.log(f"N={target}: preload errors {pre['non_2xx']} {pre['errors']} {pre['samples']}")
            before = open_incidents(DB)
            if loaded:
                # a bulk load leaves autovacuum work behind (PostgreSQL's CPU below is the whole cluster's): done
                # now, so the storm measures the steady state rather than the clean-up after the preload
                t0 = time.monotonic()
                h.psql(DB, "VACUUM (ANALYZE)", timeout=900)
                h.log(f"N={target}: VACUUM (ANALYZE) after the preload took {time.monotonic() - t0:.1f}s")
            h.log(f"N={target}: {before} open incidents; preload {loaded} alerts at {rate}/s; measuring storm")
            sargs = [
                "--alerts",
                str(a.storm_alerts),
                "--keys",
                str(a.storm_keys),
                "--concurrency",
                str(a.concurrency),
                "--resolve-fraction",
                str(a.resolve_fraction),
                "--instance-prefix",
                f"m{step}-",
                "--seed",
                str(step + 1),
            ]
            window = h.CpuWindow(pid, db_pid, DB)
            with h.Sampler(pid, window=window):
                s = h.run_storm(sargs, ab.url("alertmanager"), [ab.auth("alertmanager")], a.storm_max_seconds)
            check = h.check_alertbridge(url, sargs, int(s["posts"]))
            # the check counts this step's identities only: earlier steps' rows are "unexpected" here
            mine = {k: v for k, v in check.items() if k != "unexpected"}
            mine["ok"] = not check["lost"] and not check["several_rows"]
            cpu = window.close(int(s.get("alerts_posted") or s["posts"]), float(s.get("client_cpu_s") or 0.0))
            row = {
                "target": target,
                "open_before": before,
                "preload_alerts": loaded,
                "preload_alerts_per_s": rate,
                "storm": {k: s.get(k) for k in ("posts", "posts_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms")}
                | {"errors_total": s["errors_total"]},
                **cpu,
                "rss_mb": round(h.tree_rss_mb(pid), 1),
                "check": mine,
            }
            rows.append(row)
            h.log(
                f"N={target}: {s['posts']} posts at {s['posts_per_s']}/s, p50 {s['p50_ms']} p99 {s['p99_ms']} ms, "
                f"errors {s['errors_total']}, check {mine['ok']}"
            )
            if loaded and before < target:
                h.log(f"N={target}: the preload did not reach N within its deadline; stopping here")
                break
            if time.monotonic() > deadline:
                h.log("growth: --max-seconds reached; stopping")
                break
    except KeyboardInterrupt:
        h.log("interrupted: stopping what was started")
        raise
    finally:
        cl.run()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    what = (
        f"alertbridge {head}, PostgreSQL; measuring storm: {a.storm_alerts:,} posts over {a.storm_keys} fresh "
        f"identities, concurrency {a.concurrency}, {a.resolve_fraction:.0%} resolves; preload by grouped "
        f"Alertmanager bodies of {a.preload_per_body} firing alerts"
    )
    print(f"\n{what}\n")
    print(table(rows))
    if a.write and rows:
        path = h.BENCH / "RESULTS.md"
        if not path.exists():
            path.write_text("# Benchmark results\n\nWhat each column means: bench/README.md.\n")
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        facts = "; ".join(f"{k} {v}" for k, v in h.machine_facts().items())
        with path.open("a") as f:
            f.write(f"\n## Growth, {when} · {head}\n\n{what}.\n\nMachine: {facts}.\n\n")
            f.write(f"Command: `.venv/bin/python bench/growth.py {' '.join(sys.argv[1:])}`\n\n{table(rows)}\n")
    if a.json:
        Path(a.json).write_text(json.dumps({"head": head, "rows": rows}, indent=1))
    return 0 if rows and all(r["check"]["ok"] for r in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
