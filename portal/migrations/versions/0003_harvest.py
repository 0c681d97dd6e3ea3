"""Harvest sources, jobs and per-record outcomes; quality and grading suggestions on datasets.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "harvest_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("publisher", sa.String(length=100), nullable=True),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("defaults", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=50), nullable=True),
        sa.Column("created_at", portal.db.UTCDateTime(), nullable=False),
        sa.Column("last_success_at", portal.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_harvest_sources_name")),
    )
    op.create_table(
        "harvest_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("incremental", sa.Boolean(), nullable=False),
        sa.Column("started_at", portal.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", portal.db.UTCDateTime(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["harvest_sources.id"],
            name=op.f("fk_harvest_jobs_source_id_harvest_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_jobs")),
    )
    op.create_index(op.f("ix_harvest_jobs_source_id"), "harvest_jobs", ["source_id"])
    op.create_table(
        "harvest_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["harvest_jobs.id"],
            name=op.f("fk_harvest_records_job_id_harvest_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_records")),
    )
    op.create_index(op.f("ix_harvest_records_job_id"), "harvest_records", ["job_id"])
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.add_column(
            sa.Column("quality_score", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("quality", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("suggestion", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("harvest_source_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_datasets_harvest_source_id"), ["harvest_source_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_datasets_harvest_source_id_harvest_sources"),
            "harvest_sources",
            ["harvest_source_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_datasets_harvest_source_id_harvest_sources"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_datasets_harvest_source_id"))
        for column in ("harvest_source_id", "suggestion", "quality", "quality_score"):
            batch_op.drop_column(column)
    op.drop_table("harvest_records")
    op.drop_table("harvest_jobs")
    op.drop_table("harvest_sources")
