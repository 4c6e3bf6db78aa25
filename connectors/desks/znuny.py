"""Znuny (and OTRS 6) through the GenericInterface web service GenericTicketConnectorREST.

Follows Znuny's documentation:

- the web service and its routes, https://doc.znuny.org/znuny/admin/webservices/examples/GenericTicketConnectorREST/index.html
  (`POST /Session`, `POST /Ticket`, `GET /Ticket/:TicketID`, `PATCH /Ticket/:TicketID`, `GET /Ticket` for
  TicketSearch), and the REST transport, https://doc.znuny.org/znuny/admin/webservices/transport/index.html ;
- the operations' parameters and answers, https://doc.znuny.org/znuny-dev-api/API/Kernel/GenericInterface/Operation/Ticket/index.html
  (TicketCreate, TicketUpdate, TicketGet, TicketSearch) and .../Operation/Session/index.html (SessionCreate).

What the API does, as captured from a real Znuny 6.5 (tests/fakes/znuny_fake.py copies it): every answer of an
operation is HTTP 200, also a refusal, which is `{"Error": {"ErrorCode": "<Op>.<Code>", "ErrorMessage": ...}}`
(`AuthFail`, `MissingParameter`, `InvalidParameter`, `AccessDenied` -- also for a ticket that does not exist);
the transport answers HTTP 500 text/plain for an unknown route or undecodable JSON. Credentials travel in the
request: `UserLogin` + `Password`, or a `SessionID`, in the JSON body (in the query string of a GET).
TicketSearch's dynamic field filter is a hash (`"DynamicField": {"Name": ..., "Equals": ...}`), which only a
JSON body can carry, and the REST transport ignores the body of a GET: the web service therefore needs a
TicketSearch operation on a POST route (default `/TicketSearch`, Type `Ticket::TicketSearch`). The stock
`GET /Ticket` silently ignores `DynamicField_<Name>=` and returns every ticket, so `find` also reads each hit
back and keeps only the ones that really carry the key. An empty search answer is `{}`.

How alertbridge uses it: the ticket carries alertbridge's key in the ticket dynamic field `key_field` and the
origin (monitoring | engineer) in `origin_field` (Text fields, created by the admin); `open` searches by the
key first and adopts what it finds. Znuny has no uniqueness on a dynamic field and no conflict answer, so
after a create `open` looks again: if an older ticket carries the key (a concurrent writer won the race) it
is adopted and the new twin is closed (`duplicate_state`) with its key cleared. The customer user is
`options.customer_user` (default: the desk's system requester). Internal notes are articles with
`CommunicationChannel` Internal and `IsVisibleForCustomer` 0 (silent faults only ever get these);
customer-visible ones use `visible_channel` (Email) and `IsVisibleForCustomer` 1 -- the API only stores the
article, it sends no mail. Each note ends with a marker line; a retried note first reads the ticket's latest
articles (`ArticleOrder` DESC, `ArticleLimit`) for it. States are set with TicketUpdate `Ticket.State`.

Errors: connection errors, timeouts, HTTP 5xx and 429 -> DeskUnavailable; `*.AuthFail` (after one fresh
session) and HTTP 401/403 from a proxy -> DeskUnavailable saying the credentials were refused (nothing is lost,
it is retried once they are fixed); `MissingParameter`, `InvalidParameter` (unknown queue, state, type, dynamic
field, customer user) and `AccessDenied` (no such ticket, or no rights on its queue) -> DeskRejected; other
error codes (an operation that failed inside Znuny) -> DeskUnavailable.

`options` (all strings, all optional):

- `webservice`: `GenericTicketConnectorREST` (used when `url` is the Znuny base such as
  https://desk.example/otrs or /znuny; a `url` containing `/nph-genericinterface.pl/` is taken as is).
- `search_path`: `/TicketSearch` (the POST route of the TicketSearch operation).
- `auth`: `session` (default: SessionCreate once, then `SessionID`; a refused session is made again once) or
  `login` (`UserLogin` + `Password` on every call -- also in the query string of TicketGet, so in access
  logs). With `token` and no user/password, `token` is used as a SessionID (it expires with SessionMaxTime).
- `customer_user`: the `CustomerUser` of new tickets; default the desk's `requester`.
- `type.<queue>`: the ticket Type set on create and on a move into that queue (e.g. `type.Incidents: Incident`);
  none by default (Znuny then uses its default type).
- `priority.<critical|high|medium|low>`: `5 very high`, `4 high`, `3 normal`, `2 low`.
- `visible_channel`: `Email` (CommunicationChannel of customer-visible articles; `Phone` also works).
- `visible_to`: the `To` of customer-visible articles; default `customer_user` when it is an e-mail address.
- `sender_type`: `agent` (SenderType of notes; the first article is `system`).
- `article_lookback`: `100` (how many of the latest articles a retried note looks through).
- `duplicate_state`: `closed unsuccessful` (the state of a twin closed after a create race).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp

from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket

# alertbridge's stages -> Znuny's default states (new, open, closed successful, closed unsuccessful, pending ...)
STATES = {"new": "new", "in_progress": "open", "resolved": "closed successful", "closed": "closed successful"}
PRIORITIES = {"critical": "5 very high", "high": "4 high", "medium": "3 normal", "low": "2 low"}
CONTENT_TYPE = "text/plain; charset=utf8"
_REJECTED = ("MissingParameter", "InvalidParameter", "AccessDenied")


class ZnunyDesk:
    name = "znuny"
    reopens_on_reply = False  # an agent's article never changes the state; only a customer's follow-up does

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        token: str = "",
        key_field: str = "AlertbridgeKey",
        origin_field: str = "Origin",
        requester: str = "",
        options: dict[str, str] | None = None,
        timeout: float = 15.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        opts = dict(options or {})
        self.options = opts
        base = url.rstrip("/")
        if "/nph-genericinterface.pl/" in base + "/":
            self.api = base
        else:
            self.api = (
                f"{base}/nph-genericinterface.pl/Webservice/{opts.get('webservice', 'GenericTicketConnectorREST')}"
            )
        self.ui = self.api.split("/nph-genericinterface.pl", 1)[0]
        self.search_path = "/" + opts.get("search_path", "/TicketSearch").lstrip("/")
        self.auth = opts.get("auth", "session")
        if self.auth not in ("session", "login"):
            raise ValueError(f"znuny: options.auth must be session or login, not {self.auth!r}")
        if not (user and password) and not token:
            raise ValueError("znuny: set user and password (or token: a SessionID)")
        self.user, self.password, self.token = user, password, token
        self.key_field = key_field
        self.origin_field = origin_field
        self.customer_user = opts.get("customer_user", "") or requester
        self.priorities = {**PRIORITIES, **{k[9:]: v for k, v in opts.items() if k.startswith("priority.")}}
        self.types = {k[5:]: v for k, v in opts.items() if k.startswith("type.")}
        self.visible_channel = opts.get("visible_channel", "Email")
        self.visible_to = opts.get("visible_to", self.customer_user if "@" in self.customer_user else "")
        self.sender_type = opts.get("sender_type", "agent")
        self.lookback = int(opts.get("article_lookback", "100"))
        self.duplicate_state = opts.get("duplicate_state", "closed unsuccessful")
        self.states: dict[str, str] = dict(STATES)
        self._session_id: str | None = token if token and not (user and password) else None
        self._own = session is None
        self._http = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def close(self) -> None:
        if self._own:
            await self._http.close()

    # --- HTTP -----------------------------------------------------------------------------------------
    async def _send(self, op: str, method: str, path: str, data: dict[str, Any]) -> Any:
        """One request; the operation's answer (a dict), or DeskUnavailable/DeskRejected for transport errors."""
        url = self.api + path
        body = None
        if method == "GET":
            url += "?" + urlencode(data)
        else:
            body = json.dumps(data)
        headers = {"Accept": "application/json", **({"Content-Type": "application/json"} if body else {})}
        try:
            async with self._http.request(method, url, data=body, headers=headers) as r:
                text = await r.text()
                status = r.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeskUnavailable(f"Znuny {op} ({method} {path}): {type(exc).__name__}: {exc}") from exc
        try:
            payload = json.loads(text) if text.strip() else {}
        except ValueError:
            payload = None
        where = f"Znuny {op} ({method} {path})"
        if status >= 500 or status == 429:
            hint = ""
            if "determine Operation" in text:
                hint = f" (the web service has no route for {method} {path}: see connectors/desks/znuny.py)"
            raise DeskUnavailable(f"{where}: HTTP {status}: {text.strip()[:200]}{hint}")
        if status in (401, 403):
            raise DeskUnavailable(f"{where}: HTTP {status}: authentication failed (check the desk's credentials)")
        if status >= 400:
            raise DeskRejected(f"{where}: HTTP {status}: {text.strip()[:200]}")
        if not isinstance(payload, dict):
            raise DeskUnavailable(f"{where}: HTTP {status}, not a JSON object: {text.strip()[:200]}")
        return payload

    async def _credentials(self) -> dict[str, str]:
        if self._session_id:
            return {"SessionID": self._session_id}
        if self.auth == "login":
            return {"UserLogin": self.user, "Password": self.password}
        answer = await self._send(
            "SessionCreate", "POST", "/Session", {"UserLogin": self.user, "Password": self.password}
        )
        error = answer.get("Error")
        if isinstance(error, dict) or not answer.get("SessionID"):
            raise DeskUnavailable(
                f"Znuny SessionCreate: authentication failed for agent {self.user!r}: {_error_text(answer)} "
                "(check the desk's user and password; nothing is lost, it is retried)"
            )
        self._session_id = str(answer["SessionID"])
        return {"SessionID": self._session_id}

    async def _call(self, op: str, method: str, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call an operation; an `Error` answer becomes DeskUnavailable or DeskRejected."""
        for attempt in (1, 2):
            creds = await self._credentials()
            answer: dict[str, Any] = await self._send(op, method, path, {**creds, **(data or {})})
            error = answer.get("Error")
            if not isinstance(error, dict):
                return answer
            code = str(error.get("ErrorCode") or "")
            where = f"Znuny {op} ({method} {path}): {_error_text(answer)}"
            if code.endswith(".AuthFail"):
                renewable = "SessionID" in creds and self.auth == "session" and self.user and self.password
                if renewable and attempt == 1:
                    self._session_id = None  # expired or killed: make a new one, once
                    continue
                raise DeskUnavailable(
                    f"{where}: authentication failed (check the desk's user and password; nothing is lost, "
                    "it is retried)"
                )
            if code.rsplit(".", 1)[-1] in _REJECTED:
                raise DeskRejected(where)
            raise DeskUnavailable(where)
        raise AssertionError("unreachable")

    # --- Desk interface ---------------------------------------------------------------------------------
    async def find(self, key: str) -> RemoteTicket | None:
        for ticket_id in await self._search(key):
            ticket = await self._get(ticket_id, DynamicFields=1)
            if _field(ticket, self.key_field) == key:  # a route that ignored the filter returns other tickets too
                return self._ref(ticket_id)
        return None

    async def open(self, ticket: NewTicket) -> RemoteTicket:
        found = await self.find(ticket.key)
        if found is not None:
            return found
        fields = [{"Name": self.key_field, "Value": ticket.key}]
        if self.origin_field:
            fields.append({"Name": self.origin_field, "Value": ticket.origin})
        new: dict[str, Any] = {
            "Title": ticket.subject[:255],
            "Queue": ticket.queue,
            "State": self.states.get("new", "new"),
            "Priority": self.priorities.get(ticket.priority, PRIORITIES["medium"]),
            "CustomerUser": self.customer_user or ticket.requester,
        }
        if ticket.queue in self.types:
            new["Type"] = self.types[ticket.queue]
        article = {
            "CommunicationChannel": "Internal",
            "IsVisibleForCustomer": 0,
            "SenderType": "system",
            "From": ticket.requester,
            "Subject": ticket.subject[:255],
            "Body": ticket.body,
            "ContentType": CONTENT_TYPE,
        }
        answer = await self._call(
            "TicketCreate", "POST", "/Ticket", {"Ticket": new, "Article": article, "DynamicField": fields}
        )
        if not answer.get("TicketID"):
            raise DeskRejected(f"Znuny TicketCreate did not return a TicketID: {answer}")
        ours = self._ref(str(answer["TicketID"]))
        winner = await self.find(ticket.key)
        if winner is None or winner.id == ours.id:
            return ours
        # another writer created the same ticket a moment earlier: keep the oldest, retire ours
        await self._call(
            "TicketUpdate",
            "PATCH",
            f"/Ticket/{ours.id}",
            {
                "Ticket": {"State": self.duplicate_state},
                "Article": self._article(f"Duplicate of ticket {winner.id}, created at the same time; closed.", False),
                "DynamicField": [{"Name": self.key_field, "Value": ""}],
            },
        )
        return winner

    async def note(self, ref: RemoteTicket, text: str, visible: bool, marker: str, retry: bool) -> None:
        if retry and await self._has_note(ref, marker):
            return
        await self._call(
            "TicketUpdate", "PATCH", f"/Ticket/{ref.id}", {"Article": self._article(f"{text}\n\n[{marker}]", visible)}
        )

    async def set_state(self, ref: RemoteTicket, state: str, change: str = "") -> None:
        target = self.states.get(state)
        if target is None:
            raise DeskRejected(f"no Znuny state for {state!r}")
        await self._call("TicketUpdate", "PATCH", f"/Ticket/{ref.id}", {"Ticket": {"State": target}})

    async def set_queue(self, ref: RemoteTicket, queue: str, change: str = "") -> None:
        fields = {"Queue": queue, **({"Type": self.types[queue]} if queue in self.types else {})}
        await self._call("TicketUpdate", "PATCH", f"/Ticket/{ref.id}", {"Ticket": fields})

    # --- helpers --------------------------------------------------------------------------------------
    def _ref(self, ticket_id: str) -> RemoteTicket:
        return RemoteTicket(ticket_id, f"{self.ui}/index.pl?Action=AgentTicketZoom;TicketID={ticket_id}")

    def _article(self, body: str, visible: bool) -> dict[str, Any]:
        subject = next((line.strip() for line in body.splitlines() if line.strip()), "alertbridge")[:100]
        article: dict[str, Any] = {
            "CommunicationChannel": self.visible_channel if visible else "Internal",
            "IsVisibleForCustomer": 1 if visible else 0,
            "SenderType": self.sender_type,
            "Subject": subject,
            "Body": body,
            "ContentType": CONTENT_TYPE,
        }
        if visible and self.visible_to:
            article["To"] = self.visible_to
        return article

    async def _search(self, key: str) -> list[str]:
        """TicketIDs whose key field equals `key`, oldest first."""
        query = {"DynamicField": {"Name": self.key_field, "Equals": key}, "SortBy": "Age", "OrderBy": "Up", "Limit": 20}
        answer = await self._call("TicketSearch", "POST", self.search_path, query)
        ids = answer.get("TicketID") or []
        if not isinstance(ids, list):
            ids = [ids]
        return sorted({str(i) for i in ids}, key=lambda i: int(i) if i.isdigit() else 0)

    async def _get(self, ticket_id: str, **params: Any) -> dict[str, Any]:
        answer = await self._call("TicketGet", "GET", f"/Ticket/{ticket_id}", params)
        tickets = answer.get("Ticket") or []
        if not tickets or not isinstance(tickets[0], dict):
            raise DeskRejected(f"Znuny TicketGet: no ticket {ticket_id} in the answer")
        return dict(tickets[0])

    async def _has_note(self, ref: RemoteTicket, marker: str) -> bool:
        """Whether one of the ticket's latest articles carries `marker`."""
        ticket = await self._get(ref.id, AllArticles=1, ArticleOrder="DESC", ArticleLimit=self.lookback)
        return any(marker in str(a.get("Body") or "") for a in ticket.get("Article") or [])


def _field(ticket: dict[str, Any], name: str) -> Any:
    for f in ticket.get("DynamicField") or []:
        if isinstance(f, dict) and f.get("Name") == name:
            return f.get("Value")
    return None


def _error_text(answer: Any) -> str:
    error = answer.get("Error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return f"{error.get('ErrorCode')}: {error.get('ErrorMessage')}"
    return str(answer)[:200]


def from_settings(cfg: Any) -> ZnunyDesk:
    """The client for a `desks:` entry with `backend: znuny` (bridge.config.RemoteDesk)."""
    desk = ZnunyDesk(
        cfg.url,
        user=cfg.user,
        password=cfg.password,
        token=cfg.token,
        key_field=cfg.key_field,
        origin_field=cfg.origin_field,
        requester=cfg.requester,
        options=cfg.options,
        timeout=cfg.timeout,
    )
    desk.states = {**STATES, **cfg.states}
    return desk
