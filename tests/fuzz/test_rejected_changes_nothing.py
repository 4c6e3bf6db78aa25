"""Rejected requests change nothing: hypothesis-generated requests the service must refuse (unauthenticated,
wrong scope, malformed or empty JSON, wrong content type, oversized, invalid payloads, unknown or foreign
customers, unknown or closed incidents, invalid maintenance windows) are posted to the ingest endpoints and
the engineers' endpoints of the service running in-process (SQLite). Each must get the 4xx it deserves, as
JSON with an `error` and a `message`, and every table of the database must hold exactly what it held
before (row by row, not only the counts).

Requests the service might accept (a mutated real payload, arbitrary JSON) are sent too: for them any 2xx
is fine, but never a 5xx, and a 4xx must change nothing either."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bridge import schema
from bridge.app import Acknowledgement, NoteIn, WindowIn
from connectors import alertmanager, findings, zabbix
from connectors.alert import PayloadError, strip_nul
from connectors.validation import parse_model
from tests.conftest import TOKENS, fixture_json, load_settings
from tests.fuzz.budget import TRIED, fuzz_settings
from tests.fuzz.server import ACME_READER, ACME_SENDER, ADMIN, TOKEN_ENV, write_config
from tests.fuzz.strategies import FINDINGS, captured, depth, json_values, mutated, nasty_text

pytestmark = pytest.mark.fuzz

AM = TOKENS["ALERTBRIDGE_TOKEN_ALERTMANAGER"]
ZBX = TOKENS["ALERTBRIDGE_TOKEN_ZABBIX"]
ENG = TOKENS["ALERTBRIDGE_TOKEN_ENGINEER"]
REAL_TOKENS = {AM, ZBX, ENG, ADMIN, ACME_READER, ACME_SENDER}
LIMIT = 1_048_576  # limits.max_body_bytes of config/example.yaml
DEEP = 64  # the JSON nesting past which the service refuses a body (connectors.validation.MAX_DEPTH)

INGEST = {
    "/api/v1/alertmanager": (alertmanager.parse, [AM, ADMIN], ZBX, captured("alertmanager")),
    "/api/v1/zabbix": (zabbix.parse, [ZBX, ADMIN], AM, captured("zabbix")),
    "/api/v1/findings": (findings.parse, [ENG, ADMIN], ZBX, FINDINGS),
}
KNOWN_CUSTOMER_NAMES = {"acme", "globex", "acme ltd", "globex corporation"}


# -- the service and its database -------------------------------------------------------------------------
async def snapshot(svc: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with svc.db.read() as conn:
        for t in schema.metadata.sorted_tables:
            order = list(t.primary_key.columns) or list(t.columns)
            out[t.name] = [tuple(r) for r in (await conn.execute(select(t).order_by(*order))).all()]
    return out


@dataclass
class World:
    """The service with a little history: ids the generated requests aim at."""

    svc: Any
    open_incident: int
    fault: int
    closed: int
    globex_incident: int
    window_ended: int
    window_open: int


async def _post(svc: Any, path: str, body: Any, token: str) -> dict[str, Any]:
    r = await svc.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status < 300, (path, r.status, await r.text())
    return dict(await r.json())


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path, service_factory: Any) -> AsyncIterator[World]:
    settings = load_settings(sqlite_url, env=TOKEN_ENV, config=write_config(tmp_path / "config.yaml"))
    svc = await service_factory(settings)
    incident = (await _post(svc, "/api/v1/alertmanager", fixture_json("alertmanager/firing.json"), AM))["incident_id"]
    fault = (await _post(svc, "/api/v1/findings", {**FINDINGS[0], "title": "seed fault"}, ENG))["incident_id"]
    closed = (await _post(svc, "/api/v1/findings", {**FINDINGS[0], "title": "seed closed"}, ENG))["incident_id"]
    await _post(svc, f"/api/v1/incidents/{closed}/close", {"engineer": "Seed"}, ENG)
    globex = (await _post(svc, "/api/v1/findings", FINDINGS[1], ENG))["incident_id"]
    now = datetime.now(UTC)
    window = {"customer": "globex", "service": "nas", "engineer": "Seed", "reason": "seed"}
    ended = await _post(svc, "/api/v1/maintenance", {**window, "ends_at": (now + timedelta(hours=1)).isoformat()}, ENG)
    await _post(svc, f"/api/v1/maintenance/{ended['id']}/end", {}, ENG)
    running = await _post(svc, "/api/v1/maintenance", {**window, "ends_at": (now + timedelta(days=2)).isoformat()}, ENG)
    kinds = {
        i["id"]: i["kind"]
        for i in (await (await svc.client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {ENG}"})).json())[
            "incidents"
        ]
    }
    assert kinds[fault] == "fault" and kinds[incident] == "incident", kinds
    yield World(svc, incident, fault, closed, globex, int(ended["id"]), int(running["id"]))


# -- generated requests ------------------------------------------------------------------------------------
@dataclass
class Req:
    """One request, and what the service must answer: {status: error names} (None: it may accept it)."""

    why: str
    path: str
    body: Any = None
    raw: bytes | None = None
    token: str | None = None
    authorization: str | None = None  # the whole header, when it is not "Bearer <token>"
    content_type: str = "application/json"
    chunked: bool = False
    expect: dict[int, set[str]] | None = field(default_factory=dict)

    def payload(self) -> bytes:
        return self.raw if self.raw is not None else json.dumps(self.body).encode()

    def headers(self) -> dict[str, str]:
        h = {"Content-Type": self.content_type} if self.content_type is not None else {}
        if self.authorization is not None:
            h["Authorization"] = self.authorization
        elif self.token is not None:
            h["Authorization"] = f"Bearer {self.token}"
        return h


def body_paths(w: World) -> list[str]:
    """Endpoints that read a JSON body (a valid body closes nothing: `close` aims at the closed incident)."""
    return [
        *INGEST,
        f"/api/v1/incidents/{w.open_incident}/acknowledge",
        f"/api/v1/incidents/{w.open_incident}/notes",
        f"/api/v1/incidents/{w.closed}/close",
        "/api/v1/maintenance",
    ]


def all_paths(w: World) -> list[str]:
    return [*body_paths(w), f"/api/v1/maintenance/{w.window_open}/end"]  # `end` reads no body


def model_of(path: str) -> type[Any] | None:
    if path.endswith("/notes"):
        return NoteIn
    if path.endswith(("/acknowledge", "/close")):
        return Acknowledgement
    if path == "/api/v1/maintenance":
        return WindowIn
    return None


def valid_body(path: str) -> Any:
    if path in INGEST:
        return INGEST[path][3][0]
    if path == "/api/v1/maintenance":
        return {"customer": "acme", "ends_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "engineer": "X"}
    if path.endswith("/notes"):
        return {"engineer": "X", "text": "a note"}
    return {"engineer": "X"}


def allowed_token(path: str) -> str:
    return INGEST[path][1][0] if path in INGEST else ENG


printable = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)


@st.composite
def unauthenticated(draw: st.DrawFn, w: World) -> Req:
    path = draw(st.sampled_from(all_paths(w)))
    body = valid_body(path)
    how = draw(st.sampled_from(["none", "unknown", "scheme", "empty", "scope"]))
    if how == "none":
        return Req("no token", path, body, expect={401: {"unauthorized"}})
    if how == "unknown":
        token = draw(printable.filter(lambda t: t.strip() not in REAL_TOKENS))
        return Req("unknown token", path, body, token=token, expect={401: {"unauthorized"}})
    if how == "scheme":
        scheme = draw(st.sampled_from(["Basic", "Token", "Bearer:", "Digest", "bearer-", "JWT"]))
        header = f"{scheme} {draw(st.sampled_from(sorted(REAL_TOKENS)))}"
        return Req("not a bearer token", path, body, authorization=header, expect={401: {"unauthorized"}})
    if how == "empty":
        header = draw(st.sampled_from(["", "Bearer", "Bearer ", "Bearer    ", " "]))
        return Req("empty authorization", path, body, authorization=header, expect={401: {"unauthorized"}})
    wrong = INGEST[path][2] if path in INGEST else draw(st.sampled_from([AM, ZBX, ACME_READER]))
    return Req("token without the scope", path, body, token=wrong, expect={403: {"forbidden"}})


def _not_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return True
    return False


@st.composite
def malformed(draw: st.DrawFn, w: World) -> Req:
    path = draw(st.sampled_from(body_paths(w)))
    whole = json.dumps(valid_body(path)).encode()
    raw = draw(
        st.sampled_from([b"", b" ", b"\n\t\r ", b"\xef\xbb\xbf"])
        | st.integers(min_value=1, max_value=len(whole) - 1).map(lambda n: whole[:n])
        | st.binary(max_size=300)
        | st.sampled_from(
            [
                b"{'version': '4'}",
                b"{version: 4}",
                b"[1,]",
                b'{"a": 1,}',
                b'{"a": "\xff\xfe"}',
                b'{"a": "\\ud800"',
                b"\x00",
                b'{"a": 1} {"b": 2}',
                b"nul",
                b"+1",
                b"01",
                b'"unterminated',
            ]
        )
        | st.tuples(st.just(whole), st.sampled_from([b"x", b",", b"}", b"\x00", b"]"])).map(b"".join)
    )
    if draw(st.integers(min_value=0, max_value=9)) == 0:  # nested past any payload's needs, up to 100 000 deep
        n = draw(st.sampled_from([DEEP + 1, 1_000, 5_000, 100_000]))
        opening, closing = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        raw = opening * n + draw(st.sampled_from([b"1", b'"\\u0000"', b""])) + closing * n
        return Req(
            "JSON nested too deep",
            path,
            raw=raw,
            token=allowed_token(path),
            expect={400: {"too_deep", "malformed_json"}},
        )
    if not raw.strip():
        return Req(
            "empty body", path, raw=raw, token=allowed_token(path), expect={400: {"empty_body", "malformed_json"}}
        )
    if not _not_json(raw):
        return Req("JSON after all", path, raw=raw, token=allowed_token(path), expect=None)
    return Req("not JSON", path, raw=raw, token=allowed_token(path), expect={400: {"malformed_json"}})


@st.composite
def wrong_content_type(draw: st.DrawFn, w: World) -> Req:
    path = draw(st.sampled_from(body_paths(w)))
    ctype = draw(
        st.sampled_from(
            [
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/xml",
                "application/json-patch+json",
                "application/jsonx",
                "text/json",
                "application/octet-stream",
            ]
        )
        | printable.filter(lambda c: c.split(";")[0].strip().lower() not in ("application/json", ""))
    )
    return Req(
        "not JSON content",
        path,
        valid_body(path),
        token=allowed_token(path),
        content_type=ctype,
        expect={415: {"unsupported_media_type"}},
    )


@st.composite
def oversized(draw: st.DrawFn, w: World) -> Req:
    path = draw(st.sampled_from(body_paths(w)))
    size = draw(st.sampled_from([LIMIT + 1, LIMIT + 2, LIMIT + 65_536, 2 * LIMIT, 3 * LIMIT + 7]))
    unit = draw(st.sampled_from(["x", "é", "\x00"]))
    body = valid_body(path)
    if isinstance(body, dict) and draw(st.booleans()):
        prefix = json.dumps({**body, "padding": ""}).encode()[:-2]
        raw = prefix + json.dumps(unit * size)[1:].encode()[: max(0, size - len(prefix) - 2)] + b'"}'
        raw = raw + b" " * max(0, size - len(raw))
    else:
        raw = draw(st.sampled_from([b"[", b"{", b"x", b" "])) * size
    assert len(raw) > LIMIT
    return Req(
        "body over the limit",
        path,
        raw=raw,
        token=allowed_token(path),
        chunked=draw(st.booleans()),
        expect={413: {"body_too_large"}},
    )


def _unknown_name(name: str) -> bool:
    norm = name.replace("\x00", "").strip().lower()
    return bool(norm) and norm not in KNOWN_CUSTOMER_NAMES


customer_names = st.text(min_size=1, max_size=60).filter(_unknown_name) | st.sampled_from(
    ["initech", "ACME Corp", "globex2", "acme-", "0", "customer", "Acme Ltd."]
)


@st.composite
def unknown_customer(draw: st.DrawFn, w: World) -> Req:
    path = draw(st.sampled_from(sorted(INGEST)))
    name = draw(customer_names)
    body = json.loads(json.dumps(draw(st.sampled_from(INGEST[path][3]))))
    if path == "/api/v1/alertmanager":
        i = draw(st.integers(min_value=0, max_value=len(body["alerts"]) - 1))
        body["alerts"][i]["labels"]["customer"] = name  # one bad alert: the whole body is refused
    elif path == "/api/v1/zabbix":
        tags = [t for t in body.get("event_tags_parsed") or [] if t["tag"] != "customer"]
        body["event_tags_parsed"] = [{"tag": "customer", "value": name}, *tags]
    else:
        body["customer"] = name
        if not name.strip() or len(name.strip()) > 255:
            return Req(
                "unknown customer (invalid)", path, body, token=allowed_token(path), expect={422: {"invalid_payload"}}
            )
    return Req("unknown customer", path, body, token=allowed_token(path), expect={422: {"unknown_customer"}})


@st.composite
def foreign_customer(draw: st.DrawFn, w: World) -> Req:
    """A token bound to acme sending or acting on globex's data."""
    path = draw(
        st.sampled_from(
            [
                *INGEST,
                f"/api/v1/incidents/{w.globex_incident}/acknowledge",
                f"/api/v1/incidents/{w.globex_incident}/notes",
                f"/api/v1/incidents/{w.globex_incident}/close",
                f"/api/v1/maintenance/{w.window_open}/end",
                "/api/v1/maintenance",
            ]
        )
    )
    if path == "/api/v1/alertmanager":
        body = next(b for b in captured("alertmanager") if b["alerts"][0]["labels"].get("customer") == "globex")
        return Req("another customer's alerts", path, body, token=ACME_SENDER, expect={403: {"forbidden_customer"}})
    if path == "/api/v1/zabbix":
        body = {**INGEST[path][3][0], "event_tags_parsed": [{"tag": "customer", "value": "globex"}]}
        return Req("another customer's problem", path, body, token=ACME_SENDER, expect={403: {"forbidden_customer"}})
    if path == "/api/v1/findings":
        return Req(
            "another customer's finding", path, FINDINGS[1], token=ACME_SENDER, expect={403: {"forbidden_customer"}}
        )
    if path == "/api/v1/maintenance":
        body = {**valid_body(path), "customer": "globex"}
        return Req("another customer's window", path, body, token=ACME_SENDER, expect={422: {"unknown_customer"}})
    return Req("another customer's incident", path, valid_body(path), token=ACME_SENDER, expect={404: {"not_found"}})


