"""Zammad (5.x and 6.x) through its REST API v1.

Follows Zammad's API documentation (https://docs.zammad.org/en/latest/api/ , source
https://github.com/zammad/zammad-documentation/tree/main/api):

- intro.html: auth `Authorization: Token token=<token>` (HTTP token), HTTP basic (user/password) or
  `Authorization: Bearer <token>` (OAuth2); JSON bodies; `?expand=true` adds names next to the ids;
  pagination `page` / `per_page`, no total (page until an empty page); `sort_by` / `order_by`.
- ticket/index.html: `POST /api/v1/tickets` (title, group, customer, article {subject, body, type,
  internal}; 201 with the ticket), `PUT /api/v1/tickets/{id}` (state, group; 200), `GET
  /api/v1/tickets/search?query=...` ({"tickets": [ids], "tickets_count", "assets": {"Ticket": {...}}}).
  The create also takes `tags` (comma-separated; TicketsController#create) and `customer_id:
  "guess:<e-mail>"` (creates the customer when missing).
- ticket/articles.html: `POST /api/v1/ticket_articles` (ticket_id, body, content_type, type, internal;
  201), `GET /api/v1/ticket_articles/by_ticket/{id}` (every article of the ticket).
- ticket/tags.html: `GET /api/v1/tags?object=Ticket&o_id={id}` ({"tags": [...]}), `POST /api/v1/tags/add`
  ({"item", "object": "Ticket", "o_id"}; 201 `true`; adding a tag twice is harmless).
- Errors (ApplicationController::HandlesErrors): `{"error": ..., "error_human": ...}`; 401 for wrong
  credentials ("Can't find User for Token", "Invalid BasicAuth credentials"), 403 for missing rights
  ("Not authorized", "Authentication required"), 404 for an unknown record, 422 for refused input ("No
  lookup value found for 'group': ..."; a unique violation is "Object already exists!"), 500 otherwise.

How alertbridge uses it: the ticket carries the tag `<tag_prefix>key-<sha256(key)[:32]>` (tags are free
text but matched case-insensitively and kept short, so the key itself cannot be one) and the tag
`<tag_prefix>origin-<origin>`, both sent with the create (one transaction) and ensured with tags/add.
`open` searches by the key tag before creating and adopts what it finds (each hit's tags are read back,
the search is only a candidate list); a 409, or a 422 "already exists", on create is answered the same
way (retried later when the search does not show that ticket yet). Alertbridge's articles are notes
(`type: note`): internal (`internal: true`, hidden from the customer) unless the note is customer-
visible (`internal: false`). A note ends with a `[marker]` line; a retried note is looked for among the
ticket's articles first. The first article also carries the key tag, so Zammad's SQL search (no
Elasticsearch) can find it with `search: text`. Zammad indexes tickets in Elasticsearch in a background
job: a ticket created seconds ago may not be found yet by `search: tags`.

States: new -> `new`, in_progress -> `open`, resolved and closed -> `closed` (Zammad's default states;
`states:` in the settings overrides any of them). An agent's note does not reopen a closed ticket.
The settings' `key_field` and `origin_field` are not used: Zammad keeps both as tags.

`options` (all strings):

- `tag_prefix`: `ab-`.
- `search`: `tags` (default; `tags:"<key tag>"`, needs Elasticsearch) or `text` (the bare key tag, which
  the SQL search finds in the first article).
- `auth`: `token` (default: `Token token=<token>`) or `bearer` (`token` is an OAuth2 access token);
  without `token`, `user` + `password` are sent as HTTP basic auth.
- `create_customer`: `false`; `true` sends `customer_id: "guess:<requester>"` so Zammad creates the
  requester as a customer when missing (otherwise it must exist: 422 "No lookup value found").
- `article_type`: `note` (the Zammad article type of alertbridge's articles).
- `priority.<critical|high|medium|low>`: the Zammad priority name; defaults `3 high`, `3 high`,
  `2 normal`, `1 low`; an empty value sends none.
- `type.<incident|fault>`: the ticket's `type` attribute (e.g. `Incident`, `Problem`), when the
  instance has that field active; not sent by default.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import urlencode

import aiohttp

from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket, request_json

# alertbridge's stages -> Zammad's default states (new, open, pending reminder, pending close, closed)
STATES = {"new": "new", "in_progress": "open", "resolved": "closed", "closed": "closed"}
PRIORITIES = {"critical": "3 high", "high": "3 high", "medium": "2 normal", "low": "1 low"}
SEARCH_PAGE = 50
_EXISTS = ("already exists", "duplicate key", "duplicate entry")


def key_tag(prefix: str, key: str) -> str:
    """The tag that carries alertbridge's key."""
    return f"{prefix}key-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def origin_tag(prefix: str, origin: str) -> str:
    return f"{prefix}origin-{''.join(ch for ch in origin.lower() if ch.isalnum() or ch in '-_') or 'unknown'}"


