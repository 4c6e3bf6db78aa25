"""indexes for the outbox claim when many rows wait that nothing here can deliver

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 21:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _where(cond: str) -> dict[str, Any]:
    return {"postgresql_where": sa.text(cond), "sqlite_where": sa.text(cond)}


def upgrade() -> None:
    op.create_index("ix_outbox_untried", "outbox", ["id"], **_where("state = 'pending' AND last_error IS NULL"))
    op.create_index("ix_outbox_pending_kind", "outbox", ["kind", "id"], **_where("state = 'pending'"))


def downgrade() -> None:
    op.drop_index("ix_outbox_pending_kind", table_name="outbox")
    op.drop_index("ix_outbox_untried", table_name="outbox")
