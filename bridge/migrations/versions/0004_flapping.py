"""flapping incidents: state changes counted per window, and when a flapping incident may resolve

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        b.add_column(sa.Column("flap_changes", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("flap_window_start", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("flapping", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("settle_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        for name in ("settle_at", "flapping", "flap_window_start", "flap_changes"):
            b.drop_column(name)