def _true(value: str) -> bool:
    return value.strip().lower() in ("true", "yes", "1", "on")


class ZammadDesk:
    name = "zammad"
    reopens_on_reply = False  # only a customer's follow-up reopens a closed ticket, not an agent's note

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        token: str = "",
        options: dict[str, str] | None = None,
        timeout: float = 15.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base = url.rstrip("/")
        opts = dict(options or {})
        self.options = opts
        self.tag_prefix = opts.get("tag_prefix", "ab-").lower()
        self.search = opts.get("search", "tags")
        if self.search not in ("tags", "text"):
            raise ValueError(f"zammad: options.search must be tags or text, not {self.search!r}")
        auth = opts.get("auth", "token")
        if auth not in ("token", "bearer"):
            raise ValueError(f"zammad: options.auth must be token or bearer, not {auth!r}")
        self.create_customer = _true(opts.get("create_customer", "false"))
        self.article_type = opts.get("article_type", "note")
        self.states: dict[str, str] = dict(STATES)
        if token:
            header = f"Bearer {token}" if auth == "bearer" else f"Token token={token}"
        else:
            header = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Accept": "application/json", "Authorization": header}
        self._own = session is None
        self._session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def close(self) -> None:
        if self._own:
            await self._session.close()

    # --- HTTP -----------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, body: Any = None, exists_ok: bool = False) -> tuple[int, Any]:
        status, payload, got = await request_json(
            self._session, "Zammad", method, self.base + path, body, self._headers
        )
        retry_after = got.get("Retry-After")
        what = f"Zammad {method} {path.split('?')[0]}: HTTP {status}"
        if status == 429:
            raise DeskUnavailable(f"{what} (rate limited, Retry-After {retry_after or '?'}): {_message(payload)}")
        if status >= 500:
            raise DeskUnavailable(f"{what}: {_message(payload)}")
        if status == 401:
            # nothing is lost: retried once the credentials are fixed
            raise DeskUnavailable(
                f"{what}: authentication failed (check the Zammad API token or user/password): {_message(payload)}"
            )
        if status == 403:
            raise DeskUnavailable(
                f"{what}: permission denied (check the Zammad user's ticket.agent permission and group access, "
                f"and that API access is enabled): {_message(payload)}"
            )
        if exists_ok and (status == 409 or (status == 422 and _already_exists(payload))):
            return status, payload
        if status >= 400:
            raise DeskRejected(f"{what}: {_message(payload)}")
        return status, payload

    # --- Desk interface ---------------------------------------------------------------------------------
    async def find(self, key: str) -> RemoteTicket | None:
        tag = key_tag(self.tag_prefix, key)
        query = f'tags:"{tag}"' if self.search == "tags" else tag
        page, seen = 1, set[str]()
        while True:
            q = {
                "query": query,
                "page": str(page),
                "per_page": str(SEARCH_PAGE),
                "sort_by": "created_at",
                "order_by": "asc",
            }
            _, answer = await self._call("GET", "/api/v1/tickets/search?" + urlencode(q))
            ids = [str(i) for i in ((answer or {}).get("tickets") or [])] if isinstance(answer, dict) else []
            if not ids or seen.issuperset(ids):  # the server may cap per_page: page until an empty page
                return None
            for ticket_id in ids:
                if ticket_id not in seen and tag in await self._tags(ticket_id):
                    return self._ref(ticket_id)
            seen.update(ids)
            page += 1

    async def open(self, ticket: NewTicket) -> RemoteTicket:
        found = await self.find(ticket.key)
        if found is None:
            status, payload = await self._call("POST", "/api/v1/tickets", self._create_body(ticket), exists_ok=True)
            if status in (409, 422):  # someone created it meanwhile: adopt it
                found = await self.find(ticket.key)
                if found is None:  # Elasticsearch indexes in the background: look again later
                    raise DeskUnavailable(
                        f"Zammad POST /api/v1/tickets: HTTP {status} ({_message(payload)}) but the search finds no "
                        "ticket with the key yet"
                    )
            else:
                ticket_id = payload.get("id") if isinstance(payload, dict) else None
                if not ticket_id:
                    raise DeskRejected(f"Zammad did not create the ticket: HTTP {status}: {_message(payload)}")
                found = self._ref(str(ticket_id))
        await self._ensure_tags(
            found, [key_tag(self.tag_prefix, ticket.key), origin_tag(self.tag_prefix, ticket.origin)]
        )
        return found

    async def note(self, ref: RemoteTicket, text: str, visible: bool, marker: str, retry: bool) -> None:
        if retry and await self._has_note(ref, marker):
            return
        body = {
            "ticket_id": self._id(ref),
            "body": f"{text}\n\n[{marker}]",
            "content_type": "text/plain",
            "type": self.article_type,
            "internal": not visible,
        }
        await self._call("POST", "/api/v1/ticket_articles", body)

    async def set_state(self, ref: RemoteTicket, state: str, change: str = "") -> None:
        target = self.states.get(state)
        if not target:
            raise DeskRejected(f"no Zammad state for {state!r}")
        _, now = await self._call("PUT", f"/api/v1/tickets/{self._id(ref)}?expand=true", {"state": target})
        shown = now.get("state") if isinstance(now, dict) else None
        if shown is not None and str(shown).lower() != target.lower():
            raise DeskRejected(f"Zammad ticket {ref.id} stays {shown!r}, not {target!r}")

    async def set_queue(self, ref: RemoteTicket, queue: str, change: str = "") -> None:
        await self._call("PUT", f"/api/v1/tickets/{self._id(ref)}", {"group": queue})

    # --- helpers --------------------------------------------------------------------------------------
    def _ref(self, ticket_id: str) -> RemoteTicket:
        return RemoteTicket(ticket_id, f"{self.base}/#ticket/zoom/{ticket_id}")

    @staticmethod
    def _id(ref: RemoteTicket) -> int:
        try:
            return int(ref.id)
        except ValueError:
            raise DeskRejected(f"{ref.id!r} is not a Zammad ticket id") from None

    def _create_body(self, ticket: NewTicket) -> dict[str, Any]:
        tag = key_tag(self.tag_prefix, ticket.key)
        body: dict[str, Any] = {
            "title": ticket.subject[:250],
            "group": ticket.queue,
            "tags": ",".join([tag, origin_tag(self.tag_prefix, ticket.origin)]),
            "article": {
                "subject": ticket.subject[:250],
                "body": f"{ticket.body}\n\n[{tag}]",
                "content_type": "text/plain",
                "type": self.article_type,
                "internal": True,
            },
        }
        if self.create_customer:
            body["customer_id"] = f"guess:{ticket.requester}"
        else:
            body["customer"] = ticket.requester
        priority = self.options.get(f"priority.{ticket.priority}", PRIORITIES.get(ticket.priority, ""))
        if priority:
            body["priority"] = priority
        ticket_type = self.options.get(f"type.{ticket.kind}", "")
        if ticket_type:
            body["type"] = ticket_type
        return body

    async def _tags(self, ticket_id: str) -> set[str]:
        _, answer = await self._call("GET", "/api/v1/tags?" + urlencode({"object": "Ticket", "o_id": ticket_id}))
        tags = answer.get("tags") if isinstance(answer, dict) else None
        return {str(t).lower() for t in tags or []}

    async def _ensure_tags(self, ref: RemoteTicket, wanted: list[str]) -> None:
        have = await self._tags(ref.id)
        for tag in wanted:
            if tag not in have:
                await self._call("POST", "/api/v1/tags/add", {"item": tag, "object": "Ticket", "o_id": self._id(ref)})

    async def _has_note(self, ref: RemoteTicket, marker: str) -> bool:
        """Whether one of the ticket's articles carries `marker` (the list is complete, not paged)."""
        _, articles = await self._call("GET", f"/api/v1/ticket_articles/by_ticket/{self._id(ref)}")
        needle = f"[{marker}]"
        return any(needle in str(a.get("body") or "") for a in (articles or []) if isinstance(a, dict))


def _already_exists(payload: Any) -> bool:
    return any(word in _message(payload).lower() for word in _EXISTS)


def _message(payload: Any) -> str:
    """The text of a Zammad error: `{"error": ..., "error_human": ...}`."""
    if isinstance(payload, dict):
        return str(payload.get("error_human") or payload.get("error") or json.dumps(payload))[:300]
    return str(payload)[:300]


def from_settings(cfg: Any) -> ZammadDesk:
    """The client for a `desks:` entry with `backend: zammad` (bridge.config.RemoteDesk)."""
    desk = ZammadDesk(
        cfg.url,
        user=cfg.user,
        password=cfg.password,
        token=cfg.token,
        options=cfg.options,
        timeout=cfg.timeout,
    )
    desk.states = {**STATES, **cfg.states}
    return desk
