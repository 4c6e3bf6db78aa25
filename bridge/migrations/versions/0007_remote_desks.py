"""tickets mirrored to a remote desk

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as b:
        b.add_column(sa.Column("desk", sa.String(64), nullable=True))  # remote desk name; None: built-in only
        b.add_column(sa.Column("external_key", sa.String(255), nullable=True))  # the key stored in that desk
        b.add_column(sa.Column("external_id", sa.String(64), nullable=True))
        b.add_column(sa.Column("external_url", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as b:
        for c in ("external_url", "external_id", "external_key", "desk"):
            b.drop_column(c)
