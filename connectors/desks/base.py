"""The interface every remote desk implements, and the errors it raises."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp


class DeskError(Exception):
    """Base of desk errors."""


class DeskUnavailable(DeskError):
    """The desk did not answer, or answered with a temporary error: try again later. The request may or may
    not have taken effect (a timeout after sending): the next attempt checks before acting again."""


class DeskRejected(DeskError):
    """The desk refused the request for a reason a retry will not change (unknown queue, no permission,
    malformed field): the delivery fails and says why."""


@dataclass(frozen=True, slots=True)
class NewTicket:
    key: str  # alertbridge's idempotency key, stored in the desk (custom field, property, tag)
    kind: str  # incident | fault
    queue: str
    subject: str
    body: str  # the first, internal, description
    requester: str  # e-mail (or login) of the system requester or the engineer
    origin: str  # monitoring | engineer
    customer: str
    priority: str  # critical | high | medium | low


@dataclass(frozen=True, slots=True)
class RemoteTicket:
    id: str
    url: str = ""


class Desk(Protocol):
    name: str
    # True when a customer-visible reply reopens a resolved ticket in this desk: alertbridge then sets
    # the state again after such a reply
    reopens_on_reply: bool

    async def find(self, key: str) -> RemoteTicket | None:
        """The ticket carrying alertbridge's `key`, if the desk has one."""

    async def open(self, ticket: NewTicket) -> RemoteTicket:
        """Create the ticket unless one with its key exists (then adopt it); returns it either way."""

    async def note(self, ref: RemoteTicket, text: str, visible: bool, marker: str, retry: bool) -> None:
        """Add `text` as an internal note, or as a customer-visible reply when `visible`. `marker` is unique
        to this note; on a `retry` the backend first checks whether the note already landed."""

    async def set_state(self, ref: RemoteTicket, state: str, change: str = "") -> None:
        """`state` is new | in_progress | resolved | closed. `change` names this change uniquely (the same
        state can be set again later, after a relapse: that is another change)."""

    async def set_queue(self, ref: RemoteTicket, queue: str, change: str = "") -> None: ...

    async def close(self) -> None:
        """Release connections."""


async def request_json(
    session: aiohttp.ClientSession,
    desk: str,
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """One JSON request to a desk: (status, decoded body or its first 300 characters, response headers).
    No answer at all (refused, reset, timeout) raises DeskUnavailable naming the desk and the call; the
    status is for the backend to judge."""
    data = json.dumps(body) if body is not None else None
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
    call = f"{desk} {method} {url.split('?')[0]}"
    try:
        async with session.request(method, url, data=data, headers=sent) as r:
            text = await r.text()
            status, got = r.status, dict(r.headers)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeskUnavailable(f"{call}: {type(exc).__name__}: {exc}") from exc
    try:
        payload = json.loads(text) if text.strip() else None
    except ValueError:
        payload = text[:300]
    return status, payload, got
