"""The `alertbridge` command as a user runs it: clear errors, exit codes, migrate, serve."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TOKENS, free_port

EXE = shutil.which("alertbridge", path=str(Path(sys.executable).parent)) or "alertbridge"


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **TOKENS, **(env or {})},
    )


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "config.yaml"
    p.write_text(text)
    return str(p)


def test_check_config_accepts_the_example() -> None:
    r = run("check-config", "--config", "config/example.yaml")
    assert r.returncode == 0, r.stderr
    assert "2 customers" in r.stdout


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            "customers:\n  - id: acme\n    name: A\n    curators: [{name: X, email: not-an-email}]\n",
            "customers[acme].curators[0].email",
        ),
        ("custmers: []\n", "custmers: unknown key"),
        ("lifecycle: {reopen_window: soon}\n", "lifecycle.reopen_window"),
        ("mail: {smtp_url: 'http://x'}\n", "mail.smtp_url"),
        ("customers: [{id: a, name: A}, {id: a, name: B}]\n", "customer ids must be unique"),
        ("tokens: [{name: t, token: x, scopes: [bogus]}]\n", "tokens[t].scopes[0]"),
        ("[1, 2]\n", "must be a mapping"),
        ("a: [\n", "not valid YAML"),
    ],
)
def test_bad_config_is_named(tmp_path: Path, text: str, needle: str) -> None:
    r = run("check-config", "--config", write(tmp_path, text))
    assert r.returncode == 2
    assert needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_missing_config_file() -> None:
    r = run("check-config", "--config", "/nonexistent/alertbridge.yaml")
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_bad_database_url_and_listen(tmp_path: Path) -> None:
    r = run("migrate", "--config", "config/example.yaml", env={"ALERTBRIDGE_DATABASE_URL": "mysql://x/y"})
    assert r.returncode == 2 and "unsupported database" in r.stderr
    r = run(
        "serve",
        "--config",
        "config/example.yaml",
        "--listen",
        "nowhere",
        env={"ALERTBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
    )
    assert r.returncode == 2 and "HOST:PORT" in r.stderr


HEAD = max(p.name[:4] for p in (Path(__file__).parents[2] / "bridge/migrations/versions").glob("[0-9]*.py"))


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    env = {"ALERTBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/db/ab.db"}
    for _ in range(2):
        r = run("migrate", "--config", "config/example.yaml", env=env)
        assert r.returncode == 0 and f"revision {HEAD}" in r.stdout, r.stderr


def test_serve_starts_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **TOKENS, "ALERTBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/ab.db"}
    proc = subprocess.Popen(
        [EXE, "serve", "--config", "config/example.yaml", "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("serve did not become ready")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "stopping" in out


async def test_classify_explain_and_replay(tmp_path: Path, service_factory: object) -> None:
    import json as _json

    from bridge.db import migrate
    from tests.conftest import fixture_json, load_settings
    from tests.integration import bodies
    from tests.integration.api import Api

    url = f"sqlite:///{tmp_path}/ab.db"
    migrate(url)
    api = Api(await service_factory(load_settings(url)))  # type: ignore[operator]
    await api.am(bodies.website())
    await api.zbx(fixture_json("zabbix/problem.json"))
    env = {"ALERTBRIDGE_DATABASE_URL": url}

    r = run("explain", "1", "--config", "config/example.yaml", env=env)
    assert r.returncode == 0, r.stderr
    assert "rule:      endpoint-down" in r.stdout and "priority critical = impact high x urgency high" in r.stdout
    r = run("explain", "1", "--json", "--config", "config/example.yaml", env=env)
    assert _json.loads(r.stdout)["kind"] == "incident"
    assert run("explain", "99", "--config", "config/example.yaml", env=env).returncode == 1

    pack = tmp_path / "strict.yaml"
    pack.write_text(
        "name: strict\nrules:\n  - id: probes-are-faults\n    kind: fault\n    reason: test\n"
        "    when: {name: ['Blackbox']}\n"
    )
    r = run("replay", "--since", "2000-01-01", "--rules", str(pack), "--config", "config/example.yaml", env=env)
    assert r.returncode == 0, r.stderr
    changes = {c["alert"].split()[0]: c for c in (_json.loads(line) for line in r.stdout.splitlines())}
    assert changes["alertmanager"]["stored"]["kind"] == "incident"
    assert changes["alertmanager"]["would_be"] == {
        **changes["alertmanager"]["would_be"],
        "kind": "fault",
        "rule": "probes-are-faults",
    }
    assert changes["zabbix"]["stored"]["rule"] == "raid-degraded"  # the strict pack knows no RAID rule
    assert "2 stored incident(s)" in r.stderr
    r = run("replay", "--since", "2000-01-01", "--config", "config/example.yaml", env=env)
    assert r.stdout == "" and "0 stored" in r.stderr
    assert run("replay", "--since", "yesterday", "--config", "config/example.yaml", env=env).returncode == 2
    counts = await api.counts()
    assert counts["incidents"] == 2  # nothing changed


def test_classify_command_reads_bodies_and_jsonl(tmp_path: Path) -> None:
    import json as _json

    r = run("classify", "--source", "zabbix", "tests/fixtures/zabbix/problem.json")
    out = _json.loads(r.stdout)
    assert r.returncode == 0 and out["kind"] == "fault" and out["customer"] is None and out["rule"]
    r = run("classify", "--config", "config/example.yaml", "--source", "zabbix", "tests/fixtures/zabbix/problem.json")
    out = _json.loads(r.stdout)
    assert (out["customer"], out["service"]) == ("acme", "fileserver")
    lines = [
        (ROOT / f"tests/fixtures/alertmanager/raw/{n}.json").read_text().strip() for n in ("firing", "grouped_firing")
    ]
    p = tmp_path / "bodies.jsonl"
    p.write_text("\n".join([*lines, "{broken"]) + "\n")
    r = run("classify", "--source", "alertmanager", "--jsonl", str(p))
    rows = [_json.loads(x) for x in r.stdout.splitlines()]
    assert [x.get("kind") for x in rows] == ["incident", "fault", "fault", "fault", None]
    assert rows[-1]["error"] == "invalid_payload" and r.returncode == 1
    assert run("classify", "--source", "nagios", str(p)).returncode == 2
