"""`alertbridge serve` as a real subprocess for the fuzz tests, with a config written to a temporary
directory: the example customers, the shipped tokens plus an admin token and a read-only token bound to
one customer and a sending token bound to it, no SMTP (notices stay queued) and no Zabbix API."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ALERTBRIDGE, ROOT, TOKENS, free_port, migrate_with_cli

EXE = ALERTBRIDGE
ADMIN = "fuzz-admin-token"
ACME_READER = "fuzz-acme-reader-token"
ACME_SENDER = "fuzz-acme-sender-token"
TOKEN_ENV = {
    **TOKENS,
    "ALERTBRIDGE_TOKEN_ADMIN": ADMIN,
    "ALERTBRIDGE_TOKEN_ACME_READER": ACME_READER,
    "ALERTBRIDGE_TOKEN_ACME_SENDER": ACME_SENDER,
}


def write_config(path: Path) -> Path:
    cfg: dict[str, Any] = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    cfg["public_url"] = "http://alertbridge.test"
    cfg["mail"] = {"smtp_url": "", "sender": "Example MSP service desk <servicedesk@msp.example>"}
    cfg["zabbix"] = {"url": ""}
    cfg["tokens"] = [
        *cfg["tokens"],
        {"name": "admin", "token": "${ALERTBRIDGE_TOKEN_ADMIN}", "scopes": ["admin"]},
        {"name": "acme-reader", "token": "${ALERTBRIDGE_TOKEN_ACME_READER}", "scopes": ["read"], "customer": "acme"},
        {
            "name": "acme-sender",
            "token": "${ALERTBRIDGE_TOKEN_ACME_SENDER}",
            "scopes": ["alertmanager", "zabbix", "findings", "work"],
            "customer": "acme",
        },
    ]
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    return path


class Server:
    """One `alertbridge serve` process; every wait is bounded."""

    def __init__(self, config: Path, database_url: str, workdir: Path) -> None:
        self.config, self.database_url, self.workdir = config, database_url, workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **TOKEN_ENV, "ALERTBRIDGE_DATABASE_URL": database_url}
        for name in ("ALERTBRIDGE_SMTP_URL", "ALERTBRIDGE_ZABBIX_URL", "ALERTBRIDGE_PUBLIC_URL"):
            self.env.pop(name, None)
        self.log = workdir / "alertbridge.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def migrate(self) -> None:
        migrate_with_cli(self.config, self.env)

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [EXE, "serve", "--config", str(self.config), "--listen", f"127.0.0.1:{self.port}", "--no-migrate"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alertbridge exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"alertbridge not ready after {timeout}s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
