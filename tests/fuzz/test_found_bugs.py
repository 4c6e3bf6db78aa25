"""Regression tests for the bugs the fuzz tests found, each the smallest request that showed it, against the
service in-process (SQLite). Before the fixes each of these answered 500 (or, for the fullwidth id, took
incident 1); the reason given to `found` says what was wrong."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors import zabbix
from tests.conftest import TOKENS, fixture_json, load_settings
from tests.fuzz.server import TOKEN_ENV, write_config
from tests.fuzz.test_rejected_changes_nothing import snapshot

pytestmark = pytest.mark.fuzz

AM = TOKENS["ALERTBRIDGE_TOKEN_ALERTMANAGER"]
ZBX = TOKENS["ALERTBRIDGE_TOKEN_ZABBIX"]
ENG = TOKENS["ALERTBRIDGE_TOKEN_ENGINEER"]


def found(what: str) -> Any:
    """Records in the test's docstring the bug it guards against."""

    def mark(test: Any) -> Any:
        test.__doc__ = f"Found by fuzzing: {what}"
        return test

    return mark


@pytest.fixture
async def svc(sqlite_url: str, tmp_path: Path, service_factory: Any) -> AsyncIterator[Any]:
    settings = load_settings(sqlite_url, env=TOKEN_ENV, config=write_config(tmp_path / "config.yaml"))
    service = await service_factory(settings)
    r = await service.client.post(
        "/api/v1/alertmanager",
        json=fixture_json("alertmanager/firing.json"),
        headers={"Authorization": f"Bearer {AM}"},
    )
    assert r.status == 200, await r.text()  # incident 1
    yield service


async def post(svc: Any, path: str, body: Any = None, raw: bytes | None = None, token: str = ENG) -> tuple[int, str]:
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    r = await svc.client.post(path, data=data, headers=headers)
    return r.status, await r.text()


async def refused_without_change(svc: Any, path: str, statuses: set[int], **kw: Any) -> None:
    before = await snapshot(svc)
    status, text = await post(svc, path, **kw)
    assert await snapshot(svc) == before, "nothing may change"
    assert status in statuses, f"{status} {text[:300]}"


# -- deeply nested JSON ------------------------------------------------------------------------------------
@found("read_json: json.loads raises RecursionError on deeply nested JSON, which nothing catches: 500")
@pytest.mark.parametrize("path", ["/api/v1/alertmanager", "/api/v1/zabbix", "/api/v1/findings", "/api/v1/maintenance"])
async def test_deeply_nested_json_is_a_400(svc: Any, path: str) -> None:
    token = {"/api/v1/alertmanager": AM, "/api/v1/zabbix": ZBX}.get(path, ENG)
    await refused_without_change(svc, path, {400}, raw=b"[" * 100_000 + b"]" * 100_000, token=token)


@found("read_json: strip_nul recurses once per level: a body with \\u0000 nested ~600 deep is a 500")
async def test_nested_json_with_nul_is_refused_cleanly(svc: Any) -> None:
    raw = b'{"version": "4", "alerts": ' + b"[" * 600 + b'"\\u0000"' + b"]" * 600 + b"}"
    await refused_without_change(svc, "/api/v1/alertmanager", {400, 413, 422}, raw=raw, token=AM)


# -- Zabbix bodies -------------------------------------------------------------------------------------------
@found("connectors.zabbix.parse calls value() (str.strip) on event_incident_tag unchecked: AttributeError, 500")
async def test_zabbix_incident_tag_not_a_string(svc: Any) -> None:
    body = {**fixture_json("zabbix/problem.json"), "event_incident_tag": 5}
    before = await snapshot(svc)
    status, text = await post(svc, "/api/v1/zabbix", body, token=ZBX)
    assert status in (200, 422), f"{status} {text[:300]}"
    if status != 200:
        assert await snapshot(svc) == before


@found("connectors.zabbix.parse: '²'.isdigit() is True but int('²') raises ValueError: 500")
async def test_zabbix_recovery_id_superscript_digit(svc: Any) -> None:
    body = {**fixture_json("zabbix/recovery.json"), "event_recovery_id": "²"}
    status, text = await post(svc, "/api/v1/zabbix", body, token=ZBX)
    assert status in (200, 422), f"{status} {text[:300]}"


