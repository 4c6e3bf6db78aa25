"""The database tables (SQLAlchemy Core). Alembic migrations in bridge/migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def const(value: str) -> Any:
    """A fixed string written into the SQL text rather than sent as a parameter. PostgreSQL plans a prepared
    statement once for any parameters (a generic plan): a partial index (`WHERE state = 'open'`) is only
    usable when the query states the same constant itself."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not a plain constant: {value!r}")
    return literal_column(f"'{value}'")


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = UTCDateTime()

# Append-only inbox of what arrived, whatever came of it.
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("received_at", TS, nullable=False),
    Column("token", String(64), nullable=False, default=""),
    Column("alerts", Integer, nullable=False, default=0),
    Column("outcome", String(32), nullable=False),
    Column("body", JSON, nullable=False),
    Index("ix_alert_events_received", "received_at"),
)

# One row per alert identity within a customer (Alertmanager fingerprint, Zabbix event id, finding).
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer", String(64), nullable=False),
    Column("source", String(32), nullable=False),
    Column("identity", String(128), nullable=False),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("name", String(512), nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("host", String(255), nullable=False, default=""),
    Column("severity", String(64), nullable=False, default=""),
    Column("labels", JSON, nullable=False),
    Column("last_order", Float, nullable=False, default=0.0),
    Column("occurrences", Integer, nullable=False, default=0),
    Column("first_seen", TS, nullable=False),
    Column("last_seen", TS, nullable=False),
    Column("starts_at", TS, nullable=True),
    Column("ends_at", TS, nullable=True),
    # set when the alert reports a member of a redundancy group down: "service/group" and the member
    Column("member_group", String(160), nullable=True),
    Column("member", String(255), nullable=True),
    Column("last_event_id", Integer, nullable=True),  # the inbox event that last carried it
    Column("suppressed", Boolean, nullable=False, default=False),  # held back by a maintenance window
    Column("attached", Boolean, nullable=False, default=False),  # joined a parent host's incident
    UniqueConstraint("customer", "source", "identity", name="uq_alerts_identity"),
    Index("ix_alerts_incident", "incident_id"),
    Index("ix_alerts_member_group", "customer", "member_group"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(400), nullable=False),
    # Set while the incident is not closed; unique, so one live incident per correlation key.
    Column("active_key", String(400), nullable=True, unique=True),
    Column("kind", String(16), nullable=False),
    Column("customer", String(64), nullable=False),
    Column("service", String(64), nullable=True),
    Column("host", String(255), nullable=False, default=""),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("impact", String(16), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("binding", Text, nullable=False, default=""),
    Column("origin", String(16), nullable=False),
    Column("requester", String(255), nullable=False),
    Column("source", String(32), nullable=False),
    Column("ticket", String(64), nullable=True),
    Column("occurrences", Integer, nullable=False, default=1),
    Column("reopened", Integer, nullable=False, default=0),
    Column("episode", Integer, nullable=False, default=1),
    Column("affected_notice", Boolean, nullable=False, default=False),  # queued for this episode
    Column("curator_notified", Boolean, nullable=False, default=False),  # an affected notice went out
    Column("previous_id", Integer, ForeignKey("incidents.id"), nullable=True),
    Column("opened_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("resolved_at", TS, nullable=True),
    Column("closed_at", TS, nullable=True),
    Column("trace", JSON, nullable=True),  # the classifier's steps, for `alertbridge explain`
    Column("acknowledged_at", TS, nullable=True),  # an engineer reacted (Zabbix acknowledge, API)
    Column("acknowledged_by", String(200), nullable=True),  # who took it: the incident is in progress
    Column("reaction_due", TS, nullable=True),
    Column("resolution_due", TS, nullable=True),
    Column("reaction_breached_at", TS, nullable=True),
    Column("resolution_breached_at", TS, nullable=True),
    Column("flap_changes", Integer, nullable=False, default=0),
    Column("flap_window_start", TS, nullable=True),
    Column("flapping", Boolean, nullable=False, default=False),
    Column("settle_at", TS, nullable=True),  # a flapping incident that recovered resolves if still quiet then
    Index("ix_incidents_customer_state", "customer", "state"),
    Index("ix_incidents_key", "key"),
)

# Relations between incidents: a redundancy incident and the member faults that led to it.
# What the hot path and the timers look up among many open incidents, so an alert costs the same with a
# hundred of them open or a hundred thousand.
_OPEN = incidents.c.state == "open"
Index(
    "ix_incidents_open_host",
    incidents.c.customer,
    func.lower(incidents.c.host),
    postgresql_where=_OPEN,
    sqlite_where=_OPEN,
)
Index(
    "ix_incidents_open_findings",
    incidents.c.customer,
    postgresql_where=_OPEN & (incidents.c.origin == "engineer"),
    sqlite_where=_OPEN & (incidents.c.origin == "engineer"),
)
Index("ix_incidents_service_opened", incidents.c.customer, incidents.c.service, incidents.c.opened_at)
Index(
    "ix_incidents_reaction_due",
    incidents.c.reaction_due,
    postgresql_where=_OPEN & incidents.c.reaction_breached_at.is_(None),
    sqlite_where=_OPEN & incidents.c.reaction_breached_at.is_(None),
)
Index(
    "ix_incidents_resolution_due",
    incidents.c.resolution_due,
    postgresql_where=_OPEN & incidents.c.resolution_breached_at.is_(None),
    sqlite_where=_OPEN & incidents.c.resolution_breached_at.is_(None),
)
Index(
    "ix_incidents_resolved",
    incidents.c.resolved_at,
    postgresql_where=incidents.c.state == "resolved",
    sqlite_where=incidents.c.state == "resolved",
)
Index(
    "ix_alerts_suppressed",
    alerts.c.id,
    postgresql_where=alerts.c.suppressed.is_(True),
    sqlite_where=alerts.c.suppressed.is_(True),
)

incident_links = Table(
    "incident_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("linked_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("incident_id", "linked_id", "relation", name="uq_incident_links"),
    Index("ix_incident_links_linked", "linked_id"),
)

# One row per redundancy group that has seen an alert: locked while its members are counted, so two
# members failing at the same instant on two replicas still open the group's incident.
redundancy_state = Table(
    "redundancy_state",
    metadata,
    Column("customer", String(64), primary_key=True),
    Column("member_group", String(160), primary_key=True),
    Column("down", Integer, nullable=False, default=0),
    Column("updated_at", TS, nullable=False),
)

# Maintenance windows (from the config, synced on start, or created through the API): alerts in scope are
# recorded and nothing is opened or sent; when the window ends, what is still firing is handled as new.
maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("customer", String(64), nullable=False),
    Column("service", String(64), nullable=True),
    Column("host", String(255), nullable=True),
    Column("starts_at", TS, nullable=False),
    Column("ends_at", TS, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_by", String(255), nullable=False, default=""),
    Column("created_at", TS, nullable=False),
    Column("ended_at", TS, nullable=True),  # set once the end was processed
    Index("ix_maintenance_active", "customer", "ends_at"),
)

# The built-in service desk.
tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(64), nullable=True, unique=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False, unique=True),
    Column("customer", String(64), nullable=False),
    Column("service", String(64), nullable=True),
    Column("queue", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("requester", String(255), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("desk", String(64), nullable=True),  # the remote desk it is mirrored to; None: built-in only
    Column("external_key", String(255), nullable=True),  # alertbridge's key stored in the remote desk
    Column("external_id", String(64), nullable=True),  # the remote desk's ticket id, once created
    Column("external_url", String(512), nullable=True),
)

articles = Table(
    "articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("author", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("visible_to_customer", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
    Index("ix_articles_ticket", "ticket_id"),
)

# Side effects written with the state change, delivered after commit.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(255), nullable=False, unique=True),  # idempotency key
    Column("kind", String(32), nullable=False),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=True),
    Column("after_key", String(255), nullable=True),  # deliver only once this one was delivered
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # pending | delivered | failed | cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("locked_until", TS, nullable=True),
    Column("lease_owner", String(32), nullable=True),  # the claim holding the lease (a random token)
    Column("last_error", Text, nullable=True),
    Column("created_at", TS, nullable=False),
    Column("delivered_at", TS, nullable=True),
    Index("ix_outbox_due", "state", "next_attempt_at"),
    Index("ix_outbox_incident", "incident_id"),
)

# the dispatcher's claim: rows never tried yet, and pending rows of the kinds it can deliver (many rows that
# nothing here can deliver, e.g. curator mail without SMTP, must not be read on every poll)
_PENDING = outbox.c.state == "pending"
Index(
    "ix_outbox_untried",
    outbox.c.id,
    postgresql_where=_PENDING & outbox.c.last_error.is_(None),
    sqlite_where=_PENDING & outbox.c.last_error.is_(None),
)
Index("ix_outbox_pending_kind", outbox.c.kind, outbox.c.id, postgresql_where=_PENDING, sqlite_where=_PENDING)
