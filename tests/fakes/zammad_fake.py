"""A fake Zammad (6.x) speaking the REST API v1 calls alertbridge uses, keeping its tickets in memory.

Shapes follow Zammad's API documentation (https://docs.zammad.org/en/latest/api/ ; source
https://github.com/zammad/zammad-documentation/tree/main/api) and, where it is silent, Zammad's
controllers (app/controllers/tickets_controller.rb, ticket_articles_controller.rb, tags_controller.rb,
application_controller/handles_errors.rb, authenticates.rb, paginates/pagination.rb):

- Auth (intro.html#authentication): `Authorization: Token token=<token>`, HTTP basic, or `Bearer <oauth2
  token>`. Wrong credentials: 401 {"error": "Can't find User for Token"} / "Invalid BasicAuth credentials" /
  "The provided token is invalid."; none: 403 "Authentication required"; an agent without access to a
  group: 403 "Not authorized". Both carry the `X-Failure` header.
- Errors (handles_errors.rb): `{"error": ..., "error_human": ...}` -- 404 "Couldn't find Ticket with
  'id'=N", 422 "No lookup value found for 'group': \"X\"" (also state, priority, customer, type), 422
  "Title can't be blank", 422 "Object already exists!" (a unique violation), 500 "Error ID ...: Please
  contact your administrator." for anything else.
- Pagination (intro.html#pagination, pagination.rb): `page` and `per_page` (or `limit`); search defaults
  to 50 per page and caps at 200 (`page_max` here); no total is given.
- `?expand=true` (intro.html#response-payloads-expand): names next to the ids.

Search (ticket/index.html#search): with `elasticsearch` on (the default), the query understands
`tags:"x"`, `tags:x`, `number:N`, `title:"..."`, `state.name:x`, and otherwise matches words anywhere (title,
number, tags, article bodies and subjects); with it off, Zammad's SQL fallback matches the whole query as a
substring of title, number, and article body/from/to/subject (so `tags:` finds nothing).

Failure injection (`mode`): None, "5xx" (a 502 from the proxy in front, as when Zammad's rails server is
down), "error" (a Zammad 500), "slow" (answers after `delay` seconds -- and still acts, as a server does
after the client gave up), "auth" (401), "forbidden" (403), "ratelimit" (429 + Retry-After), "duplicate" (a
create stores the ticket, as a concurrent writer would, and answers Zammad's 422 "Object already
exists!"), "conflict" (the same, answered 409). `stop()` / `start()` take the server away (connection
refused) and back with its data.
"""

from __future__ import annotations

import asyncio
import base64
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.conftest import free_port

AGENT = "agent@msp.example"  # login and e-mail of the API user (an agent with all groups)
PASSWORD = "agent-password"
TOKEN = "zammad-http-token"
OAUTH = "zammad-oauth2-token"

STATES = {1: "new", 2: "open", 3: "pending reminder", 4: "closed", 5: "merged", 7: "pending close"}
PRIORITIES = {1: "1 low", 2: "2 normal", 3: "3 high"}
ARTICLE_TYPES = {1: "email", 5: "phone", 8: "web", 10: "note", 11: "sms"}
TICKET_TYPES = {"Incident", "Problem", "Request for Change"}  # the `type` field's options when activated


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _error(status: int, message: str, human: bool = True, headers: dict[str, str] | None = None) -> web.Response:
    """Zammad's error body (ApplicationController::HandlesErrors#humanize_error)."""
    body = {"error": message, "error_human": message} if human else {"error": message}
    resp = web.json_response(body, status=status)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


