"""A harvest's openness downgrades wait for the authority too: an openness request may
come from a harvest source (`harvest_source_id`) rather than from an officer, so
`requested_by` may be empty.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("openness_requests") as batch_op:
        batch_op.alter_column("requested_by", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("harvest_source_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_openness_requests_harvest_source_id_harvest_sources"),
            "harvest_sources",
            ["harvest_source_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    # A harvest's requests have no officer to name: they cannot survive the old schema.
    op.execute("DELETE FROM openness_requests WHERE requested_by IS NULL")
    with op.batch_alter_table("openness_requests") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_openness_requests_harvest_source_id_harvest_sources"),
            type_="foreignkey",
        )
        batch_op.drop_column("harvest_source_id")
        batch_op.alter_column("requested_by", existing_type=sa.Integer(), nullable=False)
