"""Catalog tables: departments, zones, datasets (resources, fields), revisions, events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, JSONColumn, UTCDateTime, utcnow

if TYPE_CHECKING:
    from .harvest import HarvestSource


def new_id() -> str:
    return str(uuid.uuid4())


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Organization(Timestamps, Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(300))
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(2000))

    datasets: Mapped[list[Dataset]] = relationship(back_populates="publisher")


class Zone(Timestamps, Base):
    __tablename__ = "zones"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(String(300))

    scenarios: Mapped[list[Scenario]] = relationship(
        back_populates="zone", order_by="Scenario.position", cascade="all, delete-orphan"
    )


class Scenario(Base):
    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("zone_code", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_code: Mapped[str] = mapped_column(ForeignKey("zones.code", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)

    zone: Mapped[Zone] = relationship(back_populates="scenarios")


dataset_zones = Table(
    "dataset_zones",
    Base.metadata,
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_code", ForeignKey("zones.code"), primary_key=True, index=True),
)


class Dataset(Timestamps, Base):
    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_state_grade_open_type", "state", "grade", "open_type"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="active", index=True)
    content_hash: Mapped[str] = mapped_column(String(64))

    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    resource_code: Mapped[str | None] = mapped_column(String(40), index=True)
    publisher_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)

    domain: Mapped[str] = mapped_column(String(50), index=True)
    industry: Mapped[str | None] = mapped_column(String(5))
    basic_category: Mapped[str | None] = mapped_column(String(20))

    open_type: Mapped[str] = mapped_column(String(20))
    open_condition: Mapped[str | None] = mapped_column(Text)
    open_level: Mapped[str | None] = mapped_column(String(20))
    metadata_public: Mapped[bool] = mapped_column(Boolean)
    share_type: Mapped[str | None] = mapped_column(String(20))
    share_condition: Mapped[str | None] = mapped_column(Text)
    share_method: Mapped[str | None] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(20))
    processing_level: Mapped[str | None] = mapped_column(String(20))
    update_frequency: Mapped[str | None] = mapped_column(String(20))
    formats: Mapped[list[str]] = mapped_column(JSONColumn, default=list)

    record_count: Mapped[int | None] = mapped_column(BigInteger)
    api_count: Mapped[int | None] = mapped_column(Integer)
    file_count: Mapped[int | None] = mapped_column(Integer)
    issued: Mapped[date | None] = mapped_column(Date)
    modified: Mapped[date | None] = mapped_column(Date)
    keywords: Mapped[list[str]] = mapped_column(JSONColumn, default=list)
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    landing_page: Mapped[str | None] = mapped_column(String(2000))
    license: Mapped[str | None] = mapped_column(String(200))
    operable: Mapped[bool] = mapped_column(Boolean, default=False)
    # How often the dataset is looked at; ranks "popularity" sorts and suggestions.
    popularity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Computed on every write from the document (schemas/quality.py, schemas/grading.py).
    quality_score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSONColumn)
    suggestion: Mapped[dict[str, Any] | None] = mapped_column(JSONColumn)
    # The harvest source that brought it (None: registered by hand).
    harvest_source_id: Mapped[int | None] = mapped_column(
        ForeignKey("harvest_sources.id", ondelete="SET NULL"), index=True
    )
    extras: Mapped[dict[str, Any]] = mapped_column(JSONColumn, default=dict)

    publisher: Mapped[Organization] = relationship(back_populates="datasets")
    harvest_source: Mapped[HarvestSource | None] = relationship()
    zones: Mapped[list[Zone]] = relationship(secondary=dataset_zones, order_by=Zone.code)
    resources: Mapped[list[Resource]] = relationship(
        back_populates="dataset", order_by="Resource.position", cascade="all, delete-orphan"
    )
    fields: Mapped[list[DataField]] = relationship(
        back_populates="dataset", order_by="DataField.position", cascade="all, delete-orphan"
    )


class Resource(Base):
    __tablename__ = "resources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))
    format: Mapped[str | None] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(String(2000))
    media_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    record_count: Mapped[int | None] = mapped_column(BigInteger)
    # The name of the portal's stored file of this resource (files.py): random, made at
    # each upload, never the resource id (a freed id may be given again to another).
    file_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    dataset: Mapped[Dataset] = relationship(back_populates="resources")


class DataField(Base):
    """信息项 (named DataField so it does not shadow dataclasses.field & co.)."""

    __tablename__ = "data_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    length: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(20))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(back_populates="fields")


class Revision(Base):
    """One change to a dataset, organization or zone: who, when, what, and the state after it."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONColumn)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONColumn)


class CatalogEvent(Base):
    """The outbox: written in the same transaction as the change. The search index keeps the
    id of the last event it reflects (its cursor) and replays the ones after it."""

    __tablename__ = "catalog_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