@st.composite
def invalid_payload(draw: st.DrawFn, w: World) -> Req:
    """Valid JSON that the endpoint's model refuses; when the model would take it, it may be accepted."""
    path = draw(st.sampled_from(body_paths(w)))
    if path in INGEST:
        source = draw(st.sampled_from([None, "mutated"]))
        body = draw(mutated(INGEST[path][3]) if source else json_values(max_leaves=15))
        parse = INGEST[path][0]
    else:
        model = model_of(path)
        keys = list(model.model_fields) if model else ["engineer", "note"]
        body = draw(
            st.dictionaries(st.sampled_from(keys) | nasty_text, json_values(max_leaves=4) | nasty_text, max_size=6)
            | json_values(max_leaves=10)
            | st.sampled_from(
                [
                    {"engineer": ""},
                    {"engineer": " \t"},
                    {"engineer": "x" * 256},
                    {"engineer": "X", "x": 1},
                    {"engineer": "X", "text": "   "},
                    {"engineer": "X", "note": "n" * 65537},
                    {"engineer": None},
                    {},
                    [],
                    "engineer",
                    0,
                    None,
                ]
            )
        )

        def parse(data: Any) -> Any:
            return parse_model(model, data) if model else None

    raw = json.dumps(body).encode()
    if len(raw) > LIMIT:
        return Req(
            "payload over the limit",
            path,
            raw=raw,
            body=body,
            token=allowed_token(path),
            expect={413: {"body_too_large"}},
        )
    if depth(body) > DEEP:
        return Req(
            "payload nested too deep", path, raw=raw, body=body, token=allowed_token(path), expect={400: {"too_deep"}}
        )
    data = json.loads(raw)
    data = strip_nul(data) if b"\\u0000" in raw else data
    try:
        parse(data)
    except PayloadError:
        return Req(
            "invalid payload", path, raw=raw, body=body, token=allowed_token(path), expect={422: {"invalid_payload"}}
        )
    return Req("valid payload", path, raw=raw, body=body, token=allowed_token(path), expect=None)


