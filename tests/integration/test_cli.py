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


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    env = {"ALERTBRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/db/ab.db"}
    for _ in range(2):
        r = run("migrate", "--config", "config/example.yaml", env=env)
        assert r.returncode == 0 and "revision 0002" in r.stdout, r.stderr


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
