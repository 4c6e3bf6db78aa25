"""The migrations build exactly the schema the code declares (bridge/schema.py), on SQLite and PostgreSQL:
a table, column or index added to one but not the other is a failure here, not in production."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from bridge.db import _urls, migrate
from bridge.schema import metadata


def test_migrated_database_matches_the_declared_schema(database_url: str) -> None:
    migrate(database_url)
    _, sync_url = _urls(database_url)
    engine = create_engine(sync_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False, "compare_server_default": False})
            diffs: list[Any] = [d for d in compare_metadata(ctx, metadata) if not _alembic_version(d)]
    finally:
        engine.dispose()
    assert diffs == [], diffs


def _alembic_version(diff: Any) -> bool:
    """alembic's own bookkeeping table is not part of the declared schema."""
    return isinstance(diff, tuple) and diff[0] == "remove_table" and diff[1].name == "alembic_version"
