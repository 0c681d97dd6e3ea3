"""A harvest source's outbound rules: the non-public addresses it may reach (`allow`) and
whether it may read local files (`local_files_allowed`: only a source whose path an
operator typed at the command line).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("harvest_sources") as batch_op:
        batch_op.add_column(sa.Column("allow", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column(
                "local_files_allowed", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    # Every source so far was added at the command line: its file paths stay readable.
    op.execute(
        "UPDATE harvest_sources SET local_files_allowed = true "
        "WHERE url NOT LIKE 'http://%' AND url NOT LIKE 'https://%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("harvest_sources") as batch_op:
        batch_op.drop_column("local_files_allowed")
        batch_op.drop_column("allow")
