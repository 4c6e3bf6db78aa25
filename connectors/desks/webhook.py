"""A generic outgoing webhook, for any desk alertbridge has no backend for.

Every change of a ticket is one HTTP POST of a JSON event to `url`:

    POST <url>
    Content-Type: application/json
    X-Alertbridge-Event: ticket.opened | ticket.note | ticket.state | ticket.queue
    X-Alertbridge-Delivery: <id>            same id when the same change is retried: deduplicate by it
    X-Alertbridge-Timestamp: <unix seconds>
    X-Alertbridge-Signature: sha256=<hex>   HMAC-SHA256 of "<timestamp>.<body>" with the desk's `token`

    {"event": "ticket.opened", "delivery": "...", "sent_at": "...",
     "ticket": {"key": "acme/alertmanager/3d89...#17", "id": "<receiver's id, when it gave one>"},
     "data": {...}}

`data` by event:
- `ticket.opened`: key, kind (incident | fault), queue, subject, body, requester, origin (monitoring |
  engineer), customer, priority. Answer 2xx, optionally `{"id": "<your ticket id>"}`: later events carry
  it as `ticket.id`. The same key may arrive again after a timeout: answer with the same ticket.
- `ticket.note`: text, visible (false: internal note; true: may be shown to the customer; a silent
  fault never sends true).
- `ticket.state`: state (new | in_progress | resolved | closed, or the desk's names set in `states`).
- `ticket.queue`: queue (the queue a fault that became an incident moves to).

Check the signature (constant-time) and reject timestamps older than a few minutes. 2xx: done. 408,
425, 429 and 5xx, or no answer: retried with backoff until it succeeds (nothing is dropped). Any other
4xx: the change is marked failed with the answer's text.

options: none.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from connectors.desks.base import DeskRejected, DeskUnavailable, NewTicket, RemoteTicket

RETRYABLE = {408, 425, 429}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Alertbridge-Signature` value of a request."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookDesk:
    name = "webhook"
    reopens_on_reply = False

    def __init__(self, url: str, secret: str, timeout: float = 15.0, states: dict[str, str] | None = None) -> None:
        self.url = url
        self.secret = secret
        self.states = states or {}
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def close(self) -> None:
        await self._session.close()

    async def _send(self, event: str, delivery: str, ticket: dict[str, Any], data: dict[str, Any]) -> Any:
        payload = {
            "event": event,
            "delivery": delivery,
            "sent_at": datetime.now(UTC).isoformat(),
            "ticket": ticket,
            "data": data,
        }
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        ts = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "alertbridge",
            "X-Alertbridge-Event": event,
            "X-Alertbridge-Delivery": delivery,
            "X-Alertbridge-Timestamp": ts,
            "X-Alertbridge-Signature": signature(self.secret, ts, body),
        }
        try:
            async with self._session.post(self.url, data=body, headers=headers) as r:
                text = await r.text()
                status = r.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise DeskUnavailable(f"webhook {event}: {type(exc).__name__}: {exc}") from exc
        if status >= 500 or status in RETRYABLE:
            raise DeskUnavailable(f"webhook {event}: HTTP {status}: {text[:200]}")
        if status >= 400:
            raise DeskRejected(f"webhook {event}: HTTP {status}: {text[:200]}")
        try:
            return json.loads(text) if text.strip() else None
        except ValueError:
            return None

    async def find(self, key: str) -> RemoteTicket | None:
        return None  # a webhook cannot be asked; `ticket.opened` is idempotent by key on the receiver's side

    async def open(self, ticket: NewTicket) -> RemoteTicket:
        data = {
            "key": ticket.key,
            "kind": ticket.kind,
            "queue": ticket.queue,
            "subject": ticket.subject,
            "body": ticket.body,
            "requester": ticket.requester,
            "origin": ticket.origin,
            "customer": ticket.customer,
            "priority": ticket.priority,
        }
        answer = await self._send("ticket.opened", f"open:{ticket.key}", {"key": ticket.key, "id": None}, data)
        remote_id = str(answer["id"]) if isinstance(answer, dict) and answer.get("id") else ticket.key
        return RemoteTicket(remote_id)

    def _ticket(self, ref: RemoteTicket) -> dict[str, Any]:
        return {"id": ref.id}

    async def note(self, ref: RemoteTicket, text: str, visible: bool, marker: str, retry: bool) -> None:
        await self._send("ticket.note", marker, self._ticket(ref), {"text": text, "visible": visible})

    async def set_state(self, ref: RemoteTicket, state: str, change: str = "") -> None:
        target = self.states.get(state, state)
        delivery = "state:" + hashlib.sha256(f"{ref.id}:{target}:{change}".encode()).hexdigest()[:32]
        await self._send("ticket.state", delivery, self._ticket(ref), {"state": target})

    async def set_queue(self, ref: RemoteTicket, queue: str, change: str = "") -> None:
        delivery = "queue:" + hashlib.sha256(f"{ref.id}:{queue}:{change}".encode()).hexdigest()[:32]
        await self._send("ticket.queue", delivery, self._ticket(ref), {"queue": queue})


def from_settings(cfg: Any) -> WebhookDesk:
    """The client for a `desks:` entry with `backend: webhook` (token = the HMAC secret)."""
    return WebhookDesk(cfg.url, cfg.token, cfg.timeout, dict(cfg.states))
