"""A stored file belongs to one resource: its name in the file store is a random key kept
on the resource (`file_key`), never the resource's id, which a document may give again
after the resource is gone (issue 15). Files stored under the old scheme were named by the
resource id: each resource takes its own id as its key at upgrade, so the files of the
resources there are keep being served; a resource made later with a freed id gets no key,
and so no file, until its own upload.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources") as batch_op:
        batch_op.add_column(sa.Column("file_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_resources_file_key"), ["file_key"])
    op.execute("UPDATE resources SET file_key = id")


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_resources_file_key"), type_="unique")
        batch_op.drop_column("file_key")
