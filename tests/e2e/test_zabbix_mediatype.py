"""Runs the alertbridge Zabbix 6.0 webhook media type's JavaScript with Zabbix's own engine.

The script is taken from config/zabbix/alertbridge_mediatype.yaml and run with `zabbix_js`
(Debian package zabbix-server-pgsql, see tests/e2e/apt-packages.txt) against a local aiohttp
server that answers like alertbridge. Parameters are built from the media type's own parameter
list, with the macros replaced by the values a real Zabbix 6.0 sent (captured problem, update and
recovery notifications); macros Zabbix cannot resolve stay literal, as Zabbix does.

Without zabbix_js the tests skip, or fail when ALERTBRIDGE_E2E_REQUIRE=1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
MEDIATYPE_YAML = REPO_ROOT / "config" / "zabbix" / "alertbridge_mediatype.yaml"
ZABBIX_JS = "/usr/bin/zabbix_js"
TOKEN = "e2e-zabbix-token"
ENDPOINT = "/api/v1/zabbix"

# Keys of the JSON body alertbridge parses (same as the bodies captured from Zabbix 6.0).
FIXTURE_KEYS = {
    "alert_message",
    "alert_sendto",
    "alert_subject",
    "event_ack_status",
    "event_date",
    "event_duration",
    "event_id",
    "event_incident_tag",
    "event_name",
    "event_nseverity",
    "event_object",
    "event_opdata",
    "event_recovery_date",
    "event_recovery_id",
    "event_recovery_tags",
    "event_recovery_time",
    "event_severity",
    "event_source",
    "event_status",
    "event_tags",
    "event_tags_parsed",
    "event_time",
    "event_timestamp",
    "event_update_action",
    "event_update_date",
    "event_update_message",
    "event_update_nseverity",
    "event_update_severity",
    "event_update_status",
    "event_update_time",
    "event_update_user",
    "event_value",
    "host_groups",
    "host_host",
    "host_ip",
    "host_name",
    "item_key",
    "item_lastvalue",
    "item_name",
    "kind",
    "trigger_description",
    "trigger_id",
    "trigger_name",
    "trigger_status",
    "zabbix_url",
}
CONTROL_PARAMS = {"alertbridge_url", "alertbridge_token", "HTTPProxy"}

TAGS = [
    {"tag": "component", "value": "raid"},
    {"tag": "scope", "value": "storage"},
    {"tag": "customer", "value": "acme"},
]
TAGS_WITH_INCIDENT = [*TAGS, {"tag": "__alertbridge_incident", "value": "12"}]


def _tags_json(tags: list[dict[str, str]]) -> str:
    return json.dumps(tags, separators=(",", ":"))


def _unresolved(*macros: str) -> dict[str, str]:
    """Macros Zabbix 6.0 leaves as literal text in that notification."""
    return {m: m for m in macros}


# Macro values of a problem notification, as Zabbix 6.0 resolved them (captured problem.json).
PROBLEM_MACROS: dict[str, str] = {
    "{ALERT.MESSAGE}": "RAID degraded on Acme DB 01 on Acme DB 01 (High) at 2026.11.22 23:09:00",
    "{ALERT.SENDTO}": "ops@example.com",
    "{ALERT.SUBJECT}": "Problem: RAID degraded on Acme DB 01",
    "{EVENT.ACK.STATUS}": "No",
    "{EVENT.DATE}": "2026.11.22",
    "{EVENT.DURATION}": "3s",
    "{EVENT.ID}": "5",
    "{EVENT.NAME}": "RAID degraded on Acme DB 01",
    "{EVENT.NSEVERITY}": "4",
    "{EVENT.OBJECT}": "0",
    "{EVENT.OPDATA}": "status=1",
    "{EVENT.SEVERITY}": "High",
    "{EVENT.SOURCE}": "0",
    "{EVENT.STATUS}": "PROBLEM",
    "{EVENT.TAGSJSON}": _tags_json(TAGS),
    "{EVENT.TIME}": "23:09:00",
    "{EVENT.UPDATE.STATUS}": "0",
    "{EVENT.VALUE}": "1",
    "{TRIGGER.HOSTGROUP.NAME}": "Customers/Acme",
    "{HOST.HOST}": "acme-db01",
    "{HOST.IP}": "127.0.0.1",
    "{HOST.NAME}": "Acme DB 01",
    "{ITEM.KEY}": "raid.status",
    "{ITEM.LASTVALUE}": "1",
    "{ITEM.NAME}": "RAID status",
    "{TRIGGER.DESCRIPTION}": "RAID array reports status 1 (0 = OK).",
    "{TRIGGER.ID}": "23133",
    "{TRIGGER.NAME}": "RAID degraded on Acme DB 01",
    "{TRIGGER.STATUS}": "PROBLEM",
    "{$ZABBIX.URL}": "http://127.0.0.1:8089",
    **_unresolved(
        "{EVENT.TAGS.__alertbridge_incident}",
        "{EVENT.RECOVERY.DATE}",
        "{EVENT.RECOVERY.ID}",
        "{EVENT.RECOVERY.TAGSJSON}",
        "{EVENT.RECOVERY.TIME}",
        "{EVENT.TIMESTAMP}",
        "{EVENT.UPDATE.ACTION}",
        "{EVENT.UPDATE.DATE}",
        "{EVENT.UPDATE.MESSAGE}",
        "{EVENT.UPDATE.NSEVERITY}",
        "{EVENT.UPDATE.SEVERITY}",
        "{EVENT.UPDATE.TIME}",
        "{USER.FULLNAME}",
    ),
}

# Acknowledgement with a message (captured update_ack.json), after alertbridge tagged the problem.
UPDATE_MACROS: dict[str, str] = {
    **PROBLEM_MACROS,
    "{ALERT.MESSAGE}": "  (bridge-api) acknowledged and commented problem: Incident AB-000012 opened",
    "{ALERT.SUBJECT}": "Updated: RAID degraded on Acme DB 01",
    "{EVENT.ACK.STATUS}": "Yes",
    "{EVENT.DURATION}": "15s",
    "{EVENT.TAGS.__alertbridge_incident}": "12",
    "{EVENT.TAGSJSON}": _tags_json(TAGS_WITH_INCIDENT),
    "{EVENT.UPDATE.ACTION}": "acknowledged and commented",
    "{EVENT.UPDATE.DATE}": "2026.11.22",
    "{EVENT.UPDATE.MESSAGE}": "Incident AB-000012 opened",
    "{EVENT.UPDATE.STATUS}": "1",
    "{EVENT.UPDATE.TIME}": "23:09:12",
    "{USER.FULLNAME}": "  (bridge-api)",
}

# Recovery (captured recovery.json).
RECOVERY_MACROS: dict[str, str] = {
    **PROBLEM_MACROS,
    "{ALERT.MESSAGE}": "Resolved in 17s: RAID degraded on Acme DB 01 on Acme DB 01",
    "{ALERT.SUBJECT}": "Resolved: RAID degraded on Acme DB 01",
    "{EVENT.ACK.STATUS}": "Yes",
    "{EVENT.DURATION}": "17s",
    "{EVENT.OPDATA}": "status=0",
    "{EVENT.RECOVERY.DATE}": "2026.11.22",
    "{EVENT.RECOVERY.ID}": "6",
    "{EVENT.RECOVERY.TAGSJSON}": _tags_json(TAGS),
    "{EVENT.RECOVERY.TIME}": "23:09:17",
    "{EVENT.STATUS}": "RESOLVED",
    "{EVENT.TAGS.__alertbridge_incident}": "12",
    "{EVENT.TAGSJSON}": _tags_json(TAGS_WITH_INCIDENT),
    "{EVENT.VALUE}": "0",
    "{ITEM.LASTVALUE}": "0",
    "{TRIGGER.DESCRIPTION}": "RAID array reports status 0 (0 = OK).",
    "{TRIGGER.STATUS}": "OK",
}

ACCEPTED = {"status": "accepted", "incident_id": 12, "ticket": "AB-000012", "created": True}
MACRO_RE = re.compile(r"\{[^{}]+\}")


def load_mediatype() -> dict[str, Any]:
    export = yaml.safe_load(MEDIATYPE_YAML.read_text(encoding="utf-8"))
    assert export["zabbix_export"]["version"] == "6.0"
    media_types = export["zabbix_export"]["media_types"]
    assert len(media_types) == 1
    return media_types[0]


def build_params(macros: dict[str, str], url: str, token: str = TOKEN) -> dict[str, str]:
    """The `value` Zabbix hands to the script: each parameter with its macros resolved."""
    params = {}
    for param in load_mediatype()["parameters"]:
        value = str(param.get("value", ""))
        unknown = set(MACRO_RE.findall(value)) - set(macros)
        assert not unknown, f"parameter {param['name']} uses macros the test does not know: {unknown}"
        params[param["name"]] = MACRO_RE.sub(lambda m: macros[m.group(0)], value)
    params["alertbridge_url"] = url
    params["alertbridge_token"] = token
    return params


@dataclass
class FakeAlertbridge:
    """Records requests and answers like alertbridge's Zabbix endpoint."""

    url: str = ""
    status: int = 200
    answer: str = json.dumps(ACCEPTED)
    content_type: str = "application/json"
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        return web.Response(status=self.status, text=self.answer, content_type=self.content_type)


