"""The built-in service desk: numbered tickets in queues, with internal or customer-visible articles.

It lives in alertbridge's own database, so its writes join the pipeline's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.config import DeskSettings
from bridge.schema import articles, incidents, tickets


class BuiltinDesk:
    """Ticket states: `new` (nobody has taken it) -> `in_progress` (an engineer took it) -> `resolved` -> `closed`;
    a relapse brings a resolved ticket back to `in_progress` if it had been taken, else to `new`."""

    name = "builtin"

    def __init__(self, settings: DeskSettings) -> None:
        self.settings = settings

    def queue_for(self, kind: str) -> str:
        return self.settings.incident_queue if kind == "incident" else self.settings.fault_queue

    async def open_ticket(self, conn: AsyncConnection, incident: dict[str, Any], now: datetime) -> str:
        """Open the incident's ticket; returns its number (also stored on the incident)."""
        res = await conn.execute(
            insert(tickets)
            .values(
                incident_id=incident["id"],
                customer=incident["customer"],
                service=incident["service"],
                queue=self.queue_for(incident["kind"]),
                state="new",
                title=incident["title"],
                requester=incident["requester"],
                origin=incident["origin"],
                priority=incident["priority"],
                created_at=now,
                updated_at=now,
            )
            .returning(tickets.c.id)
        )
        ticket_id = res.scalar_one()
        number = f"{self.settings.number_prefix}{ticket_id:06d}"
        await conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(number=number))
        await conn.execute(update(incidents).where(incidents.c.id == incident["id"]).values(ticket=number))
        return number

    async def _ticket_id(self, conn: AsyncConnection, incident_id: int) -> int | None:
        return (await conn.execute(select(tickets.c.id).where(tickets.c.incident_id == incident_id))).scalar()

    async def add_article(
        self,
        conn: AsyncConnection,
        incident_id: int,
        author: str,
        body: str,
        now: datetime,
        visible_to_customer: bool = False,
    ) -> None:
        ticket_id = await self._ticket_id(conn, incident_id)
        if ticket_id is None:
            return
        await conn.execute(
            insert(articles).values(
                ticket_id=ticket_id, author=author, body=body, visible_to_customer=visible_to_customer, created_at=now
            )
        )
        await conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=now))

    async def set_queue(self, conn: AsyncConnection, incident_id: int, queue: str, now: datetime) -> None:
        await conn.execute(
            update(tickets).where(tickets.c.incident_id == incident_id).values(queue=queue, updated_at=now)
        )

    async def take(self, conn: AsyncConnection, incident_id: int, now: datetime) -> None:
        """An engineer took the ticket: a new ticket is now in progress (other states stay as they are)."""
        await conn.execute(
            update(tickets)
            .where(tickets.c.incident_id == incident_id, tickets.c.state == "new")
            .values(state="in_progress", updated_at=now)
        )

    async def set_state(self, conn: AsyncConnection, incident_id: int, state: str, now: datetime) -> None:
        await conn.execute(
            update(tickets).where(tickets.c.incident_id == incident_id).values(state=state, updated_at=now)
        )
