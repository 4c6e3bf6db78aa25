#!/usr/bin/env python3
"""Where alertbridge spends its CPU under a storm: py-spy samples the server while storm.py runs.

    .venv/bin/pip install py-spy
    .venv/bin/python bench/profile.py                       # reference storm on PostgreSQL
    .venv/bin/python bench/profile.py --alerts 5000 --top 40 --raw /tmp/ab.txt

Prints the storm's figures and the frames with the most samples, inclusive (the frame or anything it
called) and self (the frame itself). SQLAlchemy runs each statement in a greenlet, which py-spy shows as a
stack of its own: the driver's and SQLAlchemy's frames are counted, but not under the pipeline function
that ran the statement. `--raw` keeps py-spy's collapsed stacks (flame graph input).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness as h


def summarize(raw: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        stack, _, n = line.rpartition(" ")
        count = int(n)
        total += count
        frames = [re.sub(r":\d+\)", ")", f) for f in stack.split(";")]
        for f in set(frames):
            inclusive[f] += count
        own[frames[-1]] += count
    if not total:
        return "no samples"
    out = [f"{total:,} samples", "", "inclusive %  frame"]
    out += [f"{100 * v / total:10.1f}  {k[:150]}" for k, v in inclusive.most_common(top)]
    out += ["", "self %  frame"]
    out += [f"{100 * v / total:6.1f}  {k[:150]}" for k, v in own.most_common(top // 2)]
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--alerts", type=int, default=20000, help="posts in the storm (default 20000)")
    p.add_argument("--keys", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--source", choices=["alertmanager", "zabbix"], default="alertmanager")
    p.add_argument("--rate", type=int, default=100, help="py-spy samples per second (default 100)")
    p.add_argument("--top", type=int, default=50, help="frames to print (default 50)")
    p.add_argument("--raw", help="keep py-spy's collapsed stacks in this file")
    a = p.parse_args()
    spy = shutil.which("py-spy") or str(h.VENV_BIN / "py-spy")
    if not Path(spy).exists():
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    cl = h.Cleanup()
    cl.install_signals()
    try:
        work = Path(tempfile.mkdtemp(prefix="alertbridge-profile-"))
        cl.push("remove work dir", lambda: shutil.rmtree(work, ignore_errors=True))
        ab = h.Alertbridge(cl, work, h.create_db(cl, "alertbridge_profile")).start()
        assert ab.proc is not None
        raw = Path(a.raw) if a.raw else work / "stacks.txt"
        rec = subprocess.Popen(
            [spy, "record", "-p", str(ab.proc.pid), "-f", "raw", "-o", str(raw), "-r", str(a.rate), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        args = ["--alerts", str(a.alerts), "--keys", str(a.keys), "--concurrency", str(a.concurrency)]
        args += ["--source", a.source]
        cpu0 = h.tree_cpu(ab.proc.pid)
        result = h.run_storm(args, ab.url(a.source), [ab.auth(a.source)], 900)
        cpu = h.tree_cpu(ab.proc.pid) - cpu0
        rec.send_signal(2)  # py-spy writes its file on SIGINT
        rec.wait(60)
        keep = ("posts", "ok", "posts_per_s", "p50_ms", "p99_ms", "errors_total")
        figures = {k: result.get(k) for k in keep}
        figures["server_cpu_ms_per_post"] = round(1000 * cpu / max(1, int(result.get("posts") or 1)), 3)
        print(json.dumps(figures))
        print("(py-spy slows the server down: compare posts/s with bench/run.py, not with this)")
        print(summarize(raw, a.top))
    finally:
        cl.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
