"""Runs the reliability tests and regenerates RELIABILITY.md with what they measured.

    .venv/bin/python scripts/reliability_report.py              # run `pytest -m reliability`, write RELIABILITY.md
    .venv/bin/python scripts/reliability_report.py --no-run     # rewrite RELIABILITY.md from the last run's files
    .venv/bin/python scripts/reliability_report.py -- -k kill9  # extra pytest arguments after --

The tests write their figures (kills survived, requests acknowledged and stored, duplicates, 503s,
recovery times...) as JSON files into the directory named by ALERTBRIDGE_RELIABILITY_OUT; this script
sets it (default var/reliability/), asks pytest for a JUnit report there, and turns both into Markdown
with the date and the commit (`git rev-parse --short HEAD`). Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASH = "–"


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def run_pytest(out: Path, extra: list[str], timeout: float) -> tuple[int, list[str]]:
    python = ROOT / ".venv" / "bin" / "python"
    cmd = [
        str(python if python.exists() else sys.executable),
        "-m",
        "pytest",
        "-m",
        "reliability",
        "tests/reliability",
        f"--junitxml={out / 'junit.xml'}",
        "-p",
        "no:cacheprovider",
        "-rA",
        *extra,
    ]
    for old in [*out.glob("*.json"), out / "junit.xml", out / "run.meta"]:
        old.unlink(missing_ok=True)
    env = {**os.environ, "ALERTBRIDGE_RELIABILITY_OUT": str(out)}
    print("$ " + shlex.join(cmd), flush=True)
    with (out / "pytest.log").open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)
            print(f"pytest ran longer than {timeout:.0f}s and was stopped", file=sys.stderr)
            rc = 124
    return rc, cmd


def read_junit(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    cases = []
    for c in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            el = c.find(tag)
            if el is not None:
                message = (el.get("message") or "").strip()
                outcome = {"failure": "failed", "error": "error"}.get(tag, "skipped")
                if tag == "skipped" and el.get("type") == "pytest.xfail":
                    outcome = "xfailed (known bug)"
                break
        cases.append(
            {
                "name": f"{c.get('classname', '').rpartition('.')[2]}::{c.get('name')}",
                "time": float(c.get("time") or 0),
                "outcome": outcome,
                "message": message,
            }
        )
    return cases


def fmt(v: Any) -> str:
    if v is None:
        return DASH
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.2f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {fmt(x)}" for k, x in v.items()) or "none"
    return str(v)


def table(rows: list[tuple[str, list[Any]]], heads: list[str]) -> list[str]:
    out = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    out += ["| " + " | ".join([label, *[fmt(v) for v in values]]) + " |" for label, values in rows]
    return out


def pair(f: dict[str, Any], *keys: str) -> str:
    """Several figures of one run as "a / b"."""
    return " / ".join(fmt(f.get(k)) for k in keys)


def kill9_section(figs: dict[str, dict[str, Any]]) -> list[str]:
    runs = [figs[k] for k in ("kill9-postgresql", "kill9-sqlite") if k in figs]
    if not runs:
        return ["No figures (the kill -9 test did not run)."]
    spec: list[tuple[str, Any]] = [
        ("kill -9 survived / restarts", ("kills_survived", "restarts")),
        ("requests in flight at the kills", ("requests_in_flight_at_kills",)),
        ("attempts without an answer (retried)", lambda r: r.get("attempts_by_status", {}).get("no_answer", 0)),
        ("requests acknowledged (2xx) / events of them stored", ("events_acknowledged", "events_stored")),
        ("events stored without an answer (commit, then kill)", ("events_stored_without_ack",)),
        ("identities (one alerts row each)", ("identities",)),
        ("incidents / tickets / episodes", ("incidents", "tickets", "episodes")),
        ("notices delivered / messages received", ("distinct_message_ids", "messages_received")),
        ("resent with the same Message-ID (documented limit)", ("resent_same_message_id",)),
        ("notices withdrawn after a failed attempt", ("notices_withdrawn_after_failed_attempt",)),
        ("notices withdrawn by an older clock", ("notices_withdrawn_by_older_clock",)),
        ("incidents resolved before they were opened", ("incidents_resolved_before_opened",)),
        ("restart to /readyz, mean / max (s)", ("restart_seconds_mean", "restart_seconds_max")),
        ("outbox drained after the last restart (s)", ("outbox_drain_seconds",)),
        ("problems found (see below)", lambda r: len(r.get("problems", []))),
        ("seed", ("seed",)),
    ]
    rows = [(label, [how(r) if callable(how) else pair(r, *how) for r in runs]) for label, how in spec]
    return table(rows, ["figure", *[r.get("database", "?") for r in runs]])


def single(f: dict[str, Any], spec: list[tuple[str, Any]], column: str) -> list[str]:
    rows = [(label, [how(f) if callable(how) else pair(f, *how)]) for label, how in spec]
    return table(rows, ["figure", column])


def outage_section(f: dict[str, Any] | None) -> list[str]:
    if not f:
        return ["No figures (the database outage test did not run)."]
    spec: list[tuple[str, Any]] = [
        ("database down (s)", ("outage_seconds",)),
        ("answers while down: 503 / other", ("answers_503_while_down", "answers_while_down_not_503")),
        ("503 answers in all / 500 (or other 5xx) answers", ("answers_503", "answers_5xx_not_503")),
        ("/readyz while down: checks / 200s", ("readyz_checks_while_down", "readyz_200_while_down")),
        ("recovery after the database started: /readyz 200 (s)", ("recovery_seconds_readyz",)),
        ("recovery after the database started: first 2xx post (s)", ("recovery_seconds_first_2xx",)),
        ("service restarts needed", ("server_restarts",)),
        ("requests acknowledged / events stored", ("events_acknowledged", "events_stored")),
        ("answered 503 but stored anyway", ("answered_503_but_stored",)),
        ("given up after a 503 / of them stored", ("abandoned_after_503", "abandoned_but_stored")),
        ("notices delivered / resent with the same Message-ID", ("distinct_message_ids", "resent_same_message_id")),
        ("notices withdrawn after a failed attempt", ("notices_withdrawn_after_failed_attempt",)),
        ("notices withdrawn by an older clock", ("notices_withdrawn_by_older_clock",)),
        ("incidents resolved before they were opened", ("incidents_resolved_before_opened",)),
        ("problems found (see below)", lambda r: len(r.get("problems", []))),
        ("seed", ("seed",)),
    ]
    return single(f, spec, "PostgreSQL (private cluster)")


def peers_section(f: dict[str, Any] | None) -> list[str]:
    if not f:
        return ["No figures (the SMTP and desk outage test did not run)."]
    peak = f.get("outbox_pending_peak", {})
    spec: list[tuple[str, Any]] = [
        ("SMTP refusing (451) and desk answering 503 (s)", ("outage_seconds",)),
        ("posts answered other than 2xx meanwhile", lambda r: sum(r.get("answers_not_2xx", {}).values())),
        (
            "peak alertbridge_outbox_pending curator_mail / desk",
            lambda r: pair(peak, "metrics_curator_mail", "metrics_desk"),
        ),
        ("peak GET /api/v1/outbox pending curator_mail / desk", lambda r: pair(peak, "api_curator_mail", "api_desk")),
        ("backlog drained after both came back (s)", ("backlog_drain_seconds",)),
        ("notices delivered / messages received", ("distinct_message_ids", "messages_received")),
        ("notices resent (same Message-ID)", ("resent_same_message_id",)),
        ("notices withdrawn after a failed attempt", ("notices_withdrawn_after_failed_attempt",)),
        ("notices withdrawn by an older clock", ("notices_withdrawn_by_older_clock",)),
        ("incidents resolved before they were opened", ("incidents_resolved_before_opened",)),
        ("desk changes queued / accepted by the desk", ("desk_changes_queued", "desk_events_accepted")),
        ("desk changes lost / sent twice", ("desk_changes_lost", "desk_changes_sent_twice")),
        ("tickets whose changes arrived out of order", ("desk_tickets_out_of_order",)),
        ("different changes under one X-Alertbridge-Delivery", ("desk_delivery_id_collisions",)),
        ("problems found (see below)", lambda r: len(r.get("problems", []))),
        ("seed", ("seed",)),
    ]
    return single(f, spec, "PostgreSQL")


def replicas_section(f: dict[str, Any] | None) -> list[str]:
    if not f:
        return ["No figures (the replicas test did not run)."]
    spec: list[tuple[str, Any]] = [
        ("replicas / worker processes each", lambda r: f"{r.get('replicas')} / {r.get('workers_per_replica')}"),
        (
            "requests answered per replica",
            lambda r: ", ".join(f"{v:,}" for v in r.get("answered_by_replica", {}).values()),
        ),
        ("requests acknowledged / events stored", ("events_acknowledged", "events_stored")),
        ("alerts in the acknowledged requests", ("alerts_acknowledged",)),
        ("identities / incidents / tickets", ("identities", "incidents", "tickets")),
        ("incident episodes", ("episodes",)),
        ("notices delivered / resent with the same Message-ID", ("distinct_message_ids", "resent_same_message_id")),
        (
            "notices withdrawn after a failed attempt / by an older clock",
            ("notices_withdrawn_after_failed_attempt", "notices_withdrawn_by_older_clock"),
        ),
        ("incidents resolved before they were opened", ("incidents_resolved_before_opened",)),
        ("outbox drained after the storm (s)", ("outbox_drain_seconds",)),
        ("problems found (see below)", lambda r: len(r.get("problems", []))),
        ("seed", ("seed",)),
    ]
    return single(f, spec, "PostgreSQL")


def render(figs: dict[str, dict[str, Any]], cases: list[dict[str, Any]], command: str, rc: int | None) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    lines = [
        "# Reliability",
        "",
        f"Generated by `scripts/reliability_report.py` on {now} at commit `{head}`{dirty}.",
        "Each test runs real parts: `alertbridge serve` as a subprocess, PostgreSQL, an SMTP server (aiosmtpd),",
        "a webhook desk receiver; see the docstrings in `tests/reliability/`. Storms use a random seed, shown",
        "below (set `ALERTBRIDGE_RELIABILITY_SEED` to replay one).",
        "",
        f"Command: `{command}`" + (f" (exit status {rc})" if rc is not None else ""),
        "",
        "## Tests",
        "",
    ]
    if cases:
        lines += table([(c["name"], [c["outcome"], f"{c['time']:.1f} s"]) for c in cases], ["test", "result", "time"])
        lines.append(f"\nTotal: {sum(c['time'] for c in cases):.0f} s.")
    else:
        lines.append("No JUnit report found.")
    lines += [
        "",
        "## kill -9 under a storm (`test_kill9.py`)",
        "",
        "The server is killed with SIGKILL at random moments during a storm of ~30 concurrent Alertmanager posts",
        "(firing, repeats, recoveries, relapses), restarted each time, and checked after the outbox drained.",
        "",
        *kill9_section(figs),
        "",
        "## PostgreSQL stopped mid-storm (`test_database_outage.py`)",
        "",
        *outage_section(figs.get("database_outage")),
        "",
        "## SMTP and remote desk down under a storm (`test_outages_under_load.py`)",
        "",
        *peers_section(figs.get("outages_under_load")),
        "",
        "## Three replicas on one PostgreSQL under a storm (`test_replicas_storm.py`)",
        "",
        "Every attempt goes to one of three `alertbridge serve` processes at random (one of them runs two",
        "workers), so the same identity's steps race on different replicas.",
        "",
        *replicas_section(figs.get("replicas")),
        "",
    ]
    bugs = [c for c in cases if c["outcome"].startswith("xfailed")]
    problems = [(name, p) for name, f in sorted(figs.items()) for p in f.get("problems", [])]
    failed = [c for c in cases if c["outcome"] in ("failed", "error")]
    lines += ["## Known bugs (strict xfail tests)", ""]
    lines += [f"- `{c['name']}`: {c['message'].removeprefix('reason: ')}" for c in bugs] or ["None."]
    lines += ["", "## Problems found in this run", ""]
    lines += [f"- {name}: {p}" for name, p in problems[:50]]
    lines += [f"- `{c['name']}` {c['outcome']}: {c['message'][:500]}" for c in failed]
    if not problems and not failed:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--out", type=Path, default=Path(os.environ.get("ALERTBRIDGE_RELIABILITY_OUT") or ROOT / "var" / "reliability")
    )
    p.add_argument("--markdown", type=Path, default=ROOT / "RELIABILITY.md")
    p.add_argument("--no-run", action="store_true", help="only rewrite the Markdown from the last run's files")
    p.add_argument("--timeout", type=float, default=900.0, help="stop pytest after this many seconds")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = p.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    rc: int | None = None
    command = "python -m pytest -m reliability tests/reliability"
    if not args.no_run:
        rc, cmd = run_pytest(out, args.pytest_args, args.timeout)
        command = shlex.join([Path(cmd[0]).name, *cmd[1:]]).replace(str(out), "$ALERTBRIDGE_RELIABILITY_OUT")
        (out / "run.meta").write_text(json.dumps({"command": command, "exit_status": rc}) + "\n")
    elif (out / "run.meta").exists():
        meta = json.loads((out / "run.meta").read_text())
        command, rc = meta["command"], meta["exit_status"]
    figs = {f.stem: json.loads(f.read_text()) for f in sorted(out.glob("*.json"))}
    cases = read_junit(out / "junit.xml")
    args.markdown.write_text(render(figs, cases, command, rc))
    print(f"wrote {args.markdown} ({len(cases)} tests, {len(figs)} figure files from {out})")
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
