"""Shared test fixtures: real databases (SQLite file, PostgreSQL), a real SMTP server, the service in-process."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PG_URL = os.environ.get("ALERTBRIDGE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("ALERTBRIDGE_REQUIRE_POSTGRES") == "1"
TOKENS = {
    "ALERTBRIDGE_TOKEN_ALERTMANAGER": "test-am-token",
    "ALERTBRIDGE_TOKEN_ZABBIX": "test-zbx-token",
    "ALERTBRIDGE_TOKEN_ENGINEER": "test-eng-token",
}


ALERTBRIDGE = str(Path(sys.executable).parent / "alertbridge")  # the installed command, as users run it


def migrate_with_cli(config: Path, env: dict[str, str]) -> None:
    """`alertbridge migrate --config CONFIG` as a separate process; fails the test with its output."""
    r = subprocess.run(
        [ALERTBRIDGE, "migrate", "--config", str(config)], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert r.returncode == 0, r.stdout.decode()[-2000:] + r.stderr.decode()[-2000:]


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            {
                "to": list(envelope.rcpt_tos),
                "subject": str(msg["Subject"]),
                "message_id": str(msg["Message-ID"]),
                "body": msg.get_body().get_content(),
                "headers": dict(msg.items()),
            }
        )
        return "250 OK"

    def to(self, addr: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if addr in m["to"]]

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


def _pg_admin_conn() -> Any:
    import psycopg

    return psycopg.connect(PG_URL.replace("postgresql://", "postgresql://", 1), autocommit=True, connect_timeout=5)


_pg_state: dict[str, Any] = {}


def _pg_template() -> str:
    """A migrated template database, made once per test run; each test gets a copy."""
    if "template" in _pg_state:
        return str(_pg_state["template"])
    from bridge.db import migrate

    name = f"ab_tmpl_{uuid.uuid4().hex[:10]}"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate(_pg_url(name))
    _pg_state["template"] = name
    return name


def _pg_url(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(database=dbname).render_as_string(hide_password=False)


def pg_available() -> str | None:
    """None if PostgreSQL answers, else why not."""
    if "error" not in _pg_state:
        try:
            with _pg_admin_conn() as conn:
                conn.execute("SELECT 1")
            _pg_state["error"] = None
        except Exception as exc:
            _pg_state["error"] = f"PostgreSQL at {PG_URL} unavailable: {exc}"
    return _pg_state["error"]


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    name = _pg_state.get("template")
    for db in [*_pg_state.get("dbs", []), *([name] if name else [])]:
        try:
            with _pg_admin_conn() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        except Exception:
            pass


def new_pg_database() -> str:
    """A fresh migrated PostgreSQL database (dropped at the end of the run); skips, or fails when
    ALERTBRIDGE_REQUIRE_POSTGRES=1, if the server is not there."""
    why = pg_available()
    if why:
        if REQUIRE_PG:
            pytest.fail(why + " (ALERTBRIDGE_REQUIRE_POSTGRES=1)")
        pytest.skip(why)
    name = f"ab_test_{uuid.uuid4().hex[:10]}"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template()}"')
    _pg_state.setdefault("dbs", []).append(name)
    return _pg_url(name)


@pytest.fixture
def pg_database_url() -> str:
    return new_pg_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database: an SQLite file, or a PostgreSQL database copied from a template."""
    if request.param == "sqlite":
        from bridge.db import migrate

        url = f"sqlite:///{tmp_path}/alertbridge.db"
        migrate(url)
        return url
    return new_pg_database()


def load_settings(
    database_url: str,
    smtp_url: str | None = None,
    env: dict[str, str] | None = None,
    config: Path = ROOT / "config" / "example.yaml",
    **overrides: Any,
) -> Any:
    from bridge.config import Settings, load

    e = {**TOKENS, "ALERTBRIDGE_DATABASE_URL": database_url, **(env or {})}
    if smtp_url:
        e["ALERTBRIDGE_SMTP_URL"] = smtp_url
    settings, _ = load(config, env=e)
    if overrides:
        data = settings.model_dump()
        for k, v in overrides.items():
            data[k] = v
        settings = Settings.model_validate(data)
    return settings


@pytest.fixture
async def service_factory() -> AsyncIterator[Any]:
    """Builds in-process services (aiohttp test clients); closes them at the end."""
    from aiohttp.test_utils import TestClient, TestServer

    from bridge.service import assemble

    made: list[tuple[Any, Any]] = []

    async def make(settings: Any) -> Any:
        svc = assemble(settings)
        client = TestClient(TestServer(svc.app))
        await client.start_server()
        svc.client = client  # type: ignore[attr-defined]
        made.append((svc, client))
        return svc

    yield make
    for svc, client in made:
        await client.close()
        await svc.db.dispose()


async def eventually(predicate: Any, seconds: float = 10.0, every: float = 0.05) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    value = None
    while loop.time() < end:
        value = await predicate() if asyncio.iscoroutinefunction(predicate) else predicate()
        if value:
            return value
        await asyncio.sleep(every)
    return value
