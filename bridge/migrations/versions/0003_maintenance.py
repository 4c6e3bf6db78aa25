"""maintenance windows; alerts remember their last event and whether a window held them back

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("alerts") as b:
        b.add_column(sa.Column("last_event_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("suppressed", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("customer", sa.String(64), nullable=False),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_windows")),
        sa.UniqueConstraint("key", name=op.f("uq_maintenance_windows_key")),
    )
    op.create_index("ix_maintenance_active", "maintenance_windows", ["customer", "ends_at"])


def downgrade() -> None:
    op.drop_index("ix_maintenance_active", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
    with op.batch_alter_table("alerts") as b:
        b.drop_column("suppressed")
        b.drop_column("last_event_id")
