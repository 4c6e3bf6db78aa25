"""Delivers the built-in desk's changes to a customer's remote desk (outbox rows of kind `desk`).

Each row is one change of one ticket: `open`, `note`, `state` or `queue`, in the order they were made
(the dispatcher keeps the order per incident). `open` searches the desk by alertbridge's key before it
creates, so a retry after a timeout or a crash between the desk's answer and our commit adopts the
ticket instead of making a second one; the remote id is kept on the local ticket.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bridge.config import RemoteDesk, Settings
from bridge.db import Database
from bridge.schema import outbox, tickets
from connectors.desks import Desk, DeskRejected, DeskUnavailable, NewTicket, RemoteTicket


def make_desk(cfg: RemoteDesk) -> Desk:
    """The client of one configured desk. Each backend module has `from_settings(cfg)`."""
    import importlib

    module = importlib.import_module(f"connectors.desks.{cfg.backend}")
    desk: Desk = module.from_settings(cfg)
    return desk


class RemoteDesks:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._clients: dict[str, Desk] = {}

    def client(self, name: str) -> Desk:
        if name not in self._clients:
            cfg = self.settings.desks.get(name)
            if cfg is None:
                raise DeskRejected(f"desk {name!r} is no longer configured")
            self._clients[name] = make_desk(cfg)
        return self._clients[name]

    async def close(self) -> None:
        for c in self._clients.values():
            await c.close()
        self._clients.clear()

    async def deliver(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """Carry out one change. Returns what to record locally (the remote ticket after `open`).
        Raises DeskUnavailable to retry later, DeskRejected when a retry cannot help."""
        p = row["payload"]
        desk = self.client(p["desk"])
        async with self.db.read() as conn:
            t = (await conn.execute(select(tickets).where(tickets.c.id == p["ticket_id"]))).mappings().first()
        if t is None:
            raise DeskRejected(f"ticket {p['ticket_id']} no longer exists")
        if p["op"] == "open":
            if t["external_id"]:
                return None
            ref = await desk.open(self._new_ticket(p, t))
            return {"external_id": ref.id, "external_url": ref.url}
        ref = await self._ref(desk, t)
        if p["op"] == "note":
            # a retry, or a row whose earlier lease ran out (the process died mid-delivery): look before posting
            again = row["attempts"] > 0 or row.get("locked_until") is not None
            await desk.note(ref, p["text"], bool(p.get("visible")), f"alertbridge:{row['key']}", again)
            if p.get("visible") and t["state"] in ("resolved", "closed") and getattr(desk, "reopens_on_reply", False):
                # a reply reopens an inactive ticket in most desks (RT's "On Correspond Open Inactive
                # Tickets"): the ticket keeps the state it has here
                await desk.set_state(ref, t["state"], f"{row['key']}:state")
        elif p["op"] == "state":
            await desk.set_state(ref, p["state"], row["key"])
        elif p["op"] == "queue":
            await desk.set_queue(ref, self._queue(p["desk"], p["kind"]), row["key"])
        else:
            raise DeskRejected(f"unknown desk change {p['op']!r}")
        return {"external_id": ref.id, "external_url": ref.url} if not t["external_id"] else None

    async def _ref(self, desk: Desk, t: Any) -> RemoteTicket:
        if t["external_id"]:
            return RemoteTicket(t["external_id"], t["external_url"] or "")
        found = await desk.find(t["external_key"])
        if found is not None:
            return found
        async with self.db.read() as conn:
            opened = (await conn.execute(select(outbox.c.state).where(outbox.c.key == f"desk:{t['id']}:open"))).scalar()
        if opened == "failed":
            raise DeskRejected("the ticket was never created in the desk (its creation failed)")
        raise DeskUnavailable("the ticket is not in the desk yet")

    def _queue(self, desk: str, kind: str) -> str:
        cfg = self.settings.desks[desk]
        return cfg.incident_queue if kind == "incident" else cfg.fault_queue

    def _new_ticket(self, p: dict[str, Any], t: Any) -> NewTicket:
        cfg = self.settings.desks[p["desk"]]
        requester = cfg.requester
        if p.get("origin") == "engineer" and cfg.engineer_domain and p.get("requester"):
            login = "".join(ch for ch in str(p["requester"]).lower().replace(" ", ".") if ch.isalnum() or ch in "._-")
            if login:
                requester = f"{login}@{cfg.engineer_domain}"
        body = "\n".join(
            line
            for line in (
                f"Opened by alertbridge on behalf of {p.get('requester')} ({p.get('origin')}).",
                f"Customer: {p.get('customer')}",
                f"Service: {p.get('service')}" if p.get("service") else "",
                f"Host: {p.get('host')}" if p.get("host") else "",
                f"Kind: {'service-affecting incident' if p.get('kind') == 'incident' else 'silent fault'}",
                f"Priority: {p.get('priority')}",
                f"alertbridge ticket: {p.get('number')}",
            )
            if line
        )
        return NewTicket(
            key=t["external_key"],
            kind=p["kind"],
            queue=self._queue(p["desk"], p["kind"]),
            subject=p["subject"],
            body=body,
            requester=requester,
            origin=p.get("origin") or "monitoring",
            customer=p.get("customer") or "",
            priority=p.get("priority") or "",
        )
