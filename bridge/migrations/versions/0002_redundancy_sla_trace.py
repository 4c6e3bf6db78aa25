"""redundancy groups, incident links, SLA deadlines, classifier trace

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alerts") as b:
        b.add_column(sa.Column("member_group", sa.String(160), nullable=True))
        b.add_column(sa.Column("member", sa.String(255), nullable=True))
        b.create_index("ix_alerts_member_group", ["customer", "member_group"])
    with op.batch_alter_table("incidents") as b:
        b.add_column(sa.Column("trace", sa.JSON(), nullable=True))
        for name in (
            "acknowledged_at",
            "reaction_due",
            "resolution_due",
            "reaction_breached_at",
            "resolution_breached_at",
        ):
            b.add_column(sa.Column(name, TS, nullable=True))
    op.create_table(
        "incident_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("linked_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_links_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(["linked_id"], ["incidents.id"], name=op.f("fk_incident_links_linked_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_links")),
        sa.UniqueConstraint("incident_id", "linked_id", "relation", name="uq_incident_links"),
    )
    op.create_index("ix_incident_links_linked", "incident_links", ["linked_id"])
    op.create_table(
        "redundancy_state",
        sa.Column("customer", sa.String(64), nullable=False),
        sa.Column("member_group", sa.String(160), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("customer", "member_group", name=op.f("pk_redundancy_state")),
    )


def downgrade() -> None:
    op.drop_table("redundancy_state")
    op.drop_index("ix_incident_links_linked", table_name="incident_links")
    op.drop_table("incident_links")
    with op.batch_alter_table("incidents") as b:
        for name in (
            "resolution_breached_at",
            "reaction_breached_at",
            "resolution_due",
            "reaction_due",
            "acknowledged_at",
            "trace",
        ):
            b.drop_column(name)
    with op.batch_alter_table("alerts") as b:
        b.drop_index("ix_alerts_member_group")
        b.drop_column("member")
        b.drop_column("member_group")
