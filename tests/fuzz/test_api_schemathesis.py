"""Schemathesis against the OpenAPI document the running service serves (GET /api/v1/openapi.json).

The service runs for real: `alertbridge migrate` then `alertbridge serve` as a subprocess on a free port,
with an SQLite file (tests/fuzz/server.py). Every documented operation is fuzzed with positive and
negative data (schemathesis' examples, coverage and fuzzing phases); every generated case is sent

- with a token that may use the operation (drawn among the operation's own ingest token, the engineers'
  token, the admin token and, for reads, a read-only token bound to one customer),
- without a token and with a token nobody issued (both must be 401),
- with a real token that lacks the operation's scope (must be 403),

and every answer is checked: no 5xx, the status and content type are documented, the body matches the
documented schema, and every answer >= 400 is JSON with an `error` (and a `message`), as
bridge/app.py's problem() writes it. Undocumented methods on documented paths must be a JSON 405.

The number of cases (and requests) goes to $ALERTBRIDGE_RELIABILITY_OUT/fuzz_api.json when that is set."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (a dev dependency: pip install -e '.[dev]')"
)

import requests  # noqa: E402  (schemathesis brings it)
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bridge import openapi  # noqa: E402
from tests.conftest import FIXTURES, TOKENS  # noqa: E402
from tests.fuzz.budget import TRIED, examples, write_figures  # noqa: E402
from tests.fuzz.server import ACME_READER, ADMIN, Server  # noqa: E402

pytestmark = pytest.mark.fuzz

AM = TOKENS["ALERTBRIDGE_TOKEN_ALERTMANAGER"]
ZBX = TOKENS["ALERTBRIDGE_TOKEN_ZABBIX"]
ENG = TOKENS["ALERTBRIDGE_TOKEN_ENGINEER"]
UNKNOWN_TOKEN = "not-a-token-anybody-issued"

# scope -> (tokens that may use it, a real token without that scope)
ALLOWED: dict[str, tuple[list[str], str]] = {
    "alertmanager": ([AM, ADMIN], ZBX),
    "zabbix": ([ZBX, ADMIN], AM),
    "findings": ([ENG, ADMIN], ZBX),
    "work": ([ENG, ADMIN], ACME_READER),
    "read": ([ENG, ADMIN, ACME_READER], AM),
}
SCHEMA_PATH = "/api/v1/openapi.json"
TIMEOUT = 15.0
STATS: Counter[str] = Counter()
STATS_OPERATIONS: set[str] = set()


# -- checks ------------------------------------------------------------------------------------------
def _header(response: Any, name: str) -> str:
    """A header of a schemathesis Response (lower-case keys, list values) or a requests one."""
    value = response.headers.get(name.lower()) or response.headers.get(name)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def _json_body(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"the answer ({response.status_code}, {_header(response, 'content-type')}) is not JSON: "
            f"{response.content[:300]!r}"
        ) from None


def problem_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every answer >= 400 is JSON with a string `error` and a string `message` (bridge/app.py problem())."""
    if response.status_code < 400 or case.method.upper() == "HEAD":  # an answer to HEAD has no body
        return None
    ctype = _header(response, "content-type")
    assert ctype.startswith("application/json"), f"{response.status_code} answered with Content-Type {ctype!r}"
    body = _json_body(response)
    assert isinstance(body, dict), f"{response.status_code} answer is JSON but not an object: {body!r}"
    assert isinstance(body.get("error"), str) and body["error"], f"{response.status_code} answer has no `error`: {body}"
    assert isinstance(body.get("message"), str) and body["message"], f"{response.status_code} has no `message`: {body}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    problem_shape,
]


# -- the schema -------------------------------------------------------------------------------------------
# Schemathesis' lazy `from_fixture` loader does not work with pytest 9.2 (it sets Node._nodeid, which pytest
# no longer has), so the operations are collected from the document the service builds (bridge.openapi) and
# test_served_document_is_the_one_fuzzed checks that the running service serves exactly that document.
DOCUMENT = json.loads(json.dumps(openapi.document()))
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.update(request_timeout=TIMEOUT)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=examples(25),
    database="none",
    with_security_parameters=False,
)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])


