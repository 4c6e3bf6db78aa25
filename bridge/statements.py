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


def _shape(values: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    return tuple(sorted((k, isinstance(v, Inc)) for k, v in values.items()))


@lru_cache(maxsize=256)
def _update_pair(
    first: Table, first_shape: tuple[tuple[str, bool], ...], second: Table, second_shape: tuple[tuple[str, bool], ...]
) -> Any:
    """PostgreSQL: `UPDATE first ... WHERE id = :f_id` and `UPDATE second ... WHERE id = :s_id` in one statement
    (the first as a data-modifying CTE); values bound as f_<column> and s_<column>."""

    def build(table: Table, shape: tuple[tuple[str, bool], ...], prefix: str) -> Update:
        values = {
            table.c[k]: (table.c[k] + bindparam(f"{prefix}{k}")) if inc else bindparam(f"{prefix}{k}")
            for k, inc in shape
        }
        return update(table).where(table.c.id == bindparam(f"{prefix}id_")).values(values)

    cte = build(first, first_shape, "f_").returning(first.c.id).cte("first_update")
    return build(second, second_shape, "s_").add_cte(cte)


async def update_pair(
    conn: AsyncConnection,
    first: tuple[Table, int, dict[str, Any]],
    second: tuple[Table, int, dict[str, Any]],
) -> None:
    """Two `update_by_id` (table, id, values) in one statement on PostgreSQL, one after the other elsewhere (or
    when a value is an SQL expression)."""
    (t1, id1, v1), (t2, id2, v2) = first, second
    plain = not any(isinstance(v, ClauseElement) for v in (*v1.values(), *v2.values()))
    if conn.dialect.name != "postgresql" or not plain or not v1 or not v2:
        await update_by_id(conn, t1, id1, **v1)
        await update_by_id(conn, t2, id2, **v2)
        return
    params = {f"f_{k}": v.n if isinstance(v, Inc) else v for k, v in v1.items()}
    params.update({f"s_{k}": v.n if isinstance(v, Inc) else v for k, v in v2.items()})
    params["f_id_"], params["s_id_"] = id1, id2
    await conn.execute(_update_pair(t1, _shape(v1), t2, _shape(v2)), params)


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
    shape = _shape(values)
    params = {f"v_{k}": v.n if isinstance(v, Inc) else v for k, v in values.items()}
    params["b_id"] = row_id
    await conn.execute(_update_by_id(table, shape), params)
