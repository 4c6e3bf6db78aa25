"""A fake Znuny 6.5 GenericInterface web service `GenericTicketConnectorREST`, answering as the real one did
in the captures of a real Znuny 6.5 in tests/fixtures/znuny/ (see its SUMMARY.txt).

Routes, under `/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST`:

- `POST /Session` (SessionCreate) -> `{"SessionID": ...}`;
- `POST /Ticket` (TicketCreate) -> `{"ArticleID": <int>, "TicketID": "<str>", "TicketNumber": "<str>"}`;
- `GET /Ticket` (TicketSearch, the stock route: flat query strings; `DynamicField_<Name>=` is ignored, as the
  real REST transport ignores it) and `POST /TicketSearch` (TicketSearch with a JSON body: `DynamicField`
  as a hash or a list of hashes `{"Name", "Equals"|"Like"}`; `Title`, `Queues`, `States`, `StateType`,
  `SortBy` Age|TicketNumber|TicketID, `OrderBy` Up|Down (default Down: newest first), `Limit` (default 500))
  -> `{"TicketID": ["2", ...]}`, or `{}` when nothing matches;
- `GET /Ticket/:TicketID` (TicketGet; `DynamicFields=1`, `AllArticles=1`, `ArticleOrder` ASC|DESC,
  `ArticleLimit`, `ArticleSenderType`) -> `{"Ticket": [{... "DynamicField": [...], "Article": [...]}]}`;
- `PATCH /Ticket/:TicketID` (TicketUpdate: `Ticket`, `Article`, `DynamicField`) -> `{"TicketID", "TicketNumber"}`
  plus `"ArticleID"` when an article was added.

Every operation answers HTTP 200, refusals included: `{"Error": {"ErrorCode": "<Op>.AuthFail" |
".MissingParameter" | ".InvalidParameter" | ".AccessDenied", "ErrorMessage": "<Op>: ..."}}`; a ticket that does
not exist is AccessDenied. The transport answers HTTP 500 text/plain for an unknown route and for a body
that is not JSON. Credentials: `UserLogin` + `Password` or `SessionID`, in the body (the query of a GET);
a GET's body is ignored.

Failure injection (`mode`): None; "5xx" (HTTP `fail_status`, 503 by default, from the proxy in front);
"slow" (answers after `delay` seconds, and still does the work, as a server does after the client gave up);
"auth" (every login and session refused: `<Op>.AuthFail`, SessionCreate `SessionCreate.AuthFail`);
"duplicate" (a TicketCreate is preceded by a twin with the same content, as a concurrent writer's create:
Znuny has no unique key nor conflict answer). `stop()` / `start()` take the server away (connection refused)
and back with its data; `expire_sessions()` forgets every session.
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.conftest import free_port

BASE = "/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"
USER = "agent1"
PASSWORD = "AgentPass1!"

STATES = {  # name -> (StateID, StateType), Znuny's defaults
    "new": (1, "new"),
    "closed successful": (2, "closed"),
    "closed unsuccessful": (3, "closed"),
    "open": (4, "open"),
    "removed": (5, "removed"),
    "pending reminder": (6, "pending reminder"),
    "pending auto close+": (7, "pending auto"),
    "pending auto close-": (8, "pending auto"),
    "merged": (9, "merged"),
}
PRIORITIES = {"1 very low": 1, "2 low": 2, "3 normal": 3, "4 high": 4, "5 very high": 5}
CHANNELS = {"Email": 1, "Phone": 2, "Internal": 3, "Chat": 4}
SENDER_TYPES = {"agent": "1", "system": "2", "customer": "3"}
BUILTIN_FIELDS = [
    "ProcessManagementActivityID",
    "ProcessManagementAttachment",
    "ProcessManagementProcessID",
    "TicketCalendarEndTime",
    "TicketCalendarStartTime",
]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class ZnunyFake:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/otrs"  # the Znuny base; the web service is under BASE
        self.api = f"http://127.0.0.1:{self.port}{BASE}"
        self.users = {USER: PASSWORD}
        self.sessions: dict[str, str] = {}
        self.queues = {"Postmaster": 1, "Raw": 2, "Junk": 3, "Misc": 4, "Alerts": 5, "Incidents": 6, "Faults": 7}
        self.types = {"Unclassified": 1, "Incident": 2, "Problem": 3}
        self.dynamic_fields = {"AlertbridgeKey", "Origin", *BUILTIN_FIELDS}
        self.customer_users = {
            "cust1": {"name": "Cust One", "email": "cust1@example.com", "customer_id": "ACME"},
            "acme-monitoring": {"name": "Acme Monitoring", "email": "monitoring@acme.example", "customer_id": "ACME"},
        }
        self.tickets: dict[int, dict[str, Any]] = {}
        self.history: dict[int, list[tuple[str, str]]] = {}  # (HistoryType, Name), oldest first
        self.mode: str | None = None
        self.delay = 3.0
        self.fail_status = 503
        self.requests: list[tuple[str, str, Any]] = []  # method, path (below BASE), decoded data
        self._next_ticket = 1
        self._next_article = 1
        self._inflight = 0
        self.runner: web.AppRunner | None = None
        self._add_ticket(  # the initial data's "Welcome" ticket, as in every fresh Znuny
            {"Title": "Welcome to Znuny!", "Queue": "Raw", "State": "new", "Priority": "3 normal", "CustomerUser": ""},
            {"CommunicationChannel": "Email", "IsVisibleForCustomer": 1, "SenderType": "customer",
             "Subject": "Welcome to Znuny!", "Body": "Welcome!", "From": "Znuny Feedback <feedback@znuny.org>"},
            [],
        )  # fmt: skip

    # --- lifecycle ------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_route("*", BASE + "/{tail:.*}", self._dispatch)
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

    def expire_sessions(self) -> None:
        self.sessions.clear()

    # --- what the desk shows ---------------------------------------------------------------------------
    def field(self, ticket: dict[str, Any], name: str) -> Any:
        return next((f["Value"] for f in ticket["DynamicField"] if f["Name"] == name), None)

    def by_key(self, key: str, field: str = "AlertbridgeKey") -> list[dict[str, Any]]:
        return [t for t in self.tickets.values() if self.field(t, field) == key]

    def created(self) -> list[dict[str, Any]]:
        """The tickets made through the API (not the Welcome ticket)."""
        return [t for i, t in self.tickets.items() if i > 1]

    def states_of(self, ticket_id: int) -> list[str]:
        return [name.split("%%")[2] for kind, name in self.history[ticket_id] if kind == "StateUpdate"]

    # --- plumbing ---------------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self._inflight += 1
        try:
            if self.mode == "slow":
                await asyncio.sleep(self.delay)
            if self.mode == "5xx":
                return web.Response(
                    status=self.fail_status,
                    text=f"<html><body><h1>{self.fail_status} Service Unavailable</h1></body></html>",
                    content_type="text/html",
                )
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            self._inflight -= 1

    @staticmethod
    def _json(body: Any) -> web.Response:
        return web.Response(
            body=json.dumps(body).encode(), content_type="application/json", charset="UTF-8",
            headers={"Connection": "close"},
        )  # fmt: skip

    @staticmethod
    def _transport_error(text: str) -> web.Response:
        return web.Response(status=500, text=text, content_type="text/plain", charset="UTF-8")

    def _error(self, op: str, code: str, message: str) -> web.Response:
        return self._json({"Error": {"ErrorCode": f"{op}.{code}", "ErrorMessage": f"{op}: {message}"}})

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        tail = "/" + request.match_info["tail"]
        method = request.method
        parts = [p for p in tail.split("/") if p]
        route: tuple[str, str | None] | None = None
        if method == "POST" and parts == ["Session"]:
            route = ("SessionCreate", None)
        elif method == "POST" and parts == ["Ticket"]:
            route = ("TicketCreate", None)
        elif (method, parts) in (("GET", ["Ticket"]), ("POST", ["TicketSearch"])):
            route = ("TicketSearch", None)
        elif method == "GET" and len(parts) == 2 and parts[0] == "Ticket":
            route = ("TicketGet", parts[1])
        elif method == "PATCH" and len(parts) == 2 and parts[0] == "Ticket":
            route = ("TicketUpdate", parts[1])
        if route is None:
            return self._transport_error(f"HTTP::REST Error while determine Operation for request URI '{tail}'.")
        if method == "GET":  # the REST transport ignores a GET's body; query parameters are flat strings
            data: dict[str, Any] = dict(request.query)
        else:
            raw = await request.read()
            if raw.strip():
                try:
                    data = json.loads(raw)
                except ValueError:
                    return self._transport_error("Error while decoding request content.")
                if not isinstance(data, dict):
                    return self._transport_error("Error while decoding request content.")
            else:
                data = {}
        self.requests.append((method, tail, data))
        op, ticket_id = route
        if op == "SessionCreate":
            return self.session_create(data)
        refused = self._authenticate(op, data)
        if refused is not None:
            return refused
        if op == "TicketCreate":
            return self.ticket_create(data)
        if op == "TicketSearch":
            return self.ticket_search(data, flat=method == "GET")
        if op == "TicketGet":
            return self.ticket_get(str(ticket_id), data)
        return self.ticket_update(str(ticket_id), data)

    def _authenticate(self, op: str, data: dict[str, Any]) -> web.Response | None:
        if data.get("SessionID"):
            if self.mode != "auth" and str(data["SessionID"]) in self.sessions:
                return None
            return self._error(op, "AuthFail", "User could not be authenticated!")
        if not data.get("UserLogin") and not data.get("CustomerUserLogin"):
            return self._error(op, "MissingParameter", "UserLogin, CustomerUserLogin or SessionID is required!")
        if not data.get("Password"):
            return self._error(op, "MissingParameter", "Password or SessionID is required!")
        if self.mode == "auth" or self.users.get(str(data["UserLogin"])) != data["Password"]:
            return self._error(op, "AuthFail", "User could not be authenticated!")
        return None

    # --- operations -------------------------------------------------------------------------------------
    def session_create(self, data: dict[str, Any]) -> web.Response:
        if not data.get("UserLogin") or not data.get("Password"):
            return self._error(
                "SessionCreate", "MissingParameter", "UserLogin, CustomerUserLogin or SessionID is required!"
            )
        if self.mode == "auth" or self.users.get(str(data["UserLogin"])) != data["Password"]:
            return self._error("SessionCreate", "AuthFail", "Authorization failing!")
        sid = secrets.token_urlsafe(24)[:32]
        self.sessions[sid] = str(data["UserLogin"])
        return self._json({"SessionID": sid})

    def _check_ticket(self, op: str, t: dict[str, Any], create: bool) -> web.Response | None:
        required = ["Title", "Queue", "State", "Priority", "CustomerUser"] if create else []
        for name in required:
            if not t.get(name) and not t.get(name + "ID"):
                what = f"{name}ID or Ticket->{name}" if name in ("Queue", "State", "Priority") else name
                return self._error(op, "MissingParameter", f"Ticket->{what} parameter is missing!")
        if "Queue" in t and t["Queue"] not in self.queues:
            return self._error(op, "InvalidParameter", "Ticket->QueueID or Ticket->Queue parameter is invalid!")
        if "State" in t and t["State"] not in STATES:
            return self._error(op, "InvalidParameter", "Ticket->StateID or Ticket->State parameter is invalid!")
        if "Priority" in t and t["Priority"] not in PRIORITIES:
            return self._error(op, "InvalidParameter", "Ticket->PriorityID or Ticket->Priority parameter is invalid!")
        if "Type" in t and t["Type"] not in self.types:
            return self._error(op, "InvalidParameter", "Ticket->TypeID or Ticket->Type parameter is invalid!")
        if "CustomerUser" in t:
            cu = str(t["CustomerUser"])
            if cu not in self.customer_users and not (cu.count("@") == 1 and "." in cu.split("@")[1]):
                return self._error(op, "InvalidParameter", "Ticket->CustomerUser parameter is invalid!")
        return None

    def _check_article(self, op: str, a: Any) -> web.Response | None:
        if not isinstance(a, dict):
            return self._error(op, "MissingParameter", "Article parameter is missing or not valid!")
        for name in ("Subject", "Body"):
            if not a.get(name):
                return self._error(op, "MissingParameter", f"Article->{name} parameter is missing!")
        if not a.get("ContentType") and not (a.get("MimeType") and a.get("Charset")):
            return self._error(op, "MissingParameter", "Article->ContentType or MimeType and Charset is required!")
        if a.get("CommunicationChannel", "Internal") not in CHANNELS:
            return self._error(op, "InvalidParameter", "Article->CommunicationChannel parameter is invalid!")
        if a.get("SenderType", "agent") not in SENDER_TYPES:
            return self._error(op, "InvalidParameter", "Article->SenderType parameter is invalid!")
        return None

    def _fields(self, op: str, value: Any) -> tuple[list[dict[str, Any]], web.Response | None]:
        fields = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
        for f in fields:
            if not isinstance(f, dict) or f.get("Name") not in self.dynamic_fields:
                return [], self._error(op, "InvalidParameter", "DynamicField->Name parameter is invalid!")
        return fields, None

    def ticket_create(self, data: dict[str, Any]) -> web.Response:
        op = "TicketCreate"
        t, a = data.get("Ticket"), data.get("Article")
        if not isinstance(t, dict):
            return self._error(op, "MissingParameter", "Ticket parameter is missing or not valid!")
        if not isinstance(a, dict):
            return self._error(op, "MissingParameter", "Article parameter is missing or not valid!")
        refused = self._check_ticket(op, t, create=True) or self._check_article(op, a)
        if refused is not None:
            return refused
        fields, refused = self._fields(op, data.get("DynamicField"))
        if refused is not None:
            return refused
        if self.mode == "duplicate":  # a concurrent writer's create lands first
            self._add_ticket(t, a, fields)
        ticket_id, article_id = self._add_ticket(t, a, fields)
        ticket = self.tickets[ticket_id]
        return self._json({"ArticleID": article_id, "TicketID": str(ticket_id), "TicketNumber": ticket["TicketNumber"]})

    def _add_ticket(self, t: dict[str, Any], a: dict[str, Any], fields: list[dict[str, Any]]) -> tuple[int, int]:
        ticket_id = self._next_ticket
        self._next_ticket += 1
        now = _now()
        cu = str(t.get("CustomerUser") or "")
        state = str(t["State"])
        ticket: dict[str, Any] = {
            "Age": 0,
            "ArchiveFlag": "n",
            "ChangeBy": 2,
            "Changed": now,
            "CreateBy": 2,
            "Created": now,
            "CustomerID": self.customer_users.get(cu, {}).get("customer_id", ""),
            "CustomerUserID": cu,
            "DynamicField": [{"Name": n, "Value": None} for n in sorted(self.dynamic_fields)],
            "EscalationResponseTime": 0,
            "EscalationSolutionTime": 0,
            "EscalationTime": 0,
            "EscalationUpdateTime": 0,
            "GroupID": 1,
            "Lock": "unlock",
            "LockID": 1,
            "Owner": USER,
            "OwnerID": 2,
            "Priority": t["Priority"],
            "PriorityID": PRIORITIES[t["Priority"]],
            "Queue": t["Queue"],
            "QueueID": self.queues[t["Queue"]],
            "RealTillTimeNotUsed": 0,
            "Responsible": "root@localhost",
            "ResponsibleID": 1,
            "SLAID": "",
            "ServiceID": "",
            "State": state,
            "StateID": STATES[state][0],
            "StateType": STATES[state][1],
            "TicketID": ticket_id,
            "TicketNumber": f"{datetime.now(UTC):%Y%m%d}10{ticket_id:05d}{ticket_id % 10}",
            "TimeUnit": 0,
            "Title": t["Title"],
            "Type": t.get("Type", "Unclassified"),
            "TypeID": self.types[t.get("Type", "Unclassified")],
            "UnlockTimeout": 0,
            "UntilTime": 0,
            "Article": [],
        }
        self.tickets[ticket_id] = ticket
        self.history[ticket_id] = [
            ("NewTicket", f"%%{ticket['TicketNumber']}%%{t['Queue']}%%{t['Priority']}%%{state}%%{ticket_id}")
        ]
        self._set_fields(ticket, fields)
        article_id = self._add_article(ticket, a, "NewTicket")
        return ticket_id, article_id

    def _add_article(self, ticket: dict[str, Any], a: dict[str, Any], history: str) -> int:
        article_id = self._next_article
        self._next_article += 1
        channel = str(a.get("CommunicationChannel", "Internal"))
        sender = str(a.get("SenderType", "agent"))
        cu = self.customer_users.get(ticket["CustomerUserID"])
        default_from = f'"{cu["name"]}" <{cu["email"]}>' if cu and sender != "agent" else "Agent One"
        now = _now()
        ticket["Article"].append(
            {
                "ArticleID": article_id,
                "ArticleNumber": len(ticket["Article"]) + 1,
                "Bcc": "",
                "Body": a["Body"],
                "Cc": "",
                "ChangeBy": 2,
                "ChangeTime": now,
                "Charset": "utf8",
                "CommunicationChannelID": CHANNELS[channel],
                "ContentCharset": "utf8",
                "ContentType": a.get("ContentType") or f"{a.get('MimeType')}; charset={a.get('Charset')}",
                "CreateBy": 2,
                "CreateTime": now,
                "From": a.get("From") or default_from,
                "InReplyTo": "",
                "IncomingTime": int(datetime.now(UTC).timestamp()),
                # without it, an Internal article is agent-only and the others are visible
                "IsVisibleForCustomer": int(a.get("IsVisibleForCustomer", 0 if channel == "Internal" else 1)),
                "MessageID": "",
                "MimeType": "text/plain",
                "References": "",
                "ReplyTo": "",
                "SenderType": sender,
                "SenderTypeID": SENDER_TYPES[sender],
                "Subject": a["Subject"],
                "TicketID": ticket["TicketID"],
                "TimeUnit": 0,
                "To": a.get("To") or ("" if sender == "agent" else ticket["Queue"]),
            }
        )
        self.history[ticket["TicketID"]].append(
            ("AddNote" if history != "NewTicket" else "NewTicket", f"%%GenericInterface {history}")
        )
        return article_id

    def _set_fields(self, ticket: dict[str, Any], fields: list[dict[str, Any]]) -> None:
        for f in fields:
            for have in ticket["DynamicField"]:
                if have["Name"] == f["Name"]:
                    old = have["Value"]
                    have["Value"] = f.get("Value") if f.get("Value") not in ("", None) else None
                    self.history[ticket["TicketID"]].append(
                        (
                            "TicketDynamicFieldUpdate",
                            f"%%FieldName%%{f['Name']}%%Value%%{f.get('Value')}%%OldValue%%{old or ''}",
                        )
                    )

    def ticket_update(self, ticket_id: str, data: dict[str, Any]) -> web.Response:
        op = "TicketUpdate"
        ticket = self.tickets.get(int(ticket_id)) if ticket_id.isdigit() else None
        if ticket is None:
            return self._error(op, "AccessDenied", "User does not have access to the ticket!")
        t, a = data.get("Ticket"), data.get("Article")
        if t is None and a is None and data.get("DynamicField") is None:
            return self._error(op, "MissingParameter", "Ticket, Article or DynamicField parameter is required!")
        if t is not None and not isinstance(t, dict):
            return self._error(op, "MissingParameter", "Ticket parameter is missing or not valid!")
        refused = (self._check_ticket(op, t, create=False) if t else None) or (
            self._check_article(op, a) if a is not None else None
        )
        if refused is not None:
            return refused
        fields, refused = self._fields(op, data.get("DynamicField"))
        if refused is not None:
            return refused
        for name, value in (t or {}).items():
            if name == "State" and value != ticket["State"]:
                self.history[ticket["TicketID"]].append(("StateUpdate", f"%%{ticket['State']}%%{value}%%"))
                ticket.update(State=value, StateID=STATES[value][0], StateType=STATES[value][1])
            elif name == "Queue" and value != ticket["Queue"]:
                self.history[ticket["TicketID"]].append(("Move", f"%%{value}%%{self.queues[value]}%%{ticket['Queue']}"))
                ticket.update(Queue=value, QueueID=self.queues[value])
            elif name == "Priority":
                ticket.update(Priority=value, PriorityID=PRIORITIES[value])
            elif name == "Type":
                ticket.update(Type=value, TypeID=self.types[value])
            elif name == "Title":
                ticket["Title"] = value
        self._set_fields(ticket, fields)
        answer: dict[str, Any] = {"TicketID": str(ticket["TicketID"]), "TicketNumber": ticket["TicketNumber"]}
        if a is not None:
            answer = {"ArticleID": self._add_article(ticket, a, "Note"), **answer}
        ticket["Changed"] = _now()
        return self._json(answer)

    def ticket_get(self, ticket_id: str, data: dict[str, Any]) -> web.Response:
        out = []
        for one in ticket_id.split(","):
            ticket = self.tickets.get(int(one)) if one.isdigit() else None
            if ticket is None:
                return self._error("TicketGet", "AccessDenied", "User does not have access to the ticket!")
            shown = copy.deepcopy(ticket)
            articles = shown.pop("Article")
            fields = shown.pop("DynamicField")
            if str(data.get("DynamicFields", "0")) == "1":
                shown["DynamicField"] = fields
            if str(data.get("AllArticles", "0")) == "1":
                if data.get("ArticleSenderType"):
                    articles = [x for x in articles if x["SenderType"] == data["ArticleSenderType"]]
                if str(data.get("ArticleOrder", "ASC")).upper() == "DESC":
                    articles.reverse()
                limit = str(data.get("ArticleLimit", ""))
                if limit.isdigit() and int(limit) > 0:
                    articles = articles[: int(limit)]
                shown["Article"] = articles
            out.append(shown)
        return self._json({"Ticket": out})

    def ticket_search(self, data: dict[str, Any], flat: bool) -> web.Response:
        tickets = [t for i, t in self.tickets.items() if i > 0]
        criteria: list[Any] = []
        if not flat:  # a GET's query cannot carry the DynamicField hash: DynamicField_<Name>= is ignored
            raw = data.get("DynamicField")
            criteria = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
            for k, v in data.items():
                if k.startswith("DynamicField_") and isinstance(v, dict):
                    criteria.append({"Name": k[13:], **v})
        for c in criteria:
            if not isinstance(c, dict) or c.get("Name") not in self.dynamic_fields:
                continue  # an unknown field is dropped from the search, not refused
            if "Equals" in c:
                wanted = c["Equals"] if isinstance(c["Equals"], list) else [c["Equals"]]
                tickets = [t for t in tickets if self.field(t, c["Name"]) in [str(w) for w in wanted]]
            if "Like" in c:
                pattern = str(c["Like"])
                tickets = [t for t in tickets if fnmatch.fnmatchcase(str(self.field(t, c["Name"]) or ""), pattern)]
        if data.get("Title"):
            pattern = str(data["Title"])
            tickets = [t for t in tickets if fnmatch.fnmatchcase(t["Title"], pattern)]
        for key, attr in (("Queues", "Queue"), ("States", "State"), ("StateType", "StateType"), ("Types", "Type")):
            if data.get(key):
                wanted = data[key] if isinstance(data[key], list) else [data[key]]
                tickets = [t for t in tickets if t[attr] in wanted]
        sort = {"Age": "Created", "TicketNumber": "TicketNumber", "TicketID": "TicketID"}.get(
            str(data.get("SortBy", "Age")), "Created"
        )
        tickets.sort(key=lambda t: (t[sort], t["TicketID"]), reverse=str(data.get("OrderBy", "Down")) != "Up")
        limit = str(data.get("Limit", "500"))
        tickets = tickets[: int(limit)] if limit.isdigit() and int(limit) > 0 else tickets
        if not tickets:
            return self._json({})
        return self._json({"TicketID": [str(t["TicketID"]) for t in tickets]})
