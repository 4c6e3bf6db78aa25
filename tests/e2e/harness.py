"""Real peers for the end-to-end tests: alertbridge as a process, a real Alertmanager, an SMTP server.

Stdlib (urllib, subprocess) plus aiosmtpd and PyYAML; nothing from ../shared is used at run time.
Everything listens on 127.0.0.1 on free ports. Alertmanager is Debian's prometheus-alertmanager
(0.25): its binary is /usr/bin/prometheus-alertmanager, and without `--cluster.listen-address=`
it would bind 0.0.0.0:9094 for gossip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, TypeVar

import yaml
from aiosmtpd.controller import Controller

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "config" / "example.yaml"
ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager"

TOKENS = {
    "ALERTBRIDGE_TOKEN_ALERTMANAGER": "e2e-am-token",
    "ALERTBRIDGE_TOKEN_ZABBIX": "e2e-zbx-token",
    "ALERTBRIDGE_TOKEN_ENGINEER": "e2e-eng-token",
}

T = TypeVar("T")

# urllib without any proxy from the environment: every request here goes to the loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without proxy settings (peers talk over the loopback), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(extra)
    return env


def http(
    method: str, url: str, payload: Any = None, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, bytes]:
    """(status, body) of one request; HTTP errors are answers too, not exceptions."""
    data = None
    hdrs = dict(headers or {})
    if payload is not None:
        data = json.dumps(payload).encode()
        hdrs.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(what: str, predicate: Callable[[], T], timeout: float = 30.0, every: float = 0.5) -> T:
    """The first truthy value of predicate(), polled every `every` s; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last value: {value!r})")
        time.sleep(every)


def rfc3339(t: datetime) -> str:
    """Prometheus-style timestamp: UTC, millisecond precision."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


# -- SMTP ------------------------------------------------------------------------------------------
class Mailbox:
    """A real SMTP server (aiosmtpd, in its own thread) that keeps every message, parsed."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        item = {
            "to": list(envelope.rcpt_tos),
            "from": envelope.mail_from,
            "subject": str(msg["Subject"] or "").strip(),
            "body": body.get_content() if body is not None else "",
            "headers": dict(msg.items()),
        }
        with self._lock:
            self.messages.append(item)
        return "250 OK"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.messages)

    def to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in self.all() if address in m["to"]]

    def summary(self) -> str:
        return "; ".join(f"{m['to']} {m['subject']!r}" for m in self.all()) or "(no mail)"


# -- processes -------------------------------------------------------------------------------------
class Process:
    """A child process with its output in a log file; stop() sends SIGTERM, then SIGKILL."""

    name = "process"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log_path = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, cmd: list[str], env: dict[str, str]) -> None:
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(cmd)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_http_ok(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with status {self.proc.returncode} while starting; "
                    f"log {self.log_path}:\n{self.tail()}"
                )
            try:
                status, _ = http("GET", url, timeout=2)
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready at {url} after {timeout:g} s ({last}); log:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode


def alertbridge_executable() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "alertbridge"
    if venv.is_file() and os.access(venv, os.X_OK):
        return str(venv)
    found = shutil.which("alertbridge")
    if found:
        return found
    raise RuntimeError(f"no alertbridge executable: neither {venv} nor one on PATH (run `make dev`)")


