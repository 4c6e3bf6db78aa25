"""Request Tracker (RT 4.4 and 5) through its REST2 API.

The ticket carries alertbridge's key in a ticket custom field (`AlertbridgeKey`) and its origin in
another (`Origin`); `open` searches by the key with TicketSQL before creating, so a retry after a
timeout or a crash adopts the ticket instead of making a second one. Internal notes are RT comments;
customer-visible replies are RT correspondence (RT mails them to the requestors). A note carries a
marker line; when a note is retried, the ticket's recent comments and replies are checked for the
marker first.

Behaviour follows RT's REST2 documentation (docs/REST2 in RT, `RT::REST2`): JSON bodies, HTTP basic
auth or `Authorization: token ...`, 201 on create, 200 with a list of messages on update, 400 with
`{"message": ...}` for refused input, paged lists (`page`, `per_page` at most 100).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import aiohttp

from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket, request_json

# alertbridge's stages -> RT's default lifecycle (new, open, stalled, resolved, rejected, deleted)
STATES = {"new": "new", "in_progress": "open", "resolved": "resolved", "closed": "resolved"}
_REFUSED = (
    "isn't a valid",
    "does not exist",
    "permission denied",
    "no permission",
    "not allowed",
    "invalid",
    "could not",
    "couldn't",
)


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class RTDesk:
    name = "rt"
    reopens_on_reply = True  # RT's scrip "On Correspond Open Inactive Tickets"

    def __init__(
        self,
        url: str,
        *,
        user: str = "",
        password: str = "",
        token: str = "",
        key_field: str = "AlertbridgeKey",
        origin_field: str = "Origin",
        timeout: float = 15.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base = url.rstrip("/")
        self.api = self.base + "/REST/2.0"
        self.key_field = key_field
        self.origin_field = origin_field
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {
            "Accept": "application/json",
            "Authorization": f"token {token}" if token else f"Basic {basic}",
        }
        self._own = session is None
        self._session = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def close(self) -> None:
        if self._own:
            await self._session.close()

    # --- HTTP -----------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        url = path if path.startswith("http") else self.api + path
        status, payload, _ = await request_json(self._session, "RT", method, url, body, self._headers)
        if status >= 500 or status == 429:
            raise DeskUnavailable(f"RT {method} {path}: HTTP {status}: {_message(payload)}")
        if status in (401, 403):
            # credentials or rights: nothing is lost, it is retried once they are fixed
            raise DeskUnavailable(f"RT {method} {path}: HTTP {status} (check the RT user and its rights)")
        if status >= 400:
            raise DeskRejected(f"RT {method} {path}: HTTP {status}: {_message(payload)}")
        return status, payload

    # --- Desk interface ---------------------------------------------------------------------------------
    async def find(self, key: str) -> RemoteTicket | None:
        query = f"'CF.{{{self.key_field}}}' = {_sql_string(key)}"
        _, payload = await self._call("GET", f"/tickets?query={quote(query)}&orderby=id&order=ASC&per_page=5")
        items = (payload or {}).get("items") or []
        if not items:
            return None
        return self._ref(str(items[0]["id"]))

    async def open(self, ticket: NewTicket) -> RemoteTicket:
        found = await self.find(ticket.key)
        if found is not None:
            return found
        body = {
            "Queue": ticket.queue,
            "Subject": ticket.subject[:200],
            "Requestor": ticket.requester,
            "Content": ticket.body,
            "ContentType": "text/plain",
            "CustomFields": {self.key_field: ticket.key, self.origin_field: ticket.origin},
        }
        status, payload = await self._call("POST", "/ticket", body)
        if status != 201 or not isinstance(payload, dict) or "id" not in payload:
            raise DeskRejected(f"RT did not create the ticket: HTTP {status}: {_message(payload)}")
        return self._ref(str(payload["id"]))

    async def note(self, ref: RemoteTicket, text: str, visible: bool, marker: str, retry: bool) -> None:
        if retry and await self._has_note(ref, marker):
            return
        what = "correspond" if visible else "comment"
        content = f"{text}\n\n[{marker}]"
        await self._call("POST", f"/ticket/{ref.id}/{what}", {"Content": content, "ContentType": "text/plain"})

    states: dict[str, str] = STATES

    async def set_state(self, ref: RemoteTicket, state: str, change: str = "") -> None:
        target = self.states.get(state)
        if target is None:
            raise DeskRejected(f"no RT status for {state!r}")
        _, messages = await self._call("PUT", f"/ticket/{ref.id}", {"Status": target})
        _check(messages)
        _, now = await self._call("GET", f"/ticket/{ref.id}")
        if isinstance(now, dict) and now.get("Status") not in (target, None):
            raise DeskRejected(f"RT ticket {ref.id} stays {now.get('Status')!r}, not {target!r}: {messages}")

    async def set_queue(self, ref: RemoteTicket, queue: str, change: str = "") -> None:
        _, messages = await self._call("PUT", f"/ticket/{ref.id}", {"Queue": queue})
        _check(messages)

    # --- helpers --------------------------------------------------------------------------------------
    def _ref(self, ticket_id: str) -> RemoteTicket:
        return RemoteTicket(ticket_id, f"{self.base}/Ticket/Display.html?id={ticket_id}")

    async def _has_note(self, ref: RemoteTicket, marker: str) -> bool:
        """Whether one of the ticket's last comments or replies carries `marker`."""
        _, first = await self._call("GET", f"/ticket/{ref.id}/history?per_page=20")
        pages = int((first or {}).get("pages") or 1)
        page = first
        if pages > 1:
            _, page = await self._call("GET", f"/ticket/{ref.id}/history?per_page=20&page={pages}")
        for item in reversed((page or {}).get("items") or []):
            _, tx = await self._call("GET", f"/transaction/{item['id']}")
            if not isinstance(tx, dict) or tx.get("Type") not in ("Comment", "Correspond", "Create"):
                continue
            for link in tx.get("_hyperlinks") or []:
                if link.get("ref") != "attachment":
                    continue
                att_id = str(link.get("_url", "")).rstrip("/").rsplit("/", 1)[-1]
                _, att = await self._call("GET", f"/attachment/{att_id}")
                raw = (att or {}).get("Content") if isinstance(att, dict) else None
                if raw and marker in base64.b64decode(raw).decode("utf-8", "replace"):
                    return True
        return False


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        return str(payload.get("message") or payload)[:300]
    return str(payload)[:300]


def _check(messages: Any) -> None:
    """RT answers an update with 200 and a list of messages, also when it refused a field."""
    if not isinstance(messages, list):
        return
    for m in messages:
        text = str(m).lower()
        if "changed" not in text and any(r in text for r in _REFUSED):
            raise DeskRejected(f"RT refused the update: {m}")


def from_settings(cfg: Any) -> RTDesk:
    """The client for a `desks:` entry with `backend: rt` (bridge.config.RemoteDesk)."""
    desk = RTDesk(
        cfg.url,
        user=cfg.user,
        password=cfg.password,
        token=cfg.token,
        key_field=cfg.key_field,
        origin_field=cfg.origin_field,
        timeout=cfg.timeout,
    )
    desk.states = {**STATES, **cfg.states}
    return desk
