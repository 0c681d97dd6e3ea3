"""What the search index holds for a dataset, and who may see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from schemas.quality import band

from ..models import Dataset


@dataclass(frozen=True)
class IndexDocument:
    id: str
    name: str
    title: str
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


def scopes_of(dataset: Dataset) -> tuple[str, ...]:
    """Who may find a dataset: its own department and the authority always; the public
    when its entry is public (a 不予开放 dataset only if the department chose so)."""
    scopes = [f"org:{dataset.publisher.name}", "authority"]
    if dataset.metadata_public:
        scopes.insert(0, "public")
    return tuple(scopes)


def is_indexed(dataset: Dataset) -> bool:
    return dataset.state == "active"


def index_document(dataset: Dataset) -> IndexDocument:
    return IndexDocument(
        id=dataset.id,
        name=dataset.name,
        title=dataset.title,
        description=dataset.description,
        keywords=tuple(dataset.keywords or ()),
        publisher=dataset.publisher.name,
        publisher_title=dataset.publisher.title,
        zones=tuple(zone.code for zone in dataset.zones),
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
        scopes=scopes_of(dataset),
        stamp=stamp_of(dataset),
    )


def day_number(value: date | None) -> int | None:
    """A date as the integer yyyymmdd both engines range-filter and sort on."""
    return value.year * 10000 + value.month * 100 + value.day if value else None


def stamp_of(dataset: Dataset) -> str:
    return f"{dataset.content_hash[:16]}:{dataset.updated_at.isoformat()}"