class ZammadFake:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.groups: dict[int, str] = {1: "Users", 2: "Incidents", 3: "Faults"}
        self.users: dict[int, dict[str, Any]] = {
            1: {"id": 1, "login": "-", "email": "", "firstname": "-", "lastname": ""},
            3: {"id": 3, "login": AGENT, "email": AGENT, "firstname": "API", "lastname": "Agent"},
            10: {"id": 10, "login": "monitoring@msp.example", "email": "monitoring@msp.example", "firstname": "M"},
        }
        self.tickets: dict[int, dict[str, Any]] = {}
        self.mode: str | None = None
        self.delay = 3.0
        self.elasticsearch = True
        self.page_max = 200  # TicketsController#search: paginate_with(max: 200, default: 50)
        self.requests: list[tuple[str, str]] = []
        self._next_ticket = 0
        self._next_article = 100
        self._next_user = 20
        self._inflight = 0
        self.runner: web.AppRunner | None = None

    # --- lifecycle ------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_post("/api/v1/tickets", self.create_ticket)  # ticket/index.html#create
        r.add_get("/api/v1/tickets/search", self.search)  # ticket/index.html#search
        r.add_get(r"/api/v1/tickets/{id:\d+}", self.show_ticket)  # ticket/index.html#show
        r.add_put(r"/api/v1/tickets/{id:\d+}", self.update_ticket)  # ticket/index.html#update
        r.add_post("/api/v1/ticket_articles", self.create_article)  # ticket/articles.html#create
        r.add_get(r"/api/v1/ticket_articles/by_ticket/{id:\d+}", self.articles_by_ticket)  # articles.html#list...
        r.add_get("/api/v1/tags", self.tag_list)  # ticket/tags.html#list
        r.add_post("/api/v1/tags/add", self.tag_add)  # ticket/tags.html#add
        r.add_delete("/api/v1/tags/remove", self.tag_remove)  # ticket/tags.html#remove
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
    def ticket(self, ticket_id: int | str) -> dict[str, Any]:
        """The ticket as an agent sees it: names, tags and articles."""
        t = self.tickets[int(ticket_id)]
        return {
            **self._expanded(t),
            "tags": list(t["tags"]),
            "articles": [self._article_json(a) for a in t["articles"]],
            "history": list(t["history"]),
        }

    def by_tag(self, tag: str) -> list[dict[str, Any]]:
        return [self.ticket(i) for i, t in self.tickets.items() if tag.lower() in (x.lower() for x in t["tags"])]

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
                    status=502,
                    text="<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>",
                    content_type="text/html",
                )
            if self.mode == "error":
                return _error(500, "Error ID aB3dE6fG: Please contact your administrator.", human=False)
            if self.mode == "ratelimit":
                return web.Response(status=429, headers={"Retry-After": "5"}, text="Too Many Requests")
            failure = self._authenticate(request.headers.get("Authorization", ""))
            if failure is not None:
                return failure
            if self.mode == "forbidden":
                return _error(403, "Not authorized", headers={"X-Failure": "Not authorized"})
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self._inflight -= 1

    def _authenticate(self, header: str) -> web.Response | None:
        """None when the caller is the agent; else Zammad's answer (authenticates.rb)."""
        wrong = self.mode == "auth"
        if header.startswith("Basic "):
            try:
                ok = base64.b64decode(header[6:]).decode() == f"{AGENT}:{PASSWORD}"
            except ValueError:
                ok = False
            message = "Invalid BasicAuth credentials"
        elif header.startswith("Token "):
            m = re.fullmatch(r'Token token="?([^",]+)"?', header)
            ok = bool(m and m.group(1) == TOKEN)
            message = "Can't find User for Token"
        elif header.startswith("Bearer "):
            ok = header[7:] == OAUTH
            message = "The provided token is invalid."
        else:
            return _error(403, "Authentication required", headers={"X-Failure": "Authentication required"})
        if ok and not wrong:
            return None
        return _error(401, message, headers={"X-Failure": message})

    async def _json(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    @staticmethod
    def _expand(request: web.Request) -> bool:
        return request.query.get("expand", "").lower() in ("true", "1")

    def _lookup(self, table: dict[int, str], name: str, value: Any) -> int | web.Response:
        """Ids by name, as Model.association_name_to_id_convert does."""
        for i, n in table.items():
            if n == value:
                return i
        return _error(422, f"No lookup value found for '{name}': {_inspect(value)}")

    def _user(self, value: str) -> int | None:
        v = value.lower()
        return next((u["id"] for u in self.users.values() if v in (u["login"].lower(), u["email"].lower())), None)

    def _find(self, ticket_id: Any) -> dict[str, Any] | web.Response:
        try:
            t = self.tickets.get(int(ticket_id))
        except (TypeError, ValueError):
            t = None
        if t is None:
            return _error(404, f"Couldn't find Ticket with 'id'={ticket_id}")
        return t

    def _page(self, request: web.Request, default: int, max_: int) -> tuple[int, int]:
        """(offset, limit) as ApplicationController::Paginates::Pagination computes them."""
        try:
            limit = min(int(request.query.get("per_page") or request.query.get("limit") or default), max_)
            page = int(request.query.get("page") or 1)
        except ValueError:
            limit, page = default, 1
        return (max(page, 1) - 1) * limit, max(limit, 0)

    # --- rendering ------------------------------------------------------------------------------------
    def _ids(self, t: dict[str, Any]) -> dict[str, Any]:
        """Model#attributes_with_association_ids."""
        return {k: v for k, v in t.items() if k not in ("tags", "articles", "history")} | {
            "article_ids": [a["id"] for a in reversed(t["articles"])],
            "ticket_time_accounting_ids": [],
        }

    def _expanded(self, t: dict[str, Any]) -> dict[str, Any]:
        """Model#attributes_with_association_names (`?expand=true`)."""
        return self._ids(t) | {
            "group": self.groups.get(t["group_id"]),
            "state": STATES[t["state_id"]],
            "priority": PRIORITIES[t["priority_id"]],
            "customer": self.users[t["customer_id"]]["login"],
            "owner": self.users[t["owner_id"]]["login"],
            "organization": None,
            "created_by": AGENT,
            "updated_by": AGENT,
            "create_article_type": "note",
            "create_article_sender": "Agent",
            "ticket_time_accounting": [],
        }

    def _render(self, t: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return self._expanded(t) if self._expand(request) else self._ids(t)

    @staticmethod
    def _article_json(a: dict[str, Any]) -> dict[str, Any]:
        return dict(a)

    # --- tickets ----------------------------------------------------------------------------------------
    async def create_ticket(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body, dict):
            return _error(422, "Please provide a valid JSON payload.")
        fields = self._ticket_fields(body, creating=True)
        if isinstance(fields, web.Response):
            return fields
        customer = body.get("customer_id")
        if isinstance(customer, str) and customer.startswith("guess:"):
            email = customer[6:]
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                return _error(422, f"Invalid email '{email}' of customer", human=False)
            uid = self._user(email)
            if uid is None:
                self._next_user += 1
                uid = self._next_user
                self.users[uid] = {"id": uid, "login": email.lower(), "email": email.lower(), "firstname": ""}
            fields["customer_id"] = uid
        elif isinstance(customer, int):
            if customer not in self.users:
                return _error(422, f"No lookup value found for 'customer_id': {customer}")
            fields["customer_id"] = customer
        elif body.get("customer") is not None:
            uid = self._user(str(body["customer"]))
            if uid is None:
                return _error(422, f"No lookup value found for 'customer': {_inspect(body['customer'])}")
            fields["customer_id"] = uid
        if "customer_id" not in fields:
            return _error(422, "Attribute 'customer_id' required!")
        if not str(fields.get("title") or "").strip():
            return _error(422, "Title can't be blank")
        if "group_id" not in fields:
            return _error(422, "Group can't be blank")
        article = body.get("article")
        checked: dict[str, Any] | None = None
        if article is not None:
            fields_or_error = self._article_fields(article if isinstance(article, dict) else {})
            if isinstance(fields_or_error, web.Response):
                return fields_or_error
            checked = fields_or_error
        self._next_ticket += 1
        now = _now()
        t: dict[str, Any] = {
            "id": self._next_ticket,
            "group_id": fields["group_id"],
            "priority_id": fields.get("priority_id", 2),
            "state_id": fields.get("state_id", 1),
            "organization_id": None,
            "number": str(31000 + self._next_ticket),
            "title": fields["title"],
            "owner_id": 1,
            "customer_id": fields["customer_id"],
            "note": None,
            "close_at": None,
            "last_contact_at": None,
            "create_article_type_id": 10,
            "create_article_sender_id": 1,
            "article_count": 0,
            "pending_time": None,
            "type": fields.get("type"),
            "preferences": {},
            "updated_by_id": 3,
            "created_by_id": 3,
            "created_at": now,
            "updated_at": now,
            "tags": [],
            "articles": [],
            "history": [],
        }
        self.tickets[t["id"]] = t
        for tag in str(body.get("tags") or "").split(","):
            self._tag(t, tag)
        if checked is not None:
            self._store_article(t, checked)
        if self.mode in ("duplicate", "conflict"):
            return _error(409 if self.mode == "conflict" else 422, "Object already exists!")
        return web.json_response(self._render(t, request), status=201)

    def _ticket_fields(self, body: dict[str, Any], creating: bool) -> dict[str, Any] | web.Response:
        out: dict[str, Any] = {}
        for name, table, key in (
            ("group", self.groups, "group_id"),
            ("state", STATES, "state_id"),
            ("priority", PRIORITIES, "priority_id"),
        ):
            if body.get(name) is not None:
                found = self._lookup(table, name, body[name])
                if isinstance(found, web.Response):
                    return found
                out[key] = found
            elif body.get(key) is not None:
                if body[key] not in table:
                    return _error(422, f"No lookup value found for '{key}': {body[key]}")
                out[key] = body[key]
        if "title" in body:
            out["title"] = body["title"]
            if not creating and not str(body["title"] or "").strip():
                return _error(422, "Title can't be blank")
        if body.get("type") is not None:
            if body["type"] not in TICKET_TYPES:
                return _error(422, f"Type '{body['type']}' is not a valid option")
            out["type"] = body["type"]
        return out

    async def show_ticket(self, request: web.Request) -> web.Response:
        t = self._find(request.match_info["id"])
        if isinstance(t, web.Response):
            return t
        return web.json_response(self._render(t, request))

    async def update_ticket(self, request: web.Request) -> web.Response:
        t = self._find(request.match_info["id"])
        if isinstance(t, web.Response):
            return t
        body = await self._json(request)
        if not isinstance(body, dict):
            return _error(422, "Please provide a valid JSON payload.")
        fields = self._ticket_fields(body, creating=False)
        if isinstance(fields, web.Response):
            return fields
        article = body.get("article")
        checked: dict[str, Any] | None = None
        if article:
            fields_or_error = self._article_fields(article if isinstance(article, dict) else {})
            if isinstance(fields_or_error, web.Response):
                return fields_or_error
            checked = fields_or_error
        if "state_id" in fields and fields["state_id"] != t["state_id"]:
            t["history"].append((STATES[t["state_id"]], STATES[fields["state_id"]]))
            if STATES[fields["state_id"]] == "closed":
                t["close_at"] = _now()
        t.update(fields)
        t["updated_at"] = _now()
        if checked is not None:
            self._store_article(t, checked)
        return web.json_response(self._render(t, request))

    async def search(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        offset, limit = self._page(request, 50, self.page_max)
        hits = [t for t in self.tickets.values() if self._matches(t, query)]
        sort_by = request.query.get("sort_by") or "updated_at"
        hits.sort(key=lambda t: (str(t.get(sort_by)), t["id"]), reverse=request.query.get("order_by") != "asc")
        page = hits[offset : offset + limit]
        if self._expand(request):
            return web.json_response([self._expanded(t) for t in page])
        return web.json_response(
            {
                "tickets": [t["id"] for t in page],
                "tickets_count": len(page),  # the number returned, not the total (see the docs' warning)
                "assets": {"Ticket": {str(t["id"]): self._ids(t) for t in page}},
            }
        )

    def _matches(self, t: dict[str, Any], query: str) -> bool:
        texts = [t["title"], t["number"]]
        for a in t["articles"]:
            texts += [a["body"], a["subject"] or "", a["from"] or "", a["to"] or ""]
        if not self.elasticsearch:  # Ticket::Search.search_sql_query_extension: ILIKE %query%
            return bool(query) and any(query.lower() in str(x).lower() for x in texts)
        for m in re.finditer(r'([\w.]+):(?:"([^"]*)"|(\S+))', query):
            field, value = m.group(1), (m.group(2) if m.group(2) is not None else m.group(3)).lower()
            if field == "tags" and value not in (x.lower() for x in t["tags"]):
                return False
            if field == "number" and value != t["number"]:
                return False
            if field == "title" and value not in t["title"].lower():
                return False
            if field == "state.name" and value != STATES[t["state_id"]]:
                return False
        rest = re.sub(r'[\w.]+:(?:"[^"]*"|\S+)', " ", query).split()
        words = " ".join([*map(str, texts), *t["tags"]]).lower()
        return all(w.strip('"').lower() in words for w in rest)

    # --- articles -----------------------------------------------------------------------------------------
    def _article_fields(self, a: dict[str, Any]) -> dict[str, Any] | web.Response:
        if not str(a.get("body") or "").strip():
            return _error(422, 'Need at least article: { body: "some text" }')
        type_name = a.get("type") or "note"
        if type_name not in ARTICLE_TYPES.values():
            return _error(422, f"No lookup value found for 'type': {_inspect(type_name)}")
        internal = a.get("internal", False)
        if not isinstance(internal, bool):
            internal = str(internal).lower() in ("true", "1")
        return {
            "subject": a.get("subject"),
            "body": str(a["body"]),
            "content_type": a.get("content_type") or "text/plain",
            "type": type_name,
            "internal": internal,
            "to": a.get("to") or "",
            "cc": a.get("cc") or "",
        }

    def _store_article(self, t: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
        self._next_article += 1
        now = _now()
        type_id = next(i for i, n in ARTICLE_TYPES.items() if n == f["type"])
        a = {
            "id": self._next_article,
            "ticket_id": t["id"],
            "type_id": type_id,
            "sender_id": 1,
            "from": "API Agent" if f["type"] == "note" else "API Agent via Zammad <zammad@localhost>",
            "to": f["to"],
            "cc": f["cc"],
            "subject": f["subject"],
            "reply_to": None,
            "message_id": None,
            "message_id_md5": None,
            "in_reply_to": None,
            "content_type": f["content_type"],
            "references": None,
            "body": f["body"],
            "internal": f["internal"],
            "preferences": {},
            "updated_by_id": 3,
            "created_by_id": 3,
            "origin_by_id": None,
            "created_at": now,
            "updated_at": now,
            "attachments": [],
            "type": f["type"],
            "sender": "Agent",
            "created_by": AGENT,
            "updated_by": AGENT,
            "time_unit": None,
        }
        t["articles"].append(a)
        t["article_count"] = len(t["articles"])
        t["updated_at"] = now
        return a

    async def create_article(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body, dict):
            return _error(422, "Please provide a valid JSON payload.")
        if body.get("ticket_id") is None:
            return _error(404, "Couldn't find Ticket without an ID")
        t = self._find(body["ticket_id"])
        if isinstance(t, web.Response):
            return t
        fields = self._article_fields(body)
        if isinstance(fields, web.Response):
            return fields
        return web.json_response(self._store_article(t, fields), status=201)

    async def articles_by_ticket(self, request: web.Request) -> web.Response:
        t = self._find(request.match_info["id"])
        if isinstance(t, web.Response):
            return t
        return web.json_response([self._article_json(a) for a in t["articles"]])

    # --- tags ---------------------------------------------------------------------------------------------
    def _tag(self, t: dict[str, Any], item: str) -> None:
        """Tag.tag_add: strips the name; a tag already there (case-insensitively) is not added again."""
        item = item.strip()
        if item and item.lower() not in (x.lower() for x in t["tags"]):
            t["tags"].append(item)

    def _tag_target(self, object_: Any, o_id: Any) -> dict[str, Any] | web.Response:
        if object_ != "Ticket":
            return _error(422, f"No such object {object_!r}")  # only tickets are used here
        return self._find(o_id)

    async def tag_list(self, request: web.Request) -> web.Response:
        t = self._tag_target(request.query.get("object"), request.query.get("o_id"))
        if isinstance(t, web.Response):
            return t
        return web.json_response({"tags": list(t["tags"])})

    async def tag_add(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body, dict):
            return _error(422, "Please provide a valid JSON payload.")
        t = self._tag_target(body.get("object"), body.get("o_id"))
        if isinstance(t, web.Response):
            return t
        if not str(body.get("item") or "").strip():
            return _error(422, "Name can't be blank")
        self._tag(t, str(body["item"]))
        return web.json_response(True, status=201)

    async def tag_remove(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body, dict):
            return _error(422, "Please provide a valid JSON payload.")
        t = self._tag_target(body.get("object"), body.get("o_id"))
        if isinstance(t, web.Response):
            return t
        item = str(body.get("item") or "").strip().lower()
        t["tags"] = [x for x in t["tags"] if x.lower() != item]
        return web.json_response(True, status=201)


def _inspect(value: Any) -> str:
    """Ruby's String#inspect of a simple value."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