@found("connectors.zabbix._tags: json.loads(event_tags) raises RecursionError on nested JSON, not caught: 500")
async def test_zabbix_event_tags_deeply_nested(svc: Any) -> None:
    body = fixture_json("zabbix/problem.json")
    del body["event_tags_parsed"]
    body["event_tags"] = "[" * 20_000 + "]" * 20_000  # 40 000 characters: within the field's 65 536
    status, text = await post(svc, "/api/v1/zabbix", body, token=ZBX)
    assert status in (200, 422), f"{status} {text[:300]}"


@found("connectors.zabbix.parse raises RecursionError (not PayloadError) for nested event_tags")
def test_zabbix_parse_event_tags_deeply_nested() -> None:
    body = fixture_json("zabbix/problem.json")
    del body["event_tags_parsed"]
    body["event_tags"] = "[" * 20_000 + "]" * 20_000
    zabbix.parse(body)  # returns the alert (tags unreadable: none), or raises PayloadError


# -- times outside what UTC can hold ---------------------------------------------------------------------------
@found("UTCDateTime.process_bind_param: astimezone(UTC) overflows for year 1 / 9999 with an offset: 500")
@pytest.mark.parametrize(
    ("fixture", "field", "value"),
    [
        ("alertmanager/firing.json", "startsAt", "0001-01-01T00:30:00+01:00"),
        ("alertmanager/firing.json", "startsAt", "9999-12-31T23:59:59-01:00"),
        ("alertmanager/resolved.json", "endsAt", "9999-12-31T23:59:59-01:00"),
    ],
)
async def test_alertmanager_time_outside_utc(svc: Any, fixture: str, field: str, value: str) -> None:
    body = fixture_json(fixture)
    body["alerts"][0][field] = value
    status, text = await post(svc, "/api/v1/alertmanager", body, token=AM)
    assert status in (200, 422), f"{status} {text[:300]}"


@found("POST /api/v1/maintenance: a window at the end of year 9999 with a negative offset overflows UTC: 500")
async def test_maintenance_window_outside_utc(svc: Any) -> None:
    body = {
        "customer": "acme",
        "starts_at": "9999-12-31T20:00:00-05:00",
        "ends_at": "9999-12-31T21:00:00-05:00",
        "engineer": "E",
    }
    await refused_without_change(svc, "/api/v1/maintenance", {422}, body=body)


# -- ids in the path -------------------------------------------------------------------------------------------
@found("bridge/app.py checks ids with str.isdigit(), which '²' passes, then int('²') raises ValueError: 500")
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/incidents/²/acknowledge",
        "/api/v1/incidents/²/notes",
        "/api/v1/incidents/²/close",
        "/api/v1/maintenance/²/end",
    ],
)
async def test_superscript_digit_id_is_a_400(svc: Any, path: str) -> None:
    body = {"engineer": "E", "text": "t"} if path.endswith("notes") else {"engineer": "E"}
    await refused_without_change(svc, path, {400}, body=body)


@found("GET /api/v1/incidents/²: str.isdigit() passes, int() raises ValueError: 500")
async def test_get_superscript_digit_id_is_a_400(svc: Any) -> None:
    r = await svc.client.get("/api/v1/incidents/²", headers={"Authorization": f"Bearer {ENG}"})
    assert r.status == 400, await r.text()


@found("ids in non-ASCII digits ('１', fullwidth one) pass str.isdigit() and int() reads them: incident 1 is taken")
async def test_fullwidth_digit_id_is_a_400(svc: Any) -> None:
    await refused_without_change(svc, "/api/v1/incidents/１/acknowledge", {400}, body={"engineer": "E"})


async def test_a_nul_in_a_path_or_query_parameter_is_refused(database_url: str, service_factory: Any) -> None:
    """PostgreSQL text cannot hold NUL: there a parameter carrying one is a 400, never a 500 from the database
    (SQLite holds NUL and simply finds nothing)."""
    from tests.integration.api import Api

    api = Api(await service_factory(load_settings(database_url)))
    for path in (
        "/api/v1/incidents?customer=%00",
        "/api/v1/incidents?service=a%00b",
        "/api/v1/maintenance?customer=%00",
        "/api/v1/tickets/AB%00",
    ):
        status, body = await api.get(path)
        if database_url.startswith("postgresql"):
            assert status == 400 and body["error"] == "bad_parameter", (path, status, body)
        else:
            assert status in (200, 404), (path, status, body)
