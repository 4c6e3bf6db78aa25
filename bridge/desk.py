"""The built-in service desk: numbered tickets in queues, with internal or customer-visible articles.

It lives in alertbridge's own database, so its writes join the pipeline's transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.config import DeskSettings, Settings
from bridge.schema import articles, incidents, outbox, tickets
from bridge.statements import update_by_id
from connectors.alert import bounded

# built once, run with parameters (bridge.statements)
_TICKET_COLUMNS = (tickets.c.id, tickets.c.incident_id, tickets.c.desk, tickets.c.queue, tickets.c.state)
_TICKET = select(*_TICKET_COLUMNS).where(tickets.c.incident_id == bindparam("b_incident"))
_TOUCH_TICKET = (
    update(tickets)
    .where(tickets.c.incident_id == bindparam("b_incident"))
    .values(updated_at=bindparam("b_now"))
    .returning(*_TICKET_COLUMNS)
)
# a state change and the read of what the mirror and the article need, in one statement (no row: no ticket, or
# it is in that state already)
_SET_STATE = (
    update(tickets)
    .where(tickets.c.incident_id == bindparam("b_incident"), tickets.c.state != bindparam("b_state"))
    .values(state=bindparam("b_state"), updated_at=bindparam("b_now"))
    .returning(*_TICKET_COLUMNS)
)
_ARTICLE = insert(articles).returning(articles.c.id)
_NEW_TICKET = insert(tickets).returning(tickets.c.id)


def _article_of(ticket_id: Any) -> Any:
    """PostgreSQL: the SELECT an article is inserted from, for the ticket whose id is `ticket_id` (a column of a
    CTE); parameters b_author, b_body, b_visible, b_now."""
    return select(
        ticket_id,
        bindparam("b_author", type_=articles.c.author.type),
        bindparam("b_body", type_=articles.c.body.type),
        bindparam("b_visible", type_=articles.c.visible_to_customer.type),
        bindparam("b_now", type_=articles.c.created_at.type),
    )


_ARTICLE_COLUMNS = ["ticket_id", "author", "body", "visible_to_customer", "created_at"]


def _new_ticket_with_article() -> Any:
    """PostgreSQL: a ticket (its number made from its id, as `open_ticket` makes it) and its first article in
    one statement, for a ticket no remote desk mirrors. Returns the ticket's id."""
    n = select(func.nextval(func.pg_get_serial_sequence("tickets", "id")).label("id")).subquery("n")
    digits = cast(n.c.id, Text)
    number = bindparam("b_prefix", type_=Text) + func.repeat("0", func.greatest(0, 6 - func.length(digits))) + digits
    cols = ("incident_id", "customer", "service", "queue", "state", "title", "requester", "origin", "priority")
    ticket = (
        insert(tickets)
        .from_select(
            ["id", "number", *cols, "created_at", "updated_at"],
            select(
                n.c.id,
                number,
                *(bindparam(c, type_=tickets.c[c].type) for c in cols),
                bindparam("b_now", type_=tickets.c.created_at.type),
                bindparam("b_now", type_=tickets.c.updated_at.type),
            ),
        )
        .returning(tickets.c.id)
        .cte("new_ticket")
    )
    return insert(articles).from_select(_ARTICLE_COLUMNS, _article_of(ticket.c.id)).returning(articles.c.ticket_id)


_NEW_TICKET_WITH_ARTICLE = _new_ticket_with_article()


def _with_article(change: Any) -> Any:
    """PostgreSQL: `change` (an UPDATE of a ticket returning its columns) and, for a ticket no remote desk
    mirrors, the article in the same statement. Returns the ticket's columns (no row: nothing changed, no
    article written). A mirrored ticket gets its article from `_article`, which queues the mirror's note."""
    t = change.cte("t")
    article = (
        insert(articles).from_select(_ARTICLE_COLUMNS, _article_of(t.c.id).where(t.c.desk.is_(None))).cte("article")
    )
    return select(t).add_cte(article)


