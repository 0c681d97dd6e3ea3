"""Harvest sources and the jobs that ran them, with what happened to each record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, JSONColumn, UTCDateTime, utcnow


class HarvestSource(Base):
    __tablename__ = "harvest_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(String(2000))  # a URL or a file path
    publisher: Mapped[str | None] = mapped_column(String(100))  # target department (org name)
    zones: Mapped[list[str]] = mapped_column(JSONColumn, default=list)
    defaults: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)  # for the harvester
    schedule: Mapped[str | None] = mapped_column(String(50))  # e.g. "daily", "every 6h"
    # Non-public addresses (CIDRs, hosts) this source may reach, beyond the instance's.
    allow: Mapped[list[str]] = mapped_column(JSONColumn, default=list, server_default="[]")
    # True only for a source an operator added at the command line: it may read files.
    local_files_allowed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    jobs: Mapped[list[HarvestJob]] = relationship(
        back_populates="source", order_by="HarvestJob.id.desc()", cascade="all, delete-orphan"
    )


class HarvestJob(Base):
    __tablename__ = "harvest_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("harvest_sources.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(
        String(20), default="running"
    )  # running, finished, failed, interrupted
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, int]] = mapped_column(JSONColumn, default=dict)
    error: Mapped[str | None] = mapped_column(Text)

    source: Mapped[HarvestSource] = relationship(back_populates="jobs")
    records: Mapped[list[HarvestRecord]] = relationship(
        back_populates="job", order_by="HarvestRecord.id", cascade="all, delete-orphan"
    )


class HarvestRecord(Base):
    """One record of one job: added, updated, unchanged, restored, withdrawn or failed."""

    __tablename__ = "harvest_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("harvest_jobs.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    key: Mapped[str | None] = mapped_column(String(200))  # dataset / organization name
    location: Mapped[str | None] = mapped_column(String(500))
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSONColumn)
    warnings: Mapped[list[dict[str, str]] | None] = mapped_column(JSONColumn)

    job: Mapped[HarvestJob] = relationship(back_populates="records")
