"""What the search index holds for a dataset (who may find it: `visibility.index_scopes`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, select
from sqlalchemy.orm import Session

from schemas.quality import band

from ..models import Dataset, Organization
from ..models.catalog import dataset_zones
from ..visibility import index_scopes


@dataclass(frozen=True)
class IndexDocument:
    id: str
    name: str
    title: str
    title_en: str
    description: str
    keywords: tuple[str, ...]
    publisher: str
    publisher_title: str
    zones: tuple[str, ...]
    domain: str
    industry: str | None
    grade: str
    open_type: str
    formats: tuple[str, ...]
    update_frequency: str | None
    issued: date | None
    modified: date | None
    popularity: int
    quality_band: str
    scopes: tuple[str, ...]
    stamp: str  # changes whenever the dataset does; `portal doctor` compares it

    def keyword_values(self, name: str) -> tuple[str, ...]:
        value = getattr(self, name)
        if value is None:
            return ()
        return tuple(value) if isinstance(value, tuple) else (value,)


def index_document(dataset: Dataset) -> IndexDocument:
    """The document of a loaded dataset."""
    zones = tuple(zone.code for zone in dataset.zones)
    return _document(dataset, dataset.publisher.name, dataset.publisher.title, zones)


# What a document is built from, read with SQLAlchemy Core: building ORM objects for this
# cost the indexer as much as the analysis and the engine together.
DOCUMENT_COLUMNS = (
    *(
        getattr(Dataset, name)
        for name in (
            "id",
            "name",
            "title",
            "title_en",
            "description",
            "keywords",
            "domain",
            "industry",
            "grade",
            "open_type",
            "formats",
            "update_frequency",
            "issued",
            "modified",
            "popularity",
            "quality_score",
            "metadata_public",
            "content_hash",
            "updated_at",
        )
    ),
    Organization.name.label("publisher_name"),
    Organization.title.label("publisher_title"),
)


def document_query(condition: ColumnElement[bool]) -> Select[Any]:
    """The rows `documents` turns into the documents of the active datasets matching."""
    return (
        select(*DOCUMENT_COLUMNS)
        .join(Organization, Dataset.publisher_id == Organization.id)
        .where(Dataset.state == "active", condition)
    )


def documents(session: Session, rows: Sequence[Row[Any]]) -> list[IndexDocument]:
    """The documents of rows read by `document_query`, with their zones."""
    zones: dict[str, list[str]] = {}
    if rows:
        query = (
            select(dataset_zones.c.dataset_id, dataset_zones.c.zone_code)
            .where(dataset_zones.c.dataset_id.in_([row.id for row in rows]))
            .order_by(dataset_zones.c.zone_code)
        )
        for dataset_id, code in session.execute(query):
            zones.setdefault(dataset_id, []).append(code)
    return [
        _document(row, row.publisher_name, row.publisher_title, tuple(zones.get(row.id, ())))
        for row in rows
    ]


def _document(
    dataset: Any, publisher: str, publisher_title: str, zones: tuple[str, ...]
) -> IndexDocument:
    """From a Dataset or a row with the same attribute names."""
    return IndexDocument(
        id=dataset.id,
        name=dataset.name,
        title=dataset.title,
        title_en=dataset.title_en or "",
        description=dataset.description,
        keywords=tuple(dataset.keywords or ()),
        publisher=publisher,
        publisher_title=publisher_title,
        zones=zones,
        domain=dataset.domain,
        industry=dataset.industry,
        grade=dataset.grade,
        open_type=dataset.open_type,
        formats=tuple(dataset.formats or ()),
        update_frequency=dataset.update_frequency,
        issued=dataset.issued,
        modified=dataset.modified,
        popularity=dataset.popularity or 0,
        quality_band=band(dataset.quality_score or 0),
        scopes=index_scopes(publisher, dataset.metadata_public),
        stamp=f"{dataset.content_hash[:16]}:{dataset.updated_at.isoformat()}",
    )


def day_number(value: date | None) -> int | None:
    """A date as the integer yyyymmdd both engines range-filter and sort on."""
    return value.year * 10000 + value.month * 100 + value.day if value else None