class Alertbridge(Process):
    """`alertbridge serve` with the example config, on a fresh SQLite database and a free port."""

    name = "alertbridge"

    def __init__(self, workdir: Path, smtp_url: str, config: Path = CONFIG) -> None:
        super().__init__(workdir)
        self.config = config
        self.smtp_url = smtp_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"sqlite:///{workdir / 'ab.db'}"
        self.tokens = dict(TOKENS)

    @property
    def alertmanager_token(self) -> str:
        return self.tokens["ALERTBRIDGE_TOKEN_ALERTMANAGER"]

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/v1/alertmanager"

    def start(self, timeout: float = 30.0) -> None:
        env = clean_env(
            ALERTBRIDGE_DATABASE_URL=self.database_url,
            ALERTBRIDGE_SMTP_URL=self.smtp_url,
            ALERTBRIDGE_PUBLIC_URL=self.url,
            PYTHONUNBUFFERED="1",
            **self.tokens,
        )
        cmd = [alertbridge_executable(), "serve", "--config", str(self.config), "--listen", f"127.0.0.1:{self.port}"]
        self._spawn(cmd, env)
        self._wait_http_ok(f"{self.url}/healthz", timeout)

    def get(self, path: str) -> Any:
        """GET an API path with the engineer's (read) token; the JSON answer, which must be a 200."""
        status, body = http(
            "GET", self.url + path, headers={"Authorization": f"Bearer {self.tokens['ALERTBRIDGE_TOKEN_ENGINEER']}"}
        )
        if status != 200:
            raise AssertionError(f"GET {path}: HTTP {status}: {body[:500]!r}")
        return json.loads(body)

    def incidents(self, **filters: str) -> dict[str, Any]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return dict(self.get(f"/api/v1/incidents?{query}"))

    def ticket(self, number: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/tickets/{number}"))


class Alertmanager(Process):
    """Debian's prometheus-alertmanager, routing everything to alertbridge's webhook with tiny timers."""

    name = "alertmanager"

    def __init__(
        self,
        workdir: Path,
        webhook_url: str,
        token: str,
        binary: str = ALERTMANAGER_BIN,
        group_wait: str = "1s",
        group_interval: str = "2s",
        repeat_interval: str = "10s",
    ) -> None:
        super().__init__(workdir)
        self.binary = binary
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "alertmanager.yml"
        self.storage = workdir / "data"
        self.config = {
            "global": {"resolve_timeout": "5m"},
            "route": {
                "receiver": "alertbridge",
                "group_by": ["alertname", "customer", "service"],
                "group_wait": group_wait,
                "group_interval": group_interval,
                "repeat_interval": repeat_interval,
            },
            "receivers": [
                {
                    "name": "alertbridge",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {"authorization": {"credentials": token}},
                        }
                    ],
                }
            ],
        }

    def start(self, timeout: float = 30.0) -> None:
        self.storage.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        cmd = [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.path={self.storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--web.external-url={self.url}",
            "--cluster.listen-address=",
            "--log.level=debug",
        ]
        self._spawn(cmd, clean_env())
        self._wait_http_ok(f"{self.url}/-/ready", timeout)

    def stop(self, grace: float = 10.0) -> int | None:
        # On SIGTERM it finishes in-flight flushes (retries up to their 10 s deadline) first.
        return super().stop(grace)

    # -- API v2 ------------------------------------------------------------------------------------
    def push(self, alerts: list[dict[str, Any]]) -> None:
        status, body = http("POST", f"{self.url}/api/v2/alerts", alerts)
        if status != 200:
            raise AssertionError(f"Alertmanager refused the alerts: HTTP {status}: {body[:300]!r}")

    def fire(
        self,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
        starts_at: datetime | None = None,
        lasts: timedelta = timedelta(minutes=4),
    ) -> datetime:
        """Push a firing alert (endsAt in the future, as Prometheus does); returns its startsAt."""
        now = datetime.now(UTC)
        starts = starts_at or now
        self.push([alert(labels, annotations, starts, now + lasts)])
        return starts

    def resolve(
        self, labels: dict[str, str], annotations: dict[str, str] | None = None, starts_at: datetime | None = None
    ) -> datetime:
        """Push the same alert with endsAt = now, which resolves it; returns that endsAt."""
        now = datetime.now(UTC)
        self.push([alert(labels, annotations, starts_at or now - timedelta(minutes=1), now)])
        return now

    def alerts(self) -> list[dict[str, Any]]:
        status, body = http("GET", f"{self.url}/api/v2/alerts")
        assert status == 200, body
        return list(json.loads(body))

    def metric(self, name: str, **labels: str) -> float:
        """Sum of the samples of one metric from /metrics whose labels include `labels`."""
        status, body = http("GET", f"{self.url}/metrics")
        assert status == 200, body
        total = 0.0
        for line in body.decode().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            metric, _, rest = series.partition("{")
            if metric != name:
                continue
            if all(f'{k}="{v}"' in rest for k, v in labels.items()):
                total += float(value)
        return total


def alert(
    labels: dict[str, str], annotations: dict[str, str] | None, starts_at: datetime, ends_at: datetime | None
) -> dict[str, Any]:
    """One alert as POST /api/v2/alerts takes it."""
    a: dict[str, Any] = {"labels": dict(labels), "annotations": dict(annotations or {}), "startsAt": rfc3339(starts_at)}
    if ends_at is not None:
        a["endsAt"] = rfc3339(ends_at)
    return a