@st.composite
def wrong_target(draw: st.DrawFn, w: World) -> Req:
    """Valid bodies aimed at incidents and windows that are not there, not numbers, or closed."""
    action = draw(st.sampled_from(["acknowledge", "notes", "close", "end"]))
    base = "/api/v1/maintenance" if action == "end" else "/api/v1/incidents"
    body = valid_body(f"/x/{action}")
    kind = draw(st.sampled_from(["missing", "not-a-number", "closed", "public-on-fault"]))
    if kind == "missing":
        ident = str(draw(st.integers(min_value=10_000, max_value=10**18 - 1) | st.just(0)))
        what = "incident" if base.endswith("incidents") else "maintenance window"
        return Req(f"no such {what}", f"{base}/{ident}/{action}", body, token=ENG, expect={404: {"not_found"}})
    if kind == "not-a-number":
        ident = draw(
            st.sampled_from(["-1", "1.5", "abc", "1e3", "0x1", "%20", "１", "²", "9" * 19, "+1"])
            | st.text(
                st.characters(categories=["L", "N", "P", "S"], exclude_characters="/?#%"), min_size=1, max_size=12
            ).filter(lambda s: not (s.isascii() and s.isdigit() and len(s) <= 18))
        )
        return Req(
            "id is not a number",
            f"{base}/{ident}/{action}",
            body,
            token=ENG,
            expect={400: {"bad_parameter"}, 404: {"not_found"}},
        )
    if action == "end":
        return Req(
            "window already ended", f"{base}/{w.window_ended}/end", body, token=ENG, expect={409: {"already_ended"}}
        )
    if action == "acknowledge":  # acknowledging a closed incident is accepted (it only adds a note)
        return Req("no such incident", f"{base}/{10**17}/acknowledge", body, token=ENG, expect={404: {"not_found"}})
    if action == "notes" and kind == "public-on-fault":
        note = {"engineer": "X", "text": draw(st.text(min_size=1).filter(str.strip)), "public": True}
        return Req(
            "public note on a fault", f"{base}/{w.fault}/notes", note, token=ENG, expect={409: {"fault_is_internal"}}
        )
    return Req("closed incident", f"{base}/{w.closed}/{action}", body, token=ENG, expect={409: {"already_closed"}})


