"""Jira Service Management (Jira Cloud and Data Center) through its REST APIs.

Follows Atlassian's documentation:

- Service Management REST API (servicedeskapi), Cloud
  https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/ (create customer request,
  `POST /rest/servicedeskapi/request`; comments, `GET|POST /rest/servicedeskapi/request/{issueIdOrKey}/comment`
  with `public` true|false) and .../api-group-servicedesk/ (`GET /rest/servicedeskapi/servicedesk/{id}/requesttype`);
  paged answers `{size, start, limit, isLastPage, values}`; errors `{"errorMessage", "i18nErrorMessage"}`.
  Data Center: https://docs.atlassian.com/jira-servicedesk/REST/5.12.0/ (same resources).
- Jira platform REST API v2, Cloud https://developer.atlassian.com/cloud/jira/platform/rest/v2/ :
  api-group-issues (`POST /rest/api/2/issue`, `PUT /rest/api/2/issue/{key}`, `GET|POST .../transitions`),
  api-group-issue-search (`GET /rest/api/2/search` with startAt/maxResults/total; on Cloud the enhanced
  `GET /rest/api/2/search/jql` with nextPageToken/isLast), api-group-issue-properties
  (`PUT /rest/api/2/issue/{key}/properties/{propertyKey}`), api-group-issue-comments (comment with the
  `sd.public.comment` property {"internal": true|false}, the Service Management visibility of a comment);
  errors `{"errorMessages": [...], "errors": {field: message}}`; 429 with Retry-After
  (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/). Data Center:
  https://docs.atlassian.com/software/jira/docs/api/REST/9.12.0/ .

How alertbridge uses it: the issue carries a label `<label_prefix><sha256(key)[:32]>` (labels are
space-free, so the key itself cannot be one), which `find` searches with JQL; the full key and the origin
go into the issue property `alertbridge` ({"key", "origin", "customer"}), and into custom fields when
`key_field`/`origin_field` name one (`customfield_NNNNN`). `open` searches before creating and adopts what
it finds; a 409 on create is answered the same way. Comments are internal (`public: false`) unless the
note is customer-visible (`public: true`); a note ends with a marker line that a retry looks for first.
States are reached by transition: the one whose name, or whose target status name, matches the mapped
state (case-insensitive; `a|b` lists alternatives); nothing is done when the issue is already there.
On Cloud, JQL search is eventually consistent: an issue created a moment ago may not be found yet.
In request mode the Labels field (and any `customfield_` named above) must be on both request types' forms
(it may be hidden from the portal), since the create call only accepts the request type's fields.

Auth: `user` + `token` (Cloud: e-mail and API token) or `user` + `password` -> HTTP basic; `token` alone ->
`Authorization: Bearer` (Data Center personal access token).

`options` (all strings):

- `mode`: `request` (default: Service Management customer requests) or `issue` (plain `/rest/api/2/issue`).
- `service_desk_id`: the service desk's id (`serviceDeskId`); required in `request` mode.
- `project`: the project key; required in `issue` mode, narrows the JQL search in both when set.
- `queue.<queue>`: the request type id (request mode) or issue type name/id (issue mode) of a queue name
  (`incident_queue`, `fault_queue`). Without it a numeric queue is used as the id, and in request mode
  other names are looked up among the service desk's request types by name.
- `label_prefix`: `ab-`.
- `property`: `alertbridge` (the issue property key).
- `search`: `classic` (`/rest/api/2/search`) or `jql` (`/rest/api/2/search/jql`); default `jql` for
  `*.atlassian.net`, `classic` otherwise.
- `request_type_field`: `customfield_10010` (the "Request Type" field `set_queue` edits in request mode).
- `resolution`: empty; when set, the resolution name sent with a transition to resolved/closed.
- `priority.<critical|high|medium|low>`: a Jira priority name set on create (not set by default).
- `on_behalf`: `true`: the request is raised on behalf of `requester` (`raiseOnBehalfOf`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import aiohttp

from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket, request_json

# alertbridge's stages -> Jira status or transition names ("a|b": the first that the workflow offers).
# Service Management's default workflows use "Waiting for support", "In Progress", "Resolved", "Closed";
# a plain Jira project "To Do", "In Progress", "Done".
STATES = {
    "new": "Waiting for support|Open|To Do",
    "in_progress": "In Progress|Work in progress",
    "resolved": "Resolved|Done",
    "closed": "Closed|Done",
}
SEARCH_PAGE = 50


def key_label(prefix: str, key: str) -> str:
    """The label that carries alertbridge's key (labels cannot hold spaces and are at most 255 characters)."""
    return prefix + hashlib.sha256(key.encode()).hexdigest()[:32]