@dataclass
class JsResult:
    returncode: int
    stdout: str  # Zabbix.log() lines, then the script's return value (or the error report)
    stderr: str

    @property
    def value(self) -> Any:
        """The script's return value: the last line zabbix_js prints."""
        return json.loads(self.stdout.splitlines()[-1])

    @property
    def output(self) -> str:
        return f"{self.stdout}\n{self.stderr}"


def find_zabbix_js() -> str:
    """Path of zabbix_js; skips the calling test, or fails it when ALERTBRIDGE_E2E_REQUIRE=1."""
    if os.path.isfile(ZABBIX_JS) and os.access(ZABBIX_JS, os.X_OK):
        return ZABBIX_JS
    found = shutil.which("zabbix_js")
    if found:
        return found
    message = (
        f"{ZABBIX_JS} is not installed: install the Debian package(s) listed in "
        "tests/e2e/apt-packages.txt (apt-get install --no-install-recommends zabbix-server-pgsql)"
    )
    if os.environ.get("ALERTBRIDGE_E2E_REQUIRE") == "1":
        pytest.fail(message + " (ALERTBRIDGE_E2E_REQUIRE=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def script_file(tmp_path: Path) -> Path:
    path = tmp_path / "alertbridge_mediatype.js"
    path.write_text(load_mediatype()["script"], encoding="utf-8")
    return path


@pytest.fixture
async def bridge() -> AsyncIterator[FakeAlertbridge]:
    fake = FakeAlertbridge()
    app = web.Application()
    app.router.add_route("*", ENDPOINT, fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}{ENDPOINT}"
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
def run_js(script_file: Path):
    async def run(params: dict[str, str]) -> JsResult:
        zabbix_js = find_zabbix_js()
        # libcurl in zabbix_js honours *_proxy variables: keep the request on the loopback.
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        proc = await asyncio.create_subprocess_exec(
            zabbix_js,
            "-s",
            str(script_file),
            "-p",
            json.dumps(params),
            "-t",
            "10",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return JsResult(proc.returncode, out.decode("utf-8", "replace").strip(), err.decode("utf-8", "replace").strip())

    return run


def only_request(fake: FakeAlertbridge) -> dict[str, Any]:
    assert len(fake.requests) == 1, f"expected exactly one request, got {len(fake.requests)}"
    request = fake.requests[0]
    assert request["method"] == "POST"
    assert request["path"] == ENDPOINT
    assert request["headers"].get("Authorization") == f"Bearer {TOKEN}"
    assert request["headers"].get("Content-Type", "").split(";")[0].strip() == "application/json"
    return json.loads(request["body"])


def check_body(body: dict[str, Any], params: dict[str, str], kind: str) -> None:
    assert set(body) == FIXTURE_KEYS
    assert body["kind"] == kind
    for key, value in body.items():
        if key == "event_tags_parsed":
            continue
        assert isinstance(value, str), f"{key} is not a string: {value!r}"
        if key != "kind":
            assert value == params[key], key
    assert TOKEN not in json.dumps(body)
    assert not CONTROL_PARAMS & set(body)


def test_mediatype_export_settings() -> None:
    mt = load_mediatype()
    assert mt["name"] == "alertbridge"
    assert mt["type"] == "WEBHOOK"
    assert (mt["attempts"], mt["attempt_interval"], mt["timeout"]) == ("3", "10s", "10s")
    assert mt["process_tags"] == "YES"
    assert mt["show_event_menu"] == "YES"
    assert mt["event_menu_name"] == "alertbridge ticket {EVENT.TAGS.__alertbridge_ticket}"
    assert mt["event_menu_url"].startswith(("http://", "https://"))
    assert mt["event_menu_url"].endswith("/api/v1/incidents/{EVENT.TAGS.__alertbridge_incident}")
    # Zabbix 6.0 only resolves {EVENT.TAGS.*} in the event menu URL.
    assert set(MACRO_RE.findall(mt["event_menu_url"])) == {"{EVENT.TAGS.__alertbridge_incident}"}
    params = {p["name"]: p["value"] for p in mt["parameters"]}
    assert set(params) == (FIXTURE_KEYS - {"kind", "event_tags_parsed"}) | CONTROL_PARAMS
    assert params["event_incident_tag"] == "{EVENT.TAGS.__alertbridge_incident}"
    assert params["alertbridge_url"] == "http://127.0.0.1:8080/api/v1/zabbix"
    assert params["alertbridge_token"] == "<set ALERTBRIDGE_TOKEN_ZABBIX here>"
    assert params["HTTPProxy"] == ""
    modes = {(t["event_source"], t["operation_mode"]) for t in mt["message_templates"]}
    assert modes == {("TRIGGERS", "PROBLEM"), ("TRIGGERS", "RECOVERY"), ("TRIGGERS", "UPDATE")}
    assert all(t["subject"] and t["message"] for t in mt["message_templates"])
    assert "README" in mt["description"]


async def test_problem_is_posted_and_tags_are_returned(bridge: FakeAlertbridge, run_js) -> None:
    params = build_params(PROBLEM_MACROS, bridge.url)
    result = await run_js(params)

    assert result.returncode == 0, result.output
    body = only_request(bridge)
    check_body(body, params, "problem")
    assert body["event_tags_parsed"] == TAGS
    assert body["event_incident_tag"] == "{EVENT.TAGS.__alertbridge_incident}"
    assert result.value == {
        "tags": {"__alertbridge_incident": "12", "__alertbridge_ticket": "AB-000012"},
    }


@pytest.mark.parametrize(
    ("macros", "kind"),
    [(UPDATE_MACROS, "update"), (RECOVERY_MACROS, "recovery")],
    ids=["update", "recovery"],
)
async def test_update_and_recovery_kinds(bridge: FakeAlertbridge, run_js, macros: dict[str, str], kind: str) -> None:
    params = build_params(macros, bridge.url)
    result = await run_js(params)

    assert result.returncode == 0, result.output
    body = only_request(bridge)
    check_body(body, params, kind)
    assert body["event_tags_parsed"] == TAGS_WITH_INCIDENT
    assert body["event_incident_tag"] == "12"
    assert result.value == {"tags": {}}


async def test_manual_close_is_an_update(bridge: FakeAlertbridge, run_js) -> None:
    # A problem closed by hand arrives as an update with event_value "0" (plus a separate recovery).
    macros = {**UPDATE_MACROS, "{EVENT.VALUE}": "0", "{EVENT.UPDATE.ACTION}": "commented and closed"}
    params = build_params(macros, bridge.url)
    result = await run_js(params)

    assert result.returncode == 0, result.output
    check_body(only_request(bridge), params, "update")


@pytest.mark.parametrize(
    ("answer", "tags"),
    [
        ({"status": "accepted", "incident_id": 7, "ticket": None}, {"__alertbridge_incident": "7"}),
        ({"status": "accepted", "incident_id": None, "ticket": None}, {}),
        ({"status": "suppressed"}, {}),
    ],
    ids=["no-ticket", "no-incident", "nothing"],
)
async def test_problem_tags_omit_missing_values(
    bridge: FakeAlertbridge, run_js, answer: dict[str, Any], tags: dict[str, str]
) -> None:
    bridge.answer = json.dumps(answer)
    result = await run_js(build_params(PROBLEM_MACROS, bridge.url))

    assert result.returncode == 0, result.output
    assert len(bridge.requests) == 1
    assert result.value == {"tags": tags}


async def test_non_json_2xx_answer_is_not_an_error(bridge: FakeAlertbridge, run_js) -> None:
    bridge.status, bridge.answer, bridge.content_type = 202, "queued", "text/plain"
    result = await run_js(build_params(PROBLEM_MACROS, bridge.url))

    assert result.returncode == 0, result.output
    assert len(bridge.requests) == 1
    assert result.value == {"tags": {}}
    assert "answer is not JSON" in result.output
    assert "queued" in result.output


async def test_unresolved_tags_macro_gives_null(bridge: FakeAlertbridge, run_js) -> None:
    macros = {**PROBLEM_MACROS, "{EVENT.TAGSJSON}": "{EVENT.TAGSJSON}"}
    params = build_params(macros, bridge.url)
    result = await run_js(params)

    assert result.returncode == 0, result.output
    body = only_request(bridge)
    check_body(body, params, "problem")
    assert body["event_tags_parsed"] is None


async def test_server_error_fails_with_status_and_body(bridge: FakeAlertbridge, run_js) -> None:
    bridge.status, bridge.answer = 500, '{"error": "database unavailable"}'
    result = await run_js(build_params(PROBLEM_MACROS, bridge.url))

    assert result.returncode != 0
    assert "HTTP 500" in result.output
    assert "database unavailable" in result.output
    assert len(bridge.requests) == 1


@pytest.mark.parametrize(
    "url",
    ["ftp://127.0.0.1/api/v1/zabbix", "127.0.0.1:8080/api/v1/zabbix", "{$ALERTBRIDGE.URL}", ""],
)
async def test_non_http_url_is_rejected(bridge: FakeAlertbridge, run_js, url: str) -> None:
    result = await run_js(build_params(PROBLEM_MACROS, url))

    assert result.returncode != 0
    assert "alertbridge_url" in result.output
    assert "http:// or https://" in result.output
    assert bridge.requests == []


async def test_placeholder_token_is_rejected(bridge: FakeAlertbridge, run_js) -> None:
    params = build_params(PROBLEM_MACROS, bridge.url, token="<set ALERTBRIDGE_TOKEN_ZABBIX here>")
    result = await run_js(params)

    assert result.returncode != 0
    assert "alertbridge_token" in result.output
    assert bridge.requests == []
