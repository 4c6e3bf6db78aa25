"""Statements built once and run with parameters.

Building a SQLAlchemy statement (`update(t).where(...).values(...)`) and computing its cache key costs
more CPU than running it; on the ingest path, where every alert runs several, statements are built once
and executed with a dict of parameters. `update_by_id` does the same for updates whose set of columns
varies: one statement per table and shape, kept in a small cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.dml import Update


@dataclass(frozen=True, slots=True)
class Inc:
    """`SET column = column + n`."""

    n: int = 1


@lru_cache(maxsize=256)
def _update_by_id(table: Table, shape: tuple[tuple[str, bool], ...]) -> Update:
    values = {table.c[k]: (table.c[k] + bindparam(f"v_{k}")) if inc else bindparam(f"v_{k}") for k, inc in shape}
    return update(table).where(table.c.id == bindparam("b_id")).values(values)


async def update_by_id(conn: AsyncConnection, table: Table, row_id: int, **values: Any) -> None:
    """`UPDATE table SET ... WHERE id = row_id`; a value may be `Inc(n)`. Other SQL expressions are
    accepted too, but their statement is built each time."""
    if any(isinstance(v, ClauseElement) for v in values.values()):
        await conn.execute(
            update(table)
            .where(table.c.id == row_id)
            .values({k: (table.c[k] + v.n) if isinstance(v, Inc) else v for k, v in values.items()})
        )
        return
    shape = tuple(sorted((k, isinstance(v, Inc)) for k, v in values.items()))
    params = {f"v_{k}": v.n if isinstance(v, Inc) else v for k, v in values.items()}
    params["b_id"] = row_id
    await conn.execute(_update_by_id(table, shape), params)
