"""What the search index holds for a dataset (who may find it: `visibility.index_scopes`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
    license: str | None
    basic_category: str | None
    share_type: str | None
    processing_level: str | None
    open_level: str | None
    capacity: str  # "public": listed for everyone; "private": for its department
    issued: date | None
    modified: date | None
    created_at: datetime
    updated_at: datetime
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
            "license",
            "basic_category",
            "share_type",
            "processing_level",
            "open_level",
            "issued",
            "modified",
            "popularity",
            "quality_score",
            "metadata_public",
            "content_hash",
            "created_at",
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
        license=dataset.license,
        basic_category=dataset.basic_category,
        share_type=dataset.share_type,
        processing_level=dataset.processing_level,
        open_level=dataset.open_level,
        capacity="public" if dataset.metadata_public else "private",
        issued=dataset.issued,
        modified=dataset.modified,
        created_at=dataset.created_at,
        updated_at=dataset.updated_at,
        popularity=dataset.popularity or 0,
        quality_band=band(dataset.quality_score or 0),
        scopes=index_scopes(publisher, dataset.metadata_public),
        stamp=f"{dataset.content_hash[:16]}:{dataset.updated_at.isoformat()}",
    )


def day_number(value: date | None) -> int | None:
    """A date as the integer yyyymmdd both engines range-filter and sort on."""
    return value.year * 10000 + value.month * 100 + value.day if value else None


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = datetime.resolution


def moment_number(value: datetime | date | None) -> int | None:
    """A moment as microseconds since 1970 (UTC; a naive one is taken as UTC, as the
    database stores them), exact to the microsecond like the database's own comparison."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MICROSECOND


def range_number(field: str, value: date | None) -> int | None:
    """What a range bound of `field` compares with in the engines (query.RANGE_FIELDS)."""
    if field in ("created_at", "updated_at"):
        return moment_number(value)
    if isinstance(value, datetime):
        value = value.date()
    return day_number(value)


TIE_BREAK_BITS = 11


def tie_break(name: str) -> int:
    """Where a dataset comes among those of an equal sort value (then by name): a hash of
    its name, 0–2047. Both engines order by it, so that a run of equal values (most
    datasets have popularity 0) splits into small groups rather than one of thousands,
    which tantivy would have to read whole at a page's edge (see tantivy_sort)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - TIE_BREAK_BITS)
