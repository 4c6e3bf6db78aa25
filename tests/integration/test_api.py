"""Bad input gets a clear 4xx JSON error and changes nothing; tokens, reads, health, metrics, OpenAPI."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.conftest import fixture_json, load_settings
from tests.integration import bodies
from tests.integration.api import AM, ENG, ZBX, Api

FIRE = bodies.website()
FINDING = {"customer": "acme", "service": "website", "title": "t", "engineer": "E"}

BAD = [
    # (what, path, body, token, raw, content type, status, error)
    ("no token", "/api/v1/alertmanager", FIRE, None, None, "application/json", 401, "unauthorized"),
    ("wrong token", "/api/v1/alertmanager", FIRE, "nope", None, "application/json", 401, "unauthorized"),
    ("zabbix token on alertmanager", "/api/v1/alertmanager", FIRE, ZBX, None, "application/json", 403, "forbidden"),
    ("alertmanager token on findings", "/api/v1/findings", FINDING, AM, None, "application/json", 403, "forbidden"),
    (
        "malformed JSON",
        "/api/v1/alertmanager",
        None,
        AM,
        b'{"version": "4", "alerts": [',
        "application/json",
        400,
        "malformed_json",
    ),
    ("not UTF-8", "/api/v1/alertmanager", None, AM, b"\xff\xfe{}", "application/json", 400, "malformed_json"),
    ("empty body", "/api/v1/alertmanager", None, AM, b"", "application/json", 400, "empty_body"),
    ("JSON array", "/api/v1/alertmanager", [1, 2], AM, None, "application/json", 422, "invalid_payload"),
    (
        "wrong types",
        "/api/v1/alertmanager",
        {"version": "4", "alerts": "x"},
        AM,
        None,
        "application/json",
        422,
        "invalid_payload",
    ),
    ("missing alerts", "/api/v1/alertmanager", {"version": "4"}, AM, None, "application/json", 422, "invalid_payload"),
    (
        "wrong version",
        "/api/v1/alertmanager",
        {**FIRE, "version": "3"},
        AM,
        None,
        "application/json",
        422,
        "invalid_payload",
    ),
    (
        "oversized body",
        "/api/v1/alertmanager",
        None,
        AM,
        b'{"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}',
        "application/json",
        413,
        "body_too_large",
    ),
    (
        "wrong content type",
        "/api/v1/alertmanager",
        None,
        AM,
        b"version=4",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    ("zabbix garbage", "/api/v1/zabbix", {"event_id": {"x": 1}}, ZBX, None, "application/json", 422, "invalid_payload"),
    (
        "zabbix without event value",
        "/api/v1/zabbix",
        {"event_id": "5", "event_name": "x"},
        ZBX,
        None,
        "application/json",
        422,
        "invalid_payload",
    ),
    (
        "finding without title",
        "/api/v1/findings",
        {"customer": "acme"},
        ENG,
        None,
        "application/json",
        422,
        "invalid_payload",
    ),
    (
        "finding with unknown field",
        "/api/v1/findings",
        {**FINDING, "sevrity": "x"},
        ENG,
        None,
        "application/json",
        422,
        "invalid_payload",
    ),
    (
        "finding for unknown customer",
        "/api/v1/findings",
        {**FINDING, "customer": "nosuch"},
        ENG,
        None,
        "application/json",
        422,
        "unknown_customer",
    ),
    (
        "alert for unknown customer",
        "/api/v1/alertmanager",
        bodies.website(customer="nosuch"),
        AM,
        None,
        "application/json",
        422,
        "unknown_customer",
    ),
]


@pytest.fixture
async def api(database_url: str, service_factory: Any) -> Api:
    return Api(await service_factory(load_settings(database_url)))


@pytest.mark.parametrize(
    ("what", "path", "body", "token", "raw", "ctype", "status", "error"), BAD, ids=[b[0] for b in BAD]
)
async def test_bad_input_is_refused_and_changes_nothing(
    api: Api, what: str, path: str, body: Any, token: str | None, raw: bytes | None, ctype: str, status: int, error: str
) -> None:
    before = await api.counts()
    got, answer = await api.post(path, body, token, raw=raw, content_type=ctype)
    assert got == status, answer
    assert isinstance(answer, dict) and answer["error"] == error and answer["message"], answer
    assert await api.counts() == before


async def test_invalid_payload_names_the_field(api: Api) -> None:
    bad = bodies.website()
    bad["alerts"][0]["status"] = "burning"
    status, answer = await api.am(bad)
    assert status == 422 and answer["field"] == "alerts[0].status"


async def test_unknown_endpoint_and_method_are_json(api: Api) -> None:
    status, body = await api.get("/api/v1/nothing")
    assert status == 404 and body["error"] == "not_found"
    status, body = await api.post("/healthz", {}, AM)
    assert status == 405 and body["error"] == "method_not_allowed"


async def test_reads_need_a_reading_token(api: Api) -> None:
    await api.am(bodies.website())
    assert (await api.get("/api/v1/incidents", token=None))[0] == 401
    assert (await api.get("/api/v1/incidents", token=AM))[0] == 403
    status, body = await api.get("/api/v1/incidents?kind=bogus")
    assert status == 400 and "kind" in body["message"]
    status, body = await api.get("/api/v1/incidents?colour=red")
    assert status == 400
    status, body = await api.get("/api/v1/incidents?limit=0")
    assert status == 400
    assert (await api.get("/api/v1/incidents/abc"))[0] == 400
    assert (await api.get("/api/v1/incidents/999999"))[0] == 404
    assert (await api.get("/api/v1/tickets/NOPE-1"))[0] == 404


async def test_pagination_follows_next(api: Api) -> None:
    for n in range(5):
        await api.am(
            bodies.body(
                [bodies.alert({**bodies.WEBSITE_DOWN, "instance": f"https://a{n}.acme.example/"}, bodies.WEBSITE_ANN)]
            )
        )
    status, page = await api.get("/api/v1/incidents?limit=2")
    seen = [i["id"] for i in page["incidents"]]
    assert page["total"] == 5
    while page["next"]:
        status, page = await api.get(page["next"])
        seen += [i["id"] for i in page["incidents"]]
    assert len(seen) == 5 == len(set(seen))


async def test_token_bound_to_a_customer(database_url: str, service_factory: Any) -> None:
    secret = "acme-only-secret"
    tokens = [
        {
            "name": "acme-am",
            "sha256": hashlib.sha256(secret.encode()).hexdigest(),
            "scopes": ["alertmanager", "read"],
            "customer": "acme",
        },
        {"name": "eng", "token": ENG, "scopes": ["findings", "read"]},
    ]
    api = Api(await service_factory(load_settings(database_url, tokens=tokens)))
    status, body = await api.post("/api/v1/alertmanager", bodies.website(), secret)
    assert status == 200
    mail_down = bodies.body([bodies.alert(bodies.MAIL_DOWN, {"summary": "down"})])
    status, body = await api.post("/api/v1/alertmanager", mail_down, secret)
    assert status == 403 and body["error"] == "forbidden_customer"
    await api.post("/api/v1/findings", {**FINDING, "customer": "globex", "service": "mail"}, ENG)
    status, page = await api.get("/api/v1/incidents", token=secret)
    assert [i["customer"] for i in page["incidents"]] == ["acme"]
    globex = (await api.incidents(customer="globex"))[0]
    assert (await api.get(f"/api/v1/incidents/{globex['id']}", token=secret))[0] == 404
    assert (await api.get(f"/api/v1/tickets/{globex['ticket']}", token=secret))[0] == 404


async def test_health_metrics_openapi(api: Api) -> None:
    assert (await api.get("/healthz", token=None))[0] == 200
    assert (await api.get("/readyz", token=None))[0] == 200
    await api.am(bodies.website())
    await api.zbx(fixture_json("zabbix/problem.json"))
    status, text = await api.get("/metrics", token=None)
    assert status == 200
    assert 'alertbridge_alerts_received_total{outcome="open",source="alertmanager"} 1.0' in text
    assert 'alertbridge_incidents_opened_total{kind="incident"} 1.0' in text
    assert 'alertbridge_incidents_opened_total{kind="fault"} 1.0' in text
    assert "alertbridge_outbox_depth 1.0" in text
    assert "alertbridge_http_request_duration_seconds_bucket" in text
    status, doc = await api.get("/api/v1/openapi.json", token=None)
    assert status == 200 and doc["openapi"].startswith("3.")
    for path in (
        "/api/v1/alertmanager",
        "/api/v1/zabbix",
        "/api/v1/findings",
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/tickets/{number}",
        "/api/v1/incidents/{id}/acknowledge",
        "/api/v1/incidents/{id}/close",
        "/api/v1/maintenance",
        "/api/v1/maintenance/{id}/end",
    ):
        assert path in doc["paths"]
    refs = {r for r in _refs(doc)}
    assert refs <= {f"#/components/schemas/{n}" for n in doc["components"]["schemas"]}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [node["$ref"]] if "$ref" in node else []
        return out + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_database_unreachable_is_503_and_not_ready(service_factory: Any) -> None:
    from tests.conftest import free_port

    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    api = Api(await service_factory(load_settings(url)))
    status, body = await api.am(bodies.website())
    assert status == 503 and body["error"] == "database_unavailable"
    status, body = await api.get("/readyz", token=None)
    assert status == 503
    status, body = await api.get("/api/v1/incidents")
    assert status == 503
    assert (await api.get("/healthz", token=None))[0] == 200
    status, text = await api.get("/metrics", token=None)
    assert status == 200 and "alertbridge_up 1.0" in text


async def test_awkward_but_valid_values_are_stored_not_500(api: Api) -> None:
    nul = bodies.body(
        [
            bodies.alert(
                {**bodies.WEBSITE_DOWN, "instance": "https://x\u0000y.acme.example/"},
                {"summary": "down\u0000 hard", "description": "ü" * 8000},
            )
        ]
    )
    status, body = await api.am(nul)
    assert status == 200, body
    long_key = {**FINDING, "key": "k" * 255, "title": "T" * 255, "engineer": "E" * 255, "description": "d" * 60000}
    status, body = await api.post("/api/v1/findings", long_key, ENG)
    assert status == 200, body
    z = fixture_json("zabbix/problem.json")
    z.update(trigger_id="{TRIGGER.ID}", event_name="N" * 5000, host_host="h" * 300, event_id="9" * 20)
    status, body = await api.zbx(z)
    assert status == 200, body
    assert len(await api.incidents()) == 3
