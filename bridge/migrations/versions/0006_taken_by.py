"""who took an incident (in progress)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        b.add_column(sa.Column("acknowledged_by", sa.String(200), nullable=True))
    # tickets nobody has taken yet are "new"; taken ones are "in_progress"
    op.execute(
        "UPDATE tickets SET state = CASE WHEN EXISTS (SELECT 1 FROM incidents i WHERE i.id = tickets.incident_id "
        "AND i.acknowledged_at IS NOT NULL) THEN 'in_progress' ELSE 'new' END WHERE state = 'open'"
    )


def downgrade() -> None:
    op.execute("UPDATE tickets SET state = 'open' WHERE state IN ('new', 'in_progress')")
    with op.batch_alter_table("incidents") as b:
        b.drop_column("acknowledged_by")
