"""How a database error becomes an answer, whatever the driver (asyncpg's errors arrive as plain DBAPIError
with only a SQLSTATE to tell them apart): unavailable → 503, a value it cannot hold → 400, else 500."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.exc import DBAPIError

from bridge.app import errors


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "status", "error"),
    [
        ("57P03", 503, "database_unavailable"),  # the database system is not yet accepting connections
        ("57P01", 503, "database_unavailable"),  # terminating connection due to administrator command
        ("08006", 503, "database_unavailable"),  # connection failure
        ("53300", 503, "database_unavailable"),  # too many connections
        ("22021", 400, "bad_parameter"),  # invalid byte sequence (a NUL)
        ("42P01", 500, "internal_error"),  # undefined table: our bug, said so
    ],
)
async def test_database_errors_by_sqlstate(aiohttp_client: Any, sqlstate: str, status: int, error: str) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise DBAPIError("SELECT 1", None, _Orig(sqlstate))

    app = web.Application(middlewares=[errors])
    app.router.add_get("/x", boom)
    client = await aiohttp_client(app)
    r = await client.get("/x")
    assert r.status == status
    assert (await r.json())["error"] == error
    if status == 503:
        assert r.headers["Retry-After"] == "5"
