"""indexes for what the hot path and the timers look up among many open incidents

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 16:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OPEN = "state = 'open'"


def _where(cond: str) -> dict[str, Any]:
    return {"postgresql_where": sa.text(cond), "sqlite_where": sa.text(cond)}


def upgrade() -> None:
    op.create_index("ix_incidents_open_host", "incidents", ["customer", sa.text("lower(host)")], **_where(OPEN))
    op.create_index(
        "ix_incidents_open_findings", "incidents", ["customer"], **_where(f"{OPEN} AND origin = 'engineer'")
    )
    op.create_index("ix_incidents_service_opened", "incidents", ["customer", "service", "opened_at"])
    op.create_index(
        "ix_incidents_reaction_due", "incidents", ["reaction_due"], **_where(f"{OPEN} AND reaction_breached_at IS NULL")
    )
    op.create_index(
        "ix_incidents_resolution_due",
        "incidents",
        ["resolution_due"],
        **_where(f"{OPEN} AND resolution_breached_at IS NULL"),
    )
    op.create_index("ix_incidents_resolved", "incidents", ["resolved_at"], **_where("state = 'resolved'"))
    op.create_index("ix_alerts_suppressed", "alerts", ["id"], **_where("suppressed IS true"))


def downgrade() -> None:
    for name, table in (
        ("ix_alerts_suppressed", "alerts"),
        ("ix_incidents_resolved", "incidents"),
        ("ix_incidents_resolution_due", "incidents"),
        ("ix_incidents_reaction_due", "incidents"),
        ("ix_incidents_service_opened", "incidents"),
        ("ix_incidents_open_findings", "incidents"),
        ("ix_incidents_open_host", "incidents"),
    ):
        op.drop_index(name, table_name=table)