# -- steering generation towards the pipeline ----------------------------------------------------------
# Bodies made from the schema alone almost never name a configured customer, so they would all stop at 422
# no_customer. These hooks bind some generated bodies to the example customers and services, point some
# path ids at incidents, windows and tickets the run has made, give some windows times that are accepted,
# and add the captured real payloads (tests/fixtures) as explicit examples.
CUSTOMERS = {"acme": ["website", "fileserver"], "globex": ["mail", "nas"]}
customer_or_not = st.sampled_from([None, "acme", "globex"])


def _bind_alertmanager(body: dict[str, Any], customers: list[str | None]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for alert, customer in zip(body["alerts"], customers, strict=False):
        if customer and isinstance(alert, dict) and isinstance(alert.get("labels"), dict):
            alert["labels"]["customer"] = customer
            alert["labels"].setdefault("service", CUSTOMERS[customer][len(alert["labels"]) % 2])
    return body


def _bind_zabbix(body: dict[str, Any], customer: str | None, how: int) -> dict[str, Any]:
    if not customer:
        return body
    body = dict(body)
    if how == 0:
        body["event_tags_parsed"] = [*(body.get("event_tags_parsed") or []), {"tag": "customer", "value": customer}]
    else:
        body["host_groups"] = f"Customers/{customer.capitalize()}"
    return body


def _bind_finding(body: dict[str, Any], customer: str | None, service: int) -> dict[str, Any]:
    if not customer:
        return body
    body = dict(body)
    body["customer"] = customer
    body["service"] = CUSTOMERS[customer][service % 2]
    return body


def _timed_window(body: dict[str, Any], customer: str | None, minutes: int) -> dict[str, Any]:
    if not customer:
        return body
    now = datetime.now(UTC)
    body = dict(body)
    body["customer"] = customer
    body.pop("service", None)
    body["starts_at"] = now.isoformat()
    body["ends_at"] = (now + timedelta(minutes=minutes)).isoformat()
    return body


@schema.hook("flatmap_body")
def towards_customers(context: Any, body: Any) -> Any:
    path = context.operation.path if context.operation is not None else ""
    if not isinstance(body, dict):
        return st.just(body)
    if path == "/api/v1/alertmanager" and isinstance(body.get("alerts"), list) and body["alerts"]:
        n = len(body["alerts"])
        return st.lists(customer_or_not, min_size=n, max_size=n).map(lambda cs: _bind_alertmanager(body, cs))
    if path == "/api/v1/zabbix":
        return st.tuples(customer_or_not, st.integers(0, 1)).map(lambda t: _bind_zabbix(body, *t))
    if path == "/api/v1/findings":
        return st.tuples(customer_or_not, st.integers(0, 1)).map(lambda t: _bind_finding(body, *t))
    if path == "/api/v1/maintenance":
        return st.tuples(customer_or_not, st.integers(1, 120)).map(lambda t: _timed_window(body, *t))
    return st.just(body)


@schema.hook("flatmap_path_parameters")
def towards_existing(context: Any, path_parameters: dict[str, Any]) -> Any:
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    if isinstance(path_parameters.get("id"), int):
        return st.one_of(st.just(path_parameters), st.integers(1, 40).map(lambda i: {**path_parameters, "id": i}))
    if isinstance(path_parameters.get("number"), str):
        return st.one_of(
            st.just(path_parameters),
            st.integers(1, 40).map(lambda i: {**path_parameters, "number": f"AB-{i:06d}"}),
        )
    return st.just(path_parameters)


def _captured(source: str) -> list[Any]:
    return [json.loads(p.read_text()) for p in sorted((FIXTURES / source).glob("*.json"))]


CAPTURED_FINDING = {
    "customer": "acme",
    "service": "fileserver",
    "host": "acme-db01",
    "title": "Backup job fails every night",
    "description": "ENOSPC on the NAS",
    "engineer": "Ivan Petrov",
    "service_affecting": False,
}


@schema.hook("before_add_examples")
def captured_payloads(context: Any, examples: list[Any]) -> None:
    op = context.operation
    bodies = {
        "/api/v1/alertmanager": lambda: _captured("alertmanager"),
        "/api/v1/zabbix": lambda: _captured("zabbix"),
        "/api/v1/findings": lambda: [CAPTURED_FINDING, {**CAPTURED_FINDING, "status": "resolved"}],
    }.get(op.path if op is not None else "")
    if bodies is not None:
        examples.extend(op.Case(body=b, media_type="application/json") for b in bodies())


@pytest.fixture(scope="module")
def http(live_server: Server) -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    yield
    if STATS["cases"]:
        write_figures(
            "fuzz_api",
            {
                "fuzz_api_cases": STATS["cases"],
                "fuzz_api_requests": STATS["requests"],
                "fuzz_api_operations": len(STATS_OPERATIONS),
                "fuzz_api_statuses": {k[7:]: v for k, v in sorted(STATS.items()) if k.startswith("status_")},
            },
        )


def test_served_document_is_the_one_fuzzed(live_server: Server, http: requests.Session) -> None:
    r = http.get(live_server.base + SCHEMA_PATH, timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == DOCUMENT


def scope_of(operation: Any) -> str | None:
    """The scope an operation needs (None: public), as the document declares it (x-scope; reads: read)."""
    definition = operation.definition.raw
    if not definition.get("security"):
        return None
    return str(definition.get("x-scope", "read"))


def _send(case: Any, live_server: Server, http: requests.Session, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = case.call(base_url=live_server.base, session=http, headers=headers, timeout=TIMEOUT)
    STATS["requests"] += 1
    STATS[f"status_{response.status_code}"] += 1
    if not live_server.alive():
        pytest.fail(f"alertbridge died during {case.operation.label}:\n{live_server.log_tail()}")
    if response.status_code >= 500:
        pytest.fail(
            f"{case.operation.label} answered {response.status_code}\n"
            f"{case.as_curl_command(headers=dict(response.request.headers))}\n"
            f"server log:\n{live_server.log_tail(4000)}"
        )
    case.validate_response(response, checks=CHECKS, headers=headers)
    return response


def _route_missed(response: Any) -> bool:
    """aiohttp found no route (a generated path parameter with '/' or the like): then no token is read."""
    if response.status_code != 404:
        return False
    body = _json_body(response)
    return isinstance(body, dict) and str(body.get("message", "")).startswith("no such endpoint")


@schema.parametrize()
def test_api_conforms(case: Any, live_server: Server, http: requests.Session) -> None:
    STATS["cases"] += 1
    TRIED[f"api: {case.operation.label}"] += 1
    STATS_OPERATIONS.add(case.operation.label)
    scope = scope_of(case.operation)
    if scope is None:
        _send(case, live_server, http, None)
        _send(case, live_server, http, UNKNOWN_TOKEN)  # a public endpoint ignores any token
        return
    allowed, wrong_scope = ALLOWED[scope]
    # the tokens that may use the operation take turns (a `given` of our own would turn off schemathesis'
    # examples and coverage phases)
    answered = _send(case, live_server, http, allowed[STATS["cases"] % len(allowed)])
    if _route_missed(answered) or case.method.upper() != case.operation.method.upper():
        return  # no route (an odd path parameter) or a method probe: aiohttp answers before any token is read
    for token, status in ((None, 401), (UNKNOWN_TOKEN, 401), (wrong_scope, 403)):
        r = _send(case, live_server, http, token)
        assert r.status_code == status, (
            f"{case.operation.label} with {'no token' if token is None else 'token ' + token!r} answered "
            f"{r.status_code}, not {status}: {r.content[:300]!r}"
        )


# -- methods the document does not list ----------------------------------------------------------------
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def test_undocumented_methods_are_json_405(live_server: Server, http: requests.Session) -> None:
    doc = http.get(live_server.base + SCHEMA_PATH, timeout=TIMEOUT).json()
    tried = 0
    for path, item in doc["paths"].items():
        concrete = path.replace("{id}", "1").replace("{number}", "AB-000001")
        for method in METHODS:
            if method.lower() in item:
                continue
            r = http.request(
                method,
                live_server.base + concrete,
                headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
                data=b"{}",
                timeout=TIMEOUT,
            )
            tried += 1
            assert r.status_code == 405, f"{method} {concrete}: {r.status_code} {r.text[:300]}"
            body = r.json()
            assert body["error"] == "method_not_allowed", body
            assert isinstance(body.get("message"), str), body
            assert "Allow" in r.headers, f"{method} {concrete}: 405 without Allow"
    STATS["requests"] += tried
    assert tried > 0
    assert live_server.alive(), live_server.log_tail()