@st.composite
def invalid_window(draw: st.DrawFn, w: World) -> Req:
    now = datetime.now(UTC)
    base = {"customer": "acme", "engineer": "X", "ends_at": (now + timedelta(hours=1)).isoformat()}
    kind = draw(st.sampled_from(["customer", "service", "past", "too-long", "before-start", "naive"]))
    if kind == "customer":
        return Req(
            "window for an unknown customer",
            "/api/v1/maintenance",
            {**base, "customer": draw(customer_names.filter(lambda s: 0 < len(s) <= 64))},
            token=ENG,
            expect={422: {"unknown_customer"}},
        )
    if kind == "service":
        svc = draw(st.text(min_size=1, max_size=64).filter(lambda s: s not in ("website", "fileserver")))
        return Req(
            "window for an unknown service",
            "/api/v1/maintenance",
            {**base, "service": svc},
            token=ENG,
            expect={422: {"unknown_service"}},
        )
    minutes = draw(st.integers(min_value=1, max_value=10**6))
    if kind == "past":
        body = {**base, "ends_at": (now - timedelta(minutes=minutes)).isoformat()}
    elif kind == "too-long":
        body = {**base, "ends_at": (now + timedelta(days=31, minutes=minutes)).isoformat()}
    elif kind == "before-start":
        start = now + timedelta(hours=2)
        body = {**base, "starts_at": start.isoformat(), "ends_at": (start - timedelta(minutes=minutes)).isoformat()}
    else:
        body = {**base, "ends_at": (now + timedelta(hours=1)).replace(tzinfo=None).isoformat()}
    return Req(f"window {kind}", "/api/v1/maintenance", body, token=ENG, expect={422: {"invalid_payload"}})