_SET_STATE_WITH_ARTICLE = _with_article(_SET_STATE)
_TOUCH_TICKET_WITH_ARTICLE = _with_article(_TOUCH_TICKET)


class BuiltinDesk:
    """Ticket states: `new` (nobody has taken it) -> `in_progress` (an engineer took it) -> `resolved` -> `closed`;
    a relapse brings a resolved ticket back to `in_progress` if it had been taken, else to `new`."""

    name = "builtin"

    def __init__(self, settings: DeskSettings, remote: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.remote = remote or {}  # customer id -> the remote desk its tickets are mirrored to

    async def _mirror(
        self, conn: AsyncConnection, ticket: Any, op: str, now: datetime, key: str | None = None, **payload: Any
    ) -> None:
        """Queue the same change for the customer's remote desk (delivered in order, after commit)."""
        if not ticket["desk"]:
            return
        await conn.execute(
            insert(outbox).values(
                key=key or f"desk:{ticket['id']}:{op}:{uuid.uuid4().hex}",
                kind="desk",
                incident_id=ticket["incident_id"],
                payload={"op": op, "desk": ticket["desk"], "ticket_id": ticket["id"], **payload},
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )

    async def _ticket(self, conn: AsyncConnection, incident_id: int) -> Any:
        return (await conn.execute(_TICKET, {"b_incident": incident_id})).mappings().first()

    def queue_for(self, kind: str) -> str:
        return self.settings.incident_queue if kind == "incident" else self.settings.fault_queue

    async def open_ticket(
        self,
        conn: AsyncConnection,
        incident: dict[str, Any],
        now: datetime,
        article: tuple[str, str] | None = None,
        store_on_incident: bool = True,
    ) -> str:
        """Open the incident's ticket, with its first article (author, body) if given; returns its number, also
        stored on the incident unless the caller writes it there with its own update of the incident."""
        desk = self.remote.get(incident["customer"])
        queue = self.queue_for(incident["kind"])
        values = dict(
            incident_id=incident["id"],
            customer=incident["customer"],
            service=incident["service"],
            queue=queue,
            state="new",
            title=incident["title"],
            requester=incident["requester"],
            origin=incident["origin"],
            priority=incident["priority"],
        )
        if desk is None and article is not None and conn.dialect.name == "postgresql":
            # nothing to mirror: ticket, number and first article in one statement
            params = dict(values, b_prefix=self.settings.number_prefix, b_now=now, b_author=article[0])
            params.update(b_body=article[1], b_visible=False)
            ticket_id = (await conn.execute(_NEW_TICKET_WITH_ARTICLE, params)).scalar_one()
            number = f"{self.settings.number_prefix}{ticket_id:06d}"
            if store_on_incident:
                await update_by_id(conn, incidents, incident["id"], ticket=number)
            return number
        external_key = bounded(f"{incident['key']}#{incident['id']}", 250) if desk else None
        res = await conn.execute(
            _NEW_TICKET, dict(values, desk=desk, external_key=external_key, created_at=now, updated_at=now)
        )
        ticket_id = res.scalar_one()
        number = f"{self.settings.number_prefix}{ticket_id:06d}"
        await update_by_id(conn, tickets, ticket_id, number=number)
        if store_on_incident:
            await update_by_id(conn, incidents, incident["id"], ticket=number)
        if desk:
            await self._mirror(
                conn,
                {"id": ticket_id, "incident_id": incident["id"], "desk": desk},
                "open",
                now,
                key=f"desk:{ticket_id}:open",
                number=number,
                external_key=bounded(f"{incident['key']}#{incident['id']}", 250),
                kind=incident["kind"],
                subject=f"[{incident['customer']}] {incident['title']}",
                customer=incident["customer"],
                service=incident.get("service"),
                host=incident.get("host"),
                origin=incident["origin"],
                requester=incident["requester"],
                priority=incident["priority"],
            )
        if article is not None:
            t = {"id": ticket_id, "incident_id": incident["id"], "desk": desk, "queue": queue, "state": "new"}
            await self._article(conn, t, article[0], article[1], now, False)
        return number

    async def add_article(
        self,
        conn: AsyncConnection,
        incident_id: int,
        author: str,
        body: str,
        now: datetime,
        visible_to_customer: bool = False,
    ) -> None:
        # one statement marks the ticket updated and reads what the article and the mirror need
        if conn.dialect.name == "postgresql":  # and writes the article of a ticket nothing mirrors
            params = dict(
                b_incident=incident_id, b_now=now, b_author=author, b_body=body, b_visible=visible_to_customer
            )
            t = (await conn.execute(_TOUCH_TICKET_WITH_ARTICLE, params)).mappings().first()
            if t is not None and t["desk"]:
                await self._article(conn, t, author, body, now, visible_to_customer)
            return
        t = (await conn.execute(_TOUCH_TICKET, {"b_incident": incident_id, "b_now": now})).mappings().first()
        if t is not None:
            await self._article(conn, t, author, body, now, visible_to_customer)

    async def _article(
        self, conn: AsyncConnection, t: Any, author: str, body: str, now: datetime, visible_to_customer: bool
    ) -> None:
        res = await conn.execute(
            _ARTICLE,
            dict(ticket_id=t["id"], author=author, body=body, visible_to_customer=visible_to_customer, created_at=now),
        )
        article_id = res.scalar_one()
        # a silent fault's ticket never gets a customer-visible article in the remote desk either
        visible = visible_to_customer and t["queue"] != self.settings.fault_queue
        await self._mirror(
            conn, t, "note", now, key=f"desk:{t['id']}:note:{article_id}", text=f"{author}: {body}", visible=visible
        )

    async def set_queue(self, conn: AsyncConnection, incident_id: int, queue: str, now: datetime) -> None:
        t = await self._ticket(conn, incident_id)
        if t is None or t["queue"] == queue:
            return
        await update_by_id(conn, tickets, t["id"], queue=queue, updated_at=now)
        kind = "incident" if queue == self.settings.incident_queue else "fault"
        await self._mirror(conn, t, "queue", now, kind=kind)

    async def take(self, conn: AsyncConnection, incident_id: int, now: datetime) -> None:
        """An engineer took the ticket: a new ticket is now in progress (other states stay as they are)."""
        t = await self._ticket(conn, incident_id)
        if t is not None and t["state"] == "new":
            await self._set_state(conn, t, "in_progress", now)

    async def set_state(
        self,
        conn: AsyncConnection,
        incident_id: int,
        state: str,
        now: datetime,
        article: tuple[str, str] | None = None,
    ) -> None:
        """Move the ticket to `state`, then add the article (author, body) if given."""
        params: dict[str, Any] = {"b_incident": incident_id, "b_state": state, "b_now": now}
        if article is not None and conn.dialect.name == "postgresql":
            # the state change and the article of a ticket nothing mirrors in one statement
            params.update(b_author=article[0], b_body=article[1], b_visible=False)
            t = (await conn.execute(_SET_STATE_WITH_ARTICLE, params)).mappings().first()
            if t is not None:
                if t["desk"]:
                    await self._mirror(conn, t, "state", now, state=state)
                    await self._article(conn, t, article[0], article[1], now, False)
                return
        else:
            t = (await conn.execute(_SET_STATE, params)).mappings().first()
        if t is not None:
            await self._mirror(conn, t, "state", now, state=state)
            if article is not None:  # the state change has marked the ticket updated
                await self._article(conn, t, article[0], article[1], now, False)
        elif article is not None:
            await self.add_article(conn, incident_id, article[0], article[1], now)

    async def _set_state(self, conn: AsyncConnection, t: Any, state: str, now: datetime) -> None:
        await update_by_id(conn, tickets, t["id"], state=state, updated_at=now)
        await self._mirror(conn, t, "state", now, state=state)


def builtin_desk(settings: Settings) -> BuiltinDesk:
    """The built-in desk, mirroring each customer's tickets to the remote desk its config names."""
    return BuiltinDesk(settings.desk, {c.id: c.desk for c in settings.customers if c.desk})
