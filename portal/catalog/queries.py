"""Read-side queries for pages and APIs: what the public may find (`visibility.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..models import Dataset, Organization, dataset_zones
from ..visibility import PUBLIC, findable


@dataclass(frozen=True)
class Page:
    items: list[Dataset]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def dataset_page(
    session: Session,
    *,
    number: int = 1,
    size: int = 20,
    zone: str | None = None,
    publisher: str | None = None,
) -> Page:
    query = select(Dataset).where(findable(PUBLIC))
    if zone:
        query = query.join(dataset_zones).where(dataset_zones.c.zone_code == zone)
    if publisher:
        query = query.join(Organization).where(Organization.name == publisher)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    number = max(1, number)
    offset = (number - 1) * size
    if offset >= total:  # past the end; a huge page number would overflow the OFFSET
        return Page([], total, number, size)
    items = list(
        session.scalars(
            query.order_by(Dataset.modified.desc().nulls_last(), Dataset.name)
            .offset(offset)
            .limit(size)
            .options(selectinload(Dataset.publisher), selectinload(Dataset.zones))
        )
    )
    return Page(items, total, number, size)


def department_page(session: Session, publisher_id: str, number: int, size: int) -> Page:
    """A page of one department's datasets in every state (its officers keep them all), the
    last changed first; a page number past the end gives the last page."""
    mine = Dataset.publisher_id == publisher_id
    total = session.scalar(select(func.count()).select_from(Dataset).where(mine)) or 0
    number = min(max(number, 1), max(1, -(-total // size)))
    query = (
        select(Dataset)
        .where(mine)
        .order_by(Dataset.updated_at.desc(), Dataset.name)
        .offset((number - 1) * size)
        .limit(size)
    )
    return Page(list(session.scalars(query)), total, number, size)


def counts_by(session: Session, column: str) -> dict[str, int]:
    """Publicly visible datasets counted by one column (open_type, grade, domain …)."""
    attribute = getattr(Dataset, column)
    rows = session.execute(
        select(attribute, func.count()).where(findable(PUBLIC)).group_by(attribute)
    )
    return {key: count for key, count in rows}


def bytewise(session: Session, column: Any) -> Any:
    """Text in code-point order on every database (PostgreSQL's collation would differ from
    SQLite's and from the search engines' order)."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def english_titles(session: Session, names: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """The English titles of the named datasets and of their departments: one query by the
    unique name."""
    rows = session.execute(
        select(Dataset.name, Dataset.title_en, Organization.title_en)
        .join(Organization, Dataset.publisher_id == Organization.id)
        .where(Dataset.name.in_(names))
    )
    return {name: (title, publisher) for name, title, publisher in rows}