def requests_for(w: World) -> st.SearchStrategy[Req]:
    return st.one_of(
        unauthenticated(w),
        malformed(w),
        wrong_content_type(w),
        oversized(w),
        unknown_customer(w),
        foreign_customer(w),
        invalid_payload(w),
        wrong_target(w),
        invalid_window(w),
    )


# -- the property ------------------------------------------------------------------------------------------
async def _chunks(raw: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(raw), 65_536):
        yield raw[i : i + 65_536]


async def send(svc: Any, req: Req) -> tuple[int, str, str]:
    raw = req.payload()
    data: Any = _chunks(raw) if req.chunked else raw
    r = await svc.client.post(req.path, data=data, headers=req.headers())
    return r.status, r.headers.get("Content-Type", ""), await r.text()


@fuzz_settings(250, fixtures_reused=True)
@given(data=st.data())
async def test_rejected_requests_change_nothing(world: World, data: st.DataObject) -> None:
    req = data.draw(requests_for(world), label="request")
    TRIED[f"rejected: {req.why}"] += 1
    before = await snapshot(world.svc)
    status, ctype, text = await send(world.svc, req)
    what = f"{req.why}: POST {req.path} -> {status} {text[:500]}"
    assert status < 500, what
    assert ctype.startswith("application/json"), what
    answer = json.loads(text)
    if status >= 400:
        assert isinstance(answer, dict), what
        assert isinstance(answer.get("error"), str) and answer["error"], what
        assert isinstance(answer.get("message"), str) and answer["message"].strip(), what
        assert await snapshot(world.svc) == before, f"a rejected request changed the database: {what}"
    if req.expect is not None:
        assert status in req.expect, f"expected {sorted(req.expect)}: {what}"
        assert answer["error"] in req.expect[status], f"expected error {sorted(req.expect[status])}: {what}"
