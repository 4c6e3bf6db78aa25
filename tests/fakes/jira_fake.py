"""A fake Jira Service Management (Cloud / Data Center) speaking the REST calls alertbridge uses.

Shapes follow Atlassian's documentation:

- servicedeskapi, https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/ :
  `POST /rest/servicedeskapi/request` (201, CustomerRequest: issueId, issueKey, requestTypeId, serviceDeskId,
  currentStatus, requestFieldValues, _links), `GET|POST /rest/servicedeskapi/request/{issueIdOrKey}/comment`
  (201, Comment: id, body, public, author, created; list: paged `size, start, limit, isLastPage, values`,
  query `public`, `internal`, `start`, `limit`); .../api-group-servicedesk/ :
  `GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype` (paged). Errors:
  `{"errorMessage": ..., "i18nErrorMessage": {"i18nKey", "parameters"}}`.
- platform REST v2, https://developer.atlassian.com/cloud/jira/platform/rest/v2/ :
  api-group-issues: `POST /rest/api/2/issue` (201 {id, key, self}), `GET|PUT /rest/api/2/issue/{key}` (PUT: 204),
  `GET /rest/api/2/issue/{key}/transitions` ({expand, transitions: [{id, name, to: {id, name,
  statusCategory}}]} -- only those available from the current status), `POST .../transitions` (204; 400
  "Transition id 'x' is not valid for this issue."); api-group-issue-comments: `GET|POST
  /rest/api/2/issue/{key}/comment` (list {startAt, maxResults, total, comments}; the `sd.public.comment`
  property {"internal": bool} decides Service Management visibility, `jsdPublic` in the answer);
  api-group-issue-properties: `GET|PUT /rest/api/2/issue/{key}/properties/{propertyKey}` (PUT: 201 new,
  200 updated); api-group-issue-search: `GET|POST /rest/api/2/search` ({expand, startAt, maxResults, total,
  issues}) and `GET /rest/api/2/search/jql` ({issues, nextPageToken, isLast}). Errors:
  `{"errorMessages": [...], "errors": {field: message}}`; 401 without valid credentials; 429 with
  Retry-After (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/).

Only the JQL alertbridge writes is understood: `field = value` clauses joined by AND (labels, project,
key/issuekey) and an optional `ORDER BY created ASC|DESC`; anything else is a 400 like Jira's.

Failure injection (`mode`): None, "5xx" (503), "slow" (answers after `delay` seconds -- and still acts, as a
server does after the client gave up), "auth" (401), "ratelimit" (429 + Retry-After), "duplicate" (a create
stores the issue, as a concurrent writer would, and answers 409). `stop()` / `start()` take the server away
(connection refused) and back with its data.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.conftest import free_port

USER = "agent@msp.example"
TOKEN = "jira-api-token"
PAT = "jira-personal-access-token"

# A Service Management workflow like the default "General Service Management" one.
STATUSES = {
    "Waiting for support": ("10001", "new"),
    "Waiting for customer": ("10002", "indeterminate"),
    "In Progress": ("3", "indeterminate"),
    "Resolved": ("5", "done"),
    "Closed": ("6", "done"),
}
TRANSITIONS = [  # id, name, from statuses, to status
    ("11", "Start progress", {"Waiting for support", "Waiting for customer"}, "In Progress"),
    ("21", "Resolve this issue", {"Waiting for support", "Waiting for customer", "In Progress"}, "Resolved"),
    ("31", "Respond to customer", {"Waiting for support", "In Progress"}, "Waiting for customer"),
    ("41", "Stop progress", {"In Progress"}, "Waiting for support"),
    ("51", "Back to in progress", {"Resolved", "Closed"}, "In Progress"),
    ("61", "Close", {"Resolved"}, "Closed"),
    ("71", "Reopen", {"Resolved", "Closed"}, "Waiting for support"),
]
ISSUE_TYPES = {"10100": "Incident", "10101": "Fault", "10102": "Task"}
RESOLUTIONS = {"Done", "Won't Do", "Duplicate"}


def _now() -> dict[str, Any]:
    """A servicedeskapi DateDTO."""
    t = datetime.now(UTC)
    return {
        "iso8601": t.isoformat(),
        "jira": t.isoformat(),
        "friendly": "Today",
        "epochMillis": int(t.timestamp() * 1000),
    }


def _platform_error(status: int, *messages: str, **errors: str) -> web.Response:
    return web.json_response({"errorMessages": list(messages), "errors": errors}, status=status)


def _sd_error(status: int, message: str, key: str = "sd.error") -> web.Response:
    return web.json_response(
        {"errorMessage": message, "i18nErrorMessage": {"i18nKey": key, "parameters": []}}, status=status
    )


class JiraFake:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.project = "ACME"
        self.service_desk_id = "1"
        self.request_types: dict[str, dict[str, Any]] = {
            "10": {"name": "Report a system problem", "issueTypeId": "10100"},
            "11": {"name": "Silent fault", "issueTypeId": "10101"},
            "12": {"name": "Get IT help", "issueTypeId": "10102"},
        }
        self.request_type_fields = {"summary", "description", "labels", "priority"}  # on every form here
        self.customers = {"monitoring@msp.example", USER}  # known accounts (raiseOnBehalfOf)
        self.issues: dict[str, dict[str, Any]] = {}  # by key, in creation order
        self.mode: str | None = None
        self.delay = 3.0
        self.page_limit = 50  # the most any page holds (Jira caps maxResults/limit)
        self.requests: list[tuple[str, str]] = []
        self._next_id = 10000
        self._next_comment = 20000
        self._inflight = 0
        self.runner: web.AppRunner | None = None

    # --- lifecycle ------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post("/rest/servicedeskapi/request", self.create_request)
        r.add_get("/rest/servicedeskapi/request/{key}/comment", self.sd_comments)
        r.add_post("/rest/servicedeskapi/request/{key}/comment", self.sd_add_comment)
        r.add_get("/rest/servicedeskapi/servicedesk/{desk}/requesttype", self.request_type_list)
        r.add_post("/rest/api/2/issue", self.create_issue)
        r.add_get("/rest/api/2/issue/{key}", self.get_issue)
        r.add_put("/rest/api/2/issue/{key}", self.edit_issue)
        r.add_get("/rest/api/2/issue/{key}/transitions", self.transitions)
        r.add_post("/rest/api/2/issue/{key}/transitions", self.do_transition)
        r.add_get("/rest/api/2/issue/{key}/comment", self.comments)
        r.add_post("/rest/api/2/issue/{key}/comment", self.add_comment)
        r.add_get("/rest/api/2/issue/{key}/properties/{prop}", self.get_property)
        r.add_put("/rest/api/2/issue/{key}/properties/{prop}", self.put_property)
        r.add_get("/rest/api/2/search", self.search)
        r.add_post("/rest/api/2/search", self.search)
        r.add_get("/rest/api/2/search/jql", self.search_jql)
        return app

    async def start(self) -> str:
        self.runner = web.AppRunner(self.app())
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self.url

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()
            self.runner = None

    async def idle(self, seconds: float = 10.0) -> None:
        """Wait until no request is being answered (slow ones finish what they started)."""
        for _ in range(int(seconds / 0.05)):
            if self._inflight == 0:
                return
            await asyncio.sleep(0.05)

    # --- what the desk shows ---------------------------------------------------------------------------
    def issue(self, key: str) -> dict[str, Any]:
        return self.issues[key]

    def by_label(self, label: str) -> list[dict[str, Any]]:
        return [i for i in self.issues.values() if label in i["fields"]["labels"]]

    # --- plumbing ---------------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path_qs))
        self._inflight += 1
        try:
            if self.mode == "slow":
                await asyncio.sleep(self.delay)
            if self.mode == "5xx":
                return web.Response(
                    status=503, text="<html><body>503 Service Unavailable</body></html>", content_type="text/html"
                )
            if self.mode == "ratelimit":
                return web.Response(status=429, headers={"Retry-After": "7"}, text="Rate limit exceeded")
            if self.mode == "auth" or not self._authorised(request.headers.get("Authorization", "")):
                resp = _platform_error(
                    401, "You are not authenticated. Authentication required to perform this operation."
                )
                resp.headers["WWW-Authenticate"] = 'Basic realm="protected-area"'
                return resp
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self._inflight -= 1

    def _authorised(self, header: str) -> bool:
        if header == f"Bearer {PAT}":
            return True
        if header.startswith("Basic "):
            try:
                return base64.b64decode(header[6:]).decode() == f"{USER}:{TOKEN}"
            except ValueError:
                return False
        return False

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    def _find(self, key_or_id: str) -> dict[str, Any] | None:
        if key_or_id in self.issues:
            return self.issues[key_or_id]
        return next((i for i in self.issues.values() if i["id"] == key_or_id), None)

    def _store(self, fields: dict[str, Any], request_type: str | None, reporter: str) -> dict[str, Any]:
        self._next_id += 1
        key = f"{self.project}-{len(self.issues) + 1}"
        issue: dict[str, Any] = {
            "id": str(self._next_id),
            "key": key,
            "fields": {
                "labels": [],
                "description": "",
                **fields,
                "status": "Waiting for support",
                "reporter": reporter,
                "project": self.project,
                "created": datetime.now(UTC).isoformat(),
                "resolution": None,
            },
            "request_type": request_type,
            "properties": {},
            "comments": [],
            "transitions": [],
        }
        self.issues[key] = issue
        return issue

    def _status(self, name: str) -> dict[str, Any]:
        sid, cat = STATUSES[name]
        return {"id": sid, "name": name, "statusCategory": {"key": cat}}

    def _render(self, issue: dict[str, Any], wanted: str | None) -> dict[str, Any]:
        f = issue["fields"]
        full: dict[str, Any] = {
            **{k: v for k, v in f.items() if k.startswith("customfield_")},
            "summary": f["summary"],
            "description": f["description"],
            "labels": list(f["labels"]),
            "status": self._status(f["status"]),
            "issuetype": {"id": f["issuetype"], "name": ISSUE_TYPES[f["issuetype"]]},
            "project": {"key": f["project"]},
            "reporter": {"emailAddress": f["reporter"]},
            "priority": f.get("priority"),
            "created": f["created"],
            "resolution": {"name": f["resolution"]} if f["resolution"] else None,
        }
        if wanted and wanted not in ("*all", "*navigable"):
            names = [n.strip() for n in wanted.split(",")]
            full = {k: v for k, v in full.items() if k in names}
        return {
            "id": issue["id"],
            "key": issue["key"],
            "self": f"{self.url}/rest/api/2/issue/{issue['id']}",
            "fields": full,
        }

    def _comment(self, issue: dict[str, Any], body: str, public: bool) -> dict[str, Any]:
        self._next_comment += 1
        c = {"id": str(self._next_comment), "body": body, "public": public, "created": _now(), "author": USER}
        issue["comments"].append(c)
        return c

    def _page(self, request: web.Request, start_name: str, limit_name: str) -> tuple[int, int]:
        try:
            start = max(0, int(request.query.get(start_name, "0")))
            limit = int(request.query.get(limit_name, "50"))
        except ValueError:
            return -1, -1
        return start, max(1, min(limit, self.page_limit))

    # --- servicedeskapi -------------------------------------------------------------------------------
    async def request_type_list(self, request: web.Request) -> web.Response:
        if request.match_info["desk"] != self.service_desk_id:
            return _sd_error(404, "The service desk does not exist.", "sd.servicedesk.error.not.found")
        start, limit = self._page(request, "start", "limit")
        items = [
            {
                "_expands": [],
                "id": rid,
                "name": rt["name"],
                "description": "",
                "helpText": "",
                "issueTypeId": rt["issueTypeId"],
                "serviceDeskId": self.service_desk_id,
                "groupIds": [],
                "_links": {"self": f"{self.url}/rest/servicedeskapi/servicedesk/1/requesttype/{rid}"},
            }
            for rid, rt in self.request_types.items()
        ]
        values = items[start : start + limit]
        return web.json_response(
            {
                "_expands": [],
                "size": len(values),
                "start": start,
                "limit": limit,
                "isLastPage": start + len(values) >= len(items),
                "_links": {"base": self.url},
                "values": values,
            }
        )

    async def create_request(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body, dict):
            return _sd_error(400, "The request body is not valid JSON.")
        if str(body.get("serviceDeskId")) != self.service_desk_id:
            return _sd_error(
                404, f"The service desk {body.get('serviceDeskId')} does not exist.", "sd.servicedesk.error.not.found"
            )
        rt_id = str(body.get("requestTypeId"))
        if rt_id not in self.request_types:
            return _sd_error(400, f"The request type {rt_id} does not exist.", "sd.request.type.error.not.found")
        who = body.get("raiseOnBehalfOf") or USER
        if who not in self.customers:
            return _sd_error(400, f"The user '{who}' does not exist.", "sd.customer.error.not.found")
        values = body.get("requestFieldValues") or {}
        for field in values:
            if field not in self.request_type_fields and not field.startswith("customfield_"):
                return _sd_error(
                    400, f"The field '{field}' is not valid for this request type.", "sd.request.create.field.invalid"
                )
        if not str(values.get("summary") or "").strip():
            return web.json_response(
                {
                    "errorMessage": "summary: You must specify a summary of the issue.",
                    "i18nErrorMessage": {"i18nKey": "sd.validation.error", "parameters": []},
                },
                status=400,
            )
        fields = {
            "summary": values["summary"],
            "description": values.get("description") or "",
            "labels": list(values.get("labels") or []),
            "issuetype": self.request_types[rt_id]["issueTypeId"],
            **({"priority": values["priority"]["name"]} if values.get("priority") else {}),
            **{k: v for k, v in values.items() if k.startswith("customfield_")},
        }
        if any(" " in label for label in fields["labels"]):
            return _sd_error(400, "labels: The label can't contain spaces.")
        issue = self._store(fields, rt_id, who)
        if self.mode == "duplicate":  # a concurrent writer won
            return _sd_error(409, "A request with this content already exists.")
        return web.json_response(
            {
                "_expands": ["participant", "status", "sla", "requestType", "serviceDesk", "attachment", "comment"],
                "issueId": issue["id"],
                "issueKey": issue["key"],
                "requestTypeId": rt_id,
                "serviceDeskId": self.service_desk_id,
                "createdDate": _now(),
                "reporter": {"emailAddress": who, "displayName": who},
                "requestFieldValues": [
                    {"fieldId": "summary", "label": "Summary", "value": fields["summary"]},
                    {"fieldId": "description", "label": "Description", "value": fields["description"]},
                ],
                "currentStatus": {"status": "Waiting for support", "statusCategory": "NEW", "statusDate": _now()},
                "_links": {
                    "jiraRest": f"{self.url}/rest/api/2/issue/{issue['id']}",
                    "web": f"{self.url}/servicedesk/customer/portal/1/{issue['key']}",
                    "self": f"{self.url}/rest/servicedeskapi/request/{issue['id']}",
                },
            },
            status=201,
        )

    def _sd_comment(self, c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "body": c["body"],
            "public": c["public"],
            "created": c["created"],
            "author": {"emailAddress": c["author"], "displayName": c["author"]},
            "_links": {"self": f"{self.url}/rest/servicedeskapi/request/comment/{c['id']}"},
        }

    async def sd_add_comment(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None or issue["request_type"] is None:
            return _sd_error(404, "The request does not exist.", "sd.request.error.not.found")
        body = await self._json(request)
        if not isinstance(body, dict) or not str(body.get("body") or "").strip():
            return _sd_error(400, "The comment body can't be empty.")
        if not isinstance(body.get("public", True), bool):
            return _sd_error(400, "public must be a boolean.")
        c = self._comment(issue, str(body["body"]), bool(body.get("public", True)))
        return web.json_response(self._sd_comment(c), status=201)

    async def sd_comments(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None or issue["request_type"] is None:
            return _sd_error(404, "The request does not exist.", "sd.request.error.not.found")
        start, limit = self._page(request, "start", "limit")
        public = request.query.get("public", "true") == "true"
        internal = request.query.get("internal", "true") == "true"
        items = [c for c in issue["comments"] if (c["public"] and public) or (not c["public"] and internal)]
        values = items[start : start + limit]
        return web.json_response(
            {
                "_expands": [],
                "size": len(values),
                "start": start,
                "limit": limit,
                "isLastPage": start + len(values) >= len(items),
                "_links": {"base": self.url},
                "values": [self._sd_comment(c) for c in values],
            }
        )

    # --- platform issues --------------------------------------------------------------------------------
    def _issue_type(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        if value.get("id") in ISSUE_TYPES:
            return str(value["id"])
        return next((i for i, n in ISSUE_TYPES.items() if n == value.get("name")), None)

    async def create_issue(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        fields = (body or {}).get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return _platform_error(400, "Can not deserialize instance of fields")
        errors = {}
        if (fields.get("project") or {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        itype = self._issue_type(fields.get("issuetype"))
        if itype is None:
            errors["issuetype"] = "valid issue type is required"
        if not str(fields.get("summary") or "").strip():
            errors["summary"] = "You must specify a summary of the issue."
        labels = fields.get("labels") or []
        if any(" " in label for label in labels):
            errors["labels"] = "The label can't contain spaces."
        if errors:
            return _platform_error(400, **errors)
        stored = {
            "summary": fields["summary"],
            "description": fields.get("description") or "",
            "labels": list(labels),
            "issuetype": itype,
            **({"priority": fields["priority"]["name"]} if fields.get("priority") else {}),
            **{k: v for k, v in fields.items() if k.startswith("customfield_")},
        }
        issue = self._store(stored, None, USER)
        if self.mode == "duplicate":
            return _platform_error(409, "An issue with this content already exists.")
        return web.json_response(
            {"id": issue["id"], "key": issue["key"], "self": f"{self.url}/rest/api/2/issue/{issue['id']}"}, status=201
        )

    def _missing(self) -> web.Response:
        return _platform_error(404, "Issue does not exist or you do not have permission to see it.")

    async def get_issue(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        return web.json_response(self._render(issue, request.query.get("fields")))

    async def edit_issue(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        body = await self._json(request)
        fields = (body or {}).get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return _platform_error(400, "Can not deserialize instance of fields")
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "customfield_10010":  # Request Type: the request type id
                if str(value) not in self.request_types or issue["request_type"] is None:
                    return _platform_error(400, **{name: "The request type is not valid for this issue."})
                changes["request_type"] = str(value)
                changes["issuetype"] = self.request_types[str(value)]["issueTypeId"]
            elif name == "issuetype":
                itype = self._issue_type(value)
                if itype is None:
                    return _platform_error(400, issuetype="The issue type selected is invalid.")
                changes["issuetype"] = itype
            elif name in ("summary", "description", "labels") or name.startswith("customfield_"):
                changes[name] = value
            else:
                return _platform_error(
                    400, **{name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."}
                )
        if "request_type" in changes:
            issue["request_type"] = changes.pop("request_type")
        issue["fields"].update(changes)
        return web.Response(status=204)

    def _available(self, issue: dict[str, Any]) -> list[tuple[str, str, set[str], str]]:
        return [t for t in TRANSITIONS if issue["fields"]["status"] in t[2]]

    async def transitions(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        out = [
            {
                "id": tid,
                "name": name,
                "to": {"self": f"{self.url}/rest/api/2/status/{STATUSES[to][0]}", **self._status(to)},
                "hasScreen": False,
                "isGlobal": False,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for tid, name, _, to in self._available(issue)
        ]
        return web.json_response({"expand": "transitions", "transitions": out})

    async def do_transition(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        body = await self._json(request)
        tid = str(((body or {}).get("transition") or {}).get("id")) if isinstance(body, dict) else ""
        match = next((t for t in self._available(issue) if t[0] == tid), None)
        if match is None:
            return _platform_error(400, f"Transition id '{tid}' is not valid for this issue.")
        fields = (body or {}).get("fields") or {}
        resolution = (fields.get("resolution") or {}).get("name") if fields else None
        if resolution is not None and resolution not in RESOLUTIONS:
            return _platform_error(400, resolution=f"Resolution '{resolution}' is not valid.")
        before = issue["fields"]["status"]
        issue["fields"]["status"] = match[3]
        if STATUSES[match[3]][1] == "done":
            issue["fields"]["resolution"] = resolution or "Done"
        else:
            issue["fields"]["resolution"] = None
        issue["transitions"].append((before, match[3]))
        return web.Response(status=204)

    def _platform_comment(self, issue: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "self": f"{self.url}/rest/api/2/issue/{issue['id']}/comment/{c['id']}",
            "body": c["body"],
            "author": {"emailAddress": c["author"]},
            "created": c["created"]["iso8601"],
            "updated": c["created"]["iso8601"],
            "jsdPublic": c["public"],
        }

    async def comments(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        start, limit = self._page(request, "startAt", "maxResults")
        items = issue["comments"][start : start + limit]
        return web.json_response(
            {
                "startAt": start,
                "maxResults": limit,
                "total": len(issue["comments"]),
                "comments": [self._platform_comment(issue, c) for c in items],
            }
        )

    async def add_comment(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        body = await self._json(request)
        if not isinstance(body, dict) or not str(body.get("body") or "").strip():
            return _platform_error(400, comment="Comment body can not be empty!")
        public = True  # a Service Management comment is public unless sd.public.comment says internal
        for prop in body.get("properties") or []:
            if prop.get("key") == "sd.public.comment":
                public = not bool((prop.get("value") or {}).get("internal"))
        c = self._comment(issue, str(body["body"]), public)
        return web.json_response(self._platform_comment(issue, c), status=201)

    async def get_property(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        prop = request.match_info["prop"]
        if prop not in issue["properties"]:
            return _platform_error(404, f"The property with key '{prop}' does not exist.")
        return web.json_response({"key": prop, "value": issue["properties"][prop]})

    async def put_property(self, request: web.Request) -> web.Response:
        issue = self._find(request.match_info["key"])
        if issue is None:
            return self._missing()
        try:
            value = json.loads(await request.text())
        except ValueError:
            return _platform_error(400, "The property value must be valid JSON.")
        prop = request.match_info["prop"]
        existed = prop in issue["properties"]
        issue["properties"][prop] = value
        return web.Response(status=200 if existed else 201)

    # --- search -----------------------------------------------------------------------------------------
    def _jql(self, jql: str) -> list[dict[str, Any]] | str:
        """The issues `jql` selects, or the error text."""
        order = "ASC"
        m = re.search(r"\s+ORDER\s+BY\s+created\s*(ASC|DESC)?\s*$", jql, re.I)
        if m:
            order = (m.group(1) or "ASC").upper()
            jql = jql[: m.start()]
        found = list(self.issues.values())
        for clause in re.split(r"\s+AND\s+", jql.strip(), flags=re.I) if jql.strip() else []:
            cm = re.fullmatch(r'\s*(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([\w.@-]+))\s*', clause)
            if not cm:
                return f"Error in the JQL Query: Expecting operator but got '{clause.strip()}'."
            field, value = cm.group(1).lower(), (cm.group(2) if cm.group(2) is not None else cm.group(3))
            value = re.sub(r"\\(.)", r"\1", value)
            if field == "labels":
                found = [i for i in found if value in i["fields"]["labels"]]
            elif field == "project":
                found = [i for i in found if i["fields"]["project"] == value]
            elif field in ("key", "issuekey"):
                found = [i for i in found if i["key"] == value]
            else:
                return f"Field '{field}' does not exist or you do not have permission to view it."
        return list(reversed(found)) if order == "DESC" else found

    async def search(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await self._json(request) or {}
            jql, start, limit = (
                str(body.get("jql") or ""),
                int(body.get("startAt") or 0),
                int(body.get("maxResults") or 50),
            )
            fields = ",".join(body.get("fields") or []) or None
            limit = max(1, min(limit, self.page_limit))
        else:
            jql, fields = request.query.get("jql", ""), request.query.get("fields")
            start, limit = self._page(request, "startAt", "maxResults")
            if start < 0:
                return _platform_error(400, "startAt and maxResults must be numbers.")
        found = self._jql(jql)
        if isinstance(found, str):
            return _platform_error(400, found)
        return web.json_response(
            {
                "expand": "names,schema",
                "startAt": start,
                "maxResults": limit,
                "total": len(found),
                "issues": [self._render(i, fields or "*navigable") for i in found[start : start + limit]],
            }
        )

    async def search_jql(self, request: web.Request) -> web.Response:
        jql, fields = request.query.get("jql", ""), request.query.get("fields")
        token = request.query.get("nextPageToken")
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
            limit = max(1, min(int(request.query.get("maxResults", "50")), self.page_limit))
        except ValueError:
            return _platform_error(400, "The nextPageToken is not valid.")
        found = self._jql(jql)
        if isinstance(found, str):
            return _platform_error(400, found)
        page = found[start : start + limit]
        last = start + len(page) >= len(found)
        out: dict[str, Any] = {"issues": [self._render(i, fields or "id") for i in page], "isLast": last}
        if not last:
            out["nextPageToken"] = base64.urlsafe_b64encode(str(start + len(page)).encode()).decode()
        return web.json_response(out)
