"""Database engines for SQLite (embedded default) and PostgreSQL, and running the migrations."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:  # Alembic loads only to migrate, not in a serving process
    from alembic.config import Config as AlembicConfig


class DatabaseURLError(ValueError):
    pass


def sqlstate(exc: BaseException) -> str:
    """PostgreSQL's SQLSTATE of a database error ("" if none): how errors are told apart whatever the driver
    (asyncpg's arrive as plain DBAPIError, psycopg's as its subclasses)."""
    orig = getattr(exc, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def _urls(url: str) -> tuple[URL, URL]:
    """(async URL, sync URL) for a user's `sqlite:///...` or `postgresql://...`."""
    try:
        u = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with its own text
        raise DatabaseURLError(f"not a database URL: {url!r} ({exc})") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        return u.set(drivername="sqlite+aiosqlite"), u.set(drivername="sqlite")
    if backend in ("postgresql", "postgres"):
        return u.set(drivername="postgresql+asyncpg"), u.set(drivername="postgresql+psycopg")
    raise DatabaseURLError(f"unsupported database {backend!r}: use sqlite:///path or postgresql://user@host/db")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own transaction handling is turned off; BEGIN IMMEDIATE is issued on begin,
    # so a writer takes the lock up front instead of failing to upgrade it later.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


# A pooled connection idle longer than this is tested before use (a round trip); one in steady use is not.
PING_AFTER_IDLE = 2.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Test a pooled connection before use only if it sat idle: a ping on every checkout costs three round trips
    (begin, a statement, rollback) per transaction, as much as the work of many. A connection the server dropped
    while in steady use fails its statement instead; the pool then replaces every connection older than the
    failure, and the request gets 503, as during the outage itself."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool drops it and checks out another
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


class Database:
    """The async engine plus what differs between SQLite and PostgreSQL."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        async_url, self.sync_url = _urls(url)
        self.dialect = async_url.get_backend_name()
        self.is_sqlite = self.dialect == "sqlite"
        if self.is_sqlite:
            self.engine: AsyncEngine = create_async_engine(async_url, poolclass=NullPool)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        else:
            self.engine = create_async_engine(async_url, pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
            _ping_when_idle(self.engine)
        # SQLite takes one writer at a time: queue writers here rather than spin on its lock.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back on error."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()


def alembic_config(sync_url: URL | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    ini = resources.files("bridge").joinpath("migrations/alembic.ini")
    cfg = AlembicConfig(str(ini))
    cfg.set_main_option("script_location", str(resources.files("bridge").joinpath("migrations")))
    if sync_url is not None:
        cfg.set_main_option("sqlalchemy.url", sync_url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(url: str) -> str:
    """Bring the database at `url` to the newest schema; returns the revision it is at."""
    _, sync_url = _urls(url)
    engine = create_engine(sync_url, poolclass=NullPool)
    if sync_url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # several replicas starting at once: one migrates, the others wait for it
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7410115)")
            from alembic import command

            cfg = alembic_config(sync_url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            return _current(conn)
    finally:
        engine.dispose()


def _current(conn: Connection) -> str:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision() or "base"
