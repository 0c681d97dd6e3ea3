"""Search: dataset popularity; the outbox is read by cursor, not flagged per event.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.add_column(
            sa.Column("popularity", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("catalog_events") as batch_op:
        batch_op.drop_index("ix_catalog_events_processed_at")
        batch_op.drop_column("processed_at")


def downgrade() -> None:
    with op.batch_alter_table("catalog_events") as batch_op:
        batch_op.add_column(sa.Column("processed_at", portal.db.UTCDateTime(), nullable=True))
        batch_op.create_index("ix_catalog_events_processed_at", ["processed_at"], unique=False)
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.drop_column("popularity")