def _jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraDesk:
    name = "jira"

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        token: str = "",
        key_field: str = "",
        origin_field: str = "",
        options: dict[str, str] | None = None,
        timeout: float = 15.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base = url.rstrip("/")
        opts = dict(options or {})
        self.options = opts
        self.mode = opts.get("mode", "request")
        if self.mode not in ("request", "issue"):
            raise ValueError(f"jira: options.mode must be request or issue, not {self.mode!r}")
        self.service_desk_id = opts.get("service_desk_id", "")
        self.project = opts.get("project", "")
        if self.mode == "request" and not self.service_desk_id:
            raise ValueError("jira: options.service_desk_id is required in request mode")
        if self.mode == "issue" and not self.project:
            raise ValueError("jira: options.project is required in issue mode")
        self.label_prefix = opts.get("label_prefix", "ab-")
        self.property = opts.get("property", "alertbridge")
        cloud = (urlparse(self.base).hostname or "").endswith(".atlassian.net")
        self.search = opts.get("search", "jql" if cloud else "classic")
        if self.search not in ("classic", "jql"):
            raise ValueError(f"jira: options.search must be classic or jql, not {self.search!r}")
        self.request_type_field = opts.get("request_type_field", "customfield_10010")
        self.resolution = opts.get("resolution", "")
        self.on_behalf = opts.get("on_behalf", "true").lower() in ("true", "yes", "1", "on")
        self.key_field = key_field if key_field.startswith("customfield_") else ""
        self.origin_field = origin_field if origin_field.startswith("customfield_") else ""
        self.states: dict[str, str] = dict(STATES)
        self._request_types: dict[str, str] | None = None
        if token and not user:
            auth = f"Bearer {token}"
        else:
            auth = "Basic " + base64.b64encode(f"{user}:{token or password}".encode()).decode()
        self._headers = {"Accept": "application/json", "Authorization": auth}
        self._own = session is None
        self._session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def close(self) -> None:
        if self._own:
            await self._session.close()

    # --- HTTP -----------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, body: Any = None, conflict_ok: bool = False) -> tuple[int, Any]:
        headers = dict(self._headers)
        if path.startswith("/rest/servicedeskapi/"):
            headers["X-ExperimentalApi"] = "opt-in"
        status, payload, got = await request_json(self._session, "Jira", method, self.base + path, body, headers)
        retry_after = got.get("Retry-After")
        what = f"Jira {method} {path.split('?')[0]}: HTTP {status}"
        if status == 429:
            raise DeskUnavailable(f"{what} (rate limited, Retry-After {retry_after or '?'}): {_message(payload)}")
        if status >= 500:
            raise DeskUnavailable(f"{what}: {_message(payload)}")
        if status == 401:
            raise DeskUnavailable(
                f"{what}: authentication failed (check the Jira user and API token): {_message(payload)}"
            )
        if status == 403:
            raise DeskUnavailable(
                f"{what}: permission denied (check the Jira account's project permissions): {_message(payload)}"
            )
        if status == 409 and conflict_ok:
            return status, payload
        if status >= 400:
            raise DeskRejected(f"{what}: {_message(payload)}")
        return status, payload

    # --- Desk interface ---------------------------------------------------------------------------------
    async def find(self, key: str) -> RemoteTicket | None:
        label = key_label(self.label_prefix, key)
        jql = f"labels = {_jql_string(label)}"
        if self.project:
            jql = f"project = {_jql_string(self.project)} AND {jql}"
        jql += " ORDER BY created ASC"
        for issue in await self._search(jql):
            if label in ((issue.get("fields") or {}).get("labels") or []):
                return self._ref(str(issue["key"]))
        return None

    async def open(self, ticket: NewTicket) -> RemoteTicket:
        found = await self.find(ticket.key)
        if found is None:
            if self.mode == "request":
                path, body = "/rest/servicedeskapi/request", await self._request_body(ticket)
            else:
                path, body = "/rest/api/2/issue", {"fields": self._issue_fields(ticket)}
            status, payload = await self._call("POST", path, body, conflict_ok=True)
            if status == 409:  # someone created it meanwhile: adopt it
                found = await self.find(ticket.key)
                if found is None:
                    raise DeskRejected(f"Jira POST {path}: HTTP 409 and no issue carries the key: {_message(payload)}")
            else:
                issue_key = (payload or {}).get("issueKey") or (payload or {}).get("key")
                if not issue_key:
                    raise DeskRejected(f"Jira did not create the issue: HTTP {status}: {_message(payload)}")
                found = self._ref(str(issue_key))
        value = {"key": ticket.key, "origin": ticket.origin, "customer": ticket.customer}
        await self._call("PUT", f"/rest/api/2/issue/{quote(found.id)}/properties/{quote(self.property)}", value)
        return found

    async def note(self, ref: RemoteTicket, text: str, visible: bool, marker: str, retry: bool) -> None:
        if retry and await self._has_note(ref, marker):
            return
        body = f"{text}\n\n[{marker}]"
        if self.mode == "request":
            await self._call(
                "POST", f"/rest/servicedeskapi/request/{quote(ref.id)}/comment", {"body": body, "public": visible}
            )
        else:
            prop = {"key": "sd.public.comment", "value": {"internal": not visible}}
            await self._call("POST", f"/rest/api/2/issue/{quote(ref.id)}/comment", {"body": body, "properties": [prop]})

    async def set_state(self, ref: RemoteTicket, state: str, change: str = "") -> None:
        target = self.states.get(state)
        if not target:
            raise DeskRejected(f"no Jira status for {state!r}")
        names = [n.strip().lower() for n in target.split("|") if n.strip()]
        issue = f"/rest/api/2/issue/{quote(ref.id)}"
        _, now = await self._call("GET", f"{issue}?fields=status")
        current = str((((now or {}).get("fields") or {}).get("status") or {}).get("name") or "")
        if current.lower() in names:
            return
        _, answer = await self._call("GET", f"{issue}/transitions")
        transitions = (answer or {}).get("transitions") or []
        chosen = None
        for name in names:
            for tr in transitions:
                if name in (str(tr.get("name", "")).lower(), str((tr.get("to") or {}).get("name", "")).lower()):
                    chosen = tr
                    break
            if chosen:
                break
        if chosen is None:
            offered = ", ".join(f"{t.get('name')} -> {(t.get('to') or {}).get('name')}" for t in transitions)
            raise DeskRejected(f"Jira issue {ref.id} is {current!r}: no transition to {target!r} (offered: {offered})")
        body: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
        if self.resolution and state in ("resolved", "closed"):
            body["fields"] = {"resolution": {"name": self.resolution}}
        await self._call("POST", f"{issue}/transitions", body)

    async def set_queue(self, ref: RemoteTicket, queue: str, change: str = "") -> None:
        if self.mode == "request":
            fields: dict[str, Any] = {self.request_type_field: await self._request_type(queue)}
        else:
            fields = {"issuetype": self._issue_type(queue)}
        await self._call("PUT", f"/rest/api/2/issue/{quote(ref.id)}", {"fields": fields})

    # --- helpers --------------------------------------------------------------------------------------
    def _ref(self, issue_key: str) -> RemoteTicket:
        return RemoteTicket(issue_key, f"{self.base}/browse/{issue_key}")

    def _extra_fields(self, ticket: NewTicket) -> dict[str, Any]:
        fields: dict[str, Any] = {"labels": [key_label(self.label_prefix, ticket.key)]}
        if self.key_field:
            fields[self.key_field] = ticket.key
        if self.origin_field:
            fields[self.origin_field] = ticket.origin
        priority = self.options.get(f"priority.{ticket.priority}")
        if priority:
            fields["priority"] = {"name": priority}
        return fields

    async def _request_body(self, ticket: NewTicket) -> dict[str, Any]:
        body: dict[str, Any] = {
            "serviceDeskId": self.service_desk_id,
            "requestTypeId": await self._request_type(ticket.queue),
            "requestFieldValues": {
                "summary": ticket.subject[:250],
                "description": ticket.body,
                **self._extra_fields(ticket),
            },
        }
        if self.on_behalf and ticket.requester:
            body["raiseOnBehalfOf"] = ticket.requester
        return body

    def _issue_fields(self, ticket: NewTicket) -> dict[str, Any]:
        return {
            "project": {"key": self.project},
            "issuetype": self._issue_type(ticket.queue),
            "summary": ticket.subject[:250],
            "description": ticket.body,
            **self._extra_fields(ticket),
        }

    def _issue_type(self, queue: str) -> dict[str, str]:
        value = self.options.get(f"queue.{queue}", queue)
        return {"id": value} if value.isdigit() else {"name": value}

    async def _request_type(self, queue: str) -> str:
        value = self.options.get(f"queue.{queue}", queue)
        if value.isdigit():
            return value
        if self._request_types is None:
            found: dict[str, str] = {}
            start = 0
            while True:
                path = f"/rest/servicedeskapi/servicedesk/{quote(self.service_desk_id)}/requesttype"
                _, page = await self._call("GET", f"{path}?start={start}&limit=50")
                values = (page or {}).get("values") or []
                for rt in values:
                    found.setdefault(str(rt.get("name", "")).lower(), str(rt["id"]))
                if (page or {}).get("isLastPage", True) or not values:
                    break
                start += len(values)
            self._request_types = found
        rt_id = self._request_types.get(value.lower())
        if rt_id is None:
            self._request_types = None  # it may be created later: look again next time
            raise DeskRejected(f"Jira service desk {self.service_desk_id} has no request type {value!r}")
        return rt_id

    async def _search(self, jql: str) -> list[dict[str, Any]]:
        """Every issue the JQL query finds (paged)."""
        out: list[dict[str, Any]] = []
        if self.search == "jql":
            token = ""
            while True:
                q = {"jql": jql, "fields": "labels,status", "maxResults": str(SEARCH_PAGE)}
                if token:
                    q["nextPageToken"] = token
                _, page = await self._call("GET", "/rest/api/2/search/jql?" + urlencode(q))
                out += (page or {}).get("issues") or []
                token = (page or {}).get("nextPageToken") or ""
                if (page or {}).get("isLast", True) or not token:
                    return out
        start = 0
        while True:
            q = {"jql": jql, "fields": "labels,status", "startAt": str(start), "maxResults": str(SEARCH_PAGE)}
            _, page = await self._call("GET", "/rest/api/2/search?" + urlencode(q))
            issues = (page or {}).get("issues") or []
            out += issues
            start += len(issues)
            if not issues or start >= int((page or {}).get("total") or 0):
                return out

    async def _has_note(self, ref: RemoteTicket, marker: str) -> bool:
        """Whether one of the issue's comments carries `marker` (all pages are read)."""
        needle = f"[{marker}]"
        start = 0
        while True:
            if self.mode == "request":
                path = f"/rest/servicedeskapi/request/{quote(ref.id)}/comment?start={start}&limit=100"
                _, page = await self._call("GET", path)
                comments = (page or {}).get("values") or []
                last = bool((page or {}).get("isLastPage", True))
            else:
                path = f"/rest/api/2/issue/{quote(ref.id)}/comment?startAt={start}&maxResults=100"
                _, page = await self._call("GET", path)
                comments = (page or {}).get("comments") or []
                last = start + len(comments) >= int((page or {}).get("total") or 0)
            if any(needle in str(c.get("body") or "") for c in comments):
                return True
            if last or not comments:
                return False
            start += len(comments)


def _message(payload: Any) -> str:
    """The text of a Jira error: platform `{"errorMessages", "errors"}` or servicedeskapi `{"errorMessage"}`."""
    if isinstance(payload, dict):
        parts = [str(m) for m in payload.get("errorMessages") or []]
        parts += [f"{k}: {v}" for k, v in (payload.get("errors") or {}).items()]
        if payload.get("errorMessage"):
            parts.append(str(payload["errorMessage"]))
        return ("; ".join(parts) or json.dumps(payload))[:300]
    return str(payload)[:300]


def from_settings(cfg: Any) -> JiraDesk:
    """The client for a `desks:` entry with `backend: jira` (bridge.config.RemoteDesk)."""
    desk = JiraDesk(
        cfg.url,
        user=cfg.user,
        password=cfg.password,
        token=cfg.token,
        key_field=cfg.key_field,
        origin_field=cfg.origin_field,
        options=cfg.options,
        timeout=cfg.timeout,
    )
    desk.states = {**STATES, **cfg.states}
    return desk
