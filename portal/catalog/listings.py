"""Exact reads of the catalog for the APIs' lists and lookups (CKAN's package_list, tag_list,
organization and group lists …): from the database, which never lags behind a write.
What the public may find is `visibility.findable(PUBLIC)`; searching is the search
service's job, not this module's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..models import Dataset, Organization, Resource, Zone, dataset_zones
from ..visibility import PUBLIC, Viewer, findable
from .queries import bytewise

# What a full view of a dataset shows, loaded with it in a few queries.
_FULL_VIEW = (
    joinedload(Dataset.publisher),
    selectinload(Dataset.zones),
    selectinload(Dataset.resources),
    selectinload(Dataset.fields),
)


def dataset_by_key(session: Session, key: str) -> Dataset | None:
    """A dataset by id or name (whoever may see it: the caller checks)."""
    query = select(Dataset).where(or_(Dataset.id == key, Dataset.name == key))
    return session.scalar(query.options(*_FULL_VIEW))


def datasets_by_id(session: Session, ids: Iterable[str]) -> dict[str, Dataset]:
    """Datasets with what a full view of them shows (publisher, zones, resources, fields),
    in a few queries."""
    wanted = list(ids)
    if not wanted:
        return {}
    query = select(Dataset).where(Dataset.id.in_(wanted)).options(*_FULL_VIEW)
    return {dataset.id: dataset for dataset in session.scalars(query)}


def organization_names(session: Session, names_or_ids: Iterable[str]) -> list[str]:
    """The names of the departments given by name or by id."""
    wanted = list(names_or_ids)
    query = select(Organization.name).where(
        or_(Organization.name.in_(wanted), Organization.id.in_(wanted))
    )
    return list(session.scalars(query))


def organization_titles(session: Session) -> dict[str, str]:
    return {
        name: title
        for name, title in session.execute(select(Organization.name, Organization.title))
    }


def zone_codes(session: Session) -> set[str]:
    """The codes of the zones there are."""
    return set(session.scalars(select(Zone.code)))


def zone_titles(session: Session) -> dict[str, str]:
    return {code: title for code, title in session.execute(select(Zone.code, Zone.title))}


def resource_by_id(session: Session, resource_id: str) -> Resource | None:
    return session.get(Resource, resource_id)


def organization_by_key(session: Session, key: str) -> Organization | None:
    return session.scalar(
        select(Organization).where(or_(Organization.id == key, Organization.name == key))
    )


def organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization)))


def zones(session: Session) -> list[Zone]:
    return list(session.scalars(select(Zone).options(selectinload(Zone.scenarios))))


def zone_by_code(session: Session, code: str) -> Zone | None:
    return session.scalar(
        select(Zone).where(Zone.code == code).options(selectinload(Zone.scenarios))
    )


def _paged(query: Select[Any], offset: int, limit: int | None) -> Select[Any]:
    query = query.offset(offset)
    return query.limit(limit) if limit is not None else query


def public_names(session: Session, offset: int = 0, limit: int | None = None) -> list[str]:
    """Names of the datasets the public may find, in code-point order."""
    query = select(Dataset.name).where(findable(PUBLIC))
    query = query.order_by(bytewise(session, Dataset.name))
    return list(session.scalars(_paged(query, offset, limit)))


def recent_public_ids(session: Session, offset: int = 0, limit: int | None = None) -> list[str]:
    """Ids of the datasets the public may find, the last changed first."""
    query = select(Dataset.id).where(findable(PUBLIC))
    query = query.order_by(Dataset.updated_at.desc(), Dataset.name)
    return list(session.scalars(_paged(query, offset, limit)))


def findable_page(
    session: Session, viewer: Viewer, key: str, descending: bool, offset: int, limit: int
) -> tuple[list[str], int]:
    """Ids of the datasets `viewer` may find, by name or by id (unique, so one order), and
    how many there are: a page of the whole catalog, as fast at any depth as the index."""
    column = bytewise(session, Dataset.name if key == "name" else Dataset.id)
    visible = findable(viewer)
    total = session.scalar(select(func.count()).select_from(Dataset).where(visible)) or 0
    query = select(Dataset.id).where(visible)
    query = query.order_by(column.desc() if descending else column.asc())
    return list(session.scalars(query.offset(offset).limit(limit))), total


def first_public_ids(
    session: Session,
    limit: int,
    *,
    publisher_id: str | None = None,
    zone: str | None = None,
) -> list[str]:
    """Ids of the first public datasets by name, of one department or one zone."""
    query = select(Dataset.id).where(findable(PUBLIC))
    if publisher_id is not None:
        query = query.where(Dataset.publisher_id == publisher_id)
    if zone is not None:
        query = query.join(dataset_zones, dataset_zones.c.dataset_id == Dataset.id)
        query = query.where(dataset_zones.c.zone_code == zone)
    query = query.order_by(bytewise(session, Dataset.name)).limit(limit)
    return list(session.scalars(query))


def public_datasets(
    session: Session,
    limit: int,
    *,
    after: str | None = None,
    publisher: str | None = None,
    zone: str | None = None,
) -> list[Dataset]:
    """The first `limit` datasets the public may find by name after `after`, of one
    department (its name) or one zone, with what a full view of them shows."""
    query = select(Dataset).where(findable(PUBLIC))
    query = query.options(
        selectinload(Dataset.publisher),
        selectinload(Dataset.zones),
        selectinload(Dataset.resources),
        selectinload(Dataset.fields),
    )
    if publisher:
        query = query.join(Organization).where(Organization.name == publisher)
    if zone:
        query = query.join(dataset_zones).where(dataset_zones.c.zone_code == zone)
    if after is not None:
        query = query.where(Dataset.name > after)
    return list(session.scalars(query.order_by(Dataset.name).limit(limit)))


def public_dataset(session: Session, name: str) -> Dataset | None:
    """The dataset of this name, if the public may find it."""
    return session.scalar(select(Dataset).where(findable(PUBLIC)).where(Dataset.name == name))


def organizations_after(
    session: Session, limit: int, after: str | None = None
) -> list[Organization]:
    """The first `limit` departments by name after `after`."""
    query = select(Organization).order_by(Organization.name).limit(limit)
    if after is not None:
        query = query.where(Organization.name > after)
    return list(session.scalars(query))


def public_licenses(session: Session) -> list[str]:
    query = (
        select(Dataset.license)
        .distinct()
        .where(findable(PUBLIC))
        .where(Dataset.license.is_not(None))
    )
    return sorted(session.scalars(query))


def public_keywords(session: Session) -> set[str]:
    found: set[str] = set()
    keyword_lists: Iterable[list[str] | None] = session.scalars(
        select(Dataset.keywords).where(findable(PUBLIC))
    )
    for keywords in keyword_lists:
        found.update(keywords or ())
    return found


def public_counts_by_department(session: Session) -> dict[str, int]:
    """Datasets the public may find, per department id."""
    query = select(Dataset.publisher_id, func.count()).where(findable(PUBLIC))
    return {key: count for key, count in session.execute(query.group_by(Dataset.publisher_id))}


def public_counts_by_zone(session: Session) -> dict[str, int]:
    """Datasets the public may find, per zone code."""
    code = dataset_zones.c.zone_code
    query = (
        select(code, func.count())
        .select_from(Dataset)
        .join(dataset_zones, dataset_zones.c.dataset_id == Dataset.id)
        .where(findable(PUBLIC))
        .group_by(code)
    )
    return {key: count for key, count in session.execute(query)}


def organizations_by_key(session: Session, keys: Iterable[str]) -> dict[str, str]:
    """Department names by their id and by their name, for the departments given either way."""
    wanted = list(keys)
    rows = session.execute(
        select(Organization.id, Organization.name).where(
            or_(Organization.id.in_(wanted), Organization.name.in_(wanted))
        )
    )
    found: dict[str, str] = {}
    for organization_id, name in rows:
        found[organization_id] = found[name] = name
    return found


def datasets_of_resources(session: Session, resource_ids: Iterable[str]) -> dict[str, str]:
    """The dataset id of each of these resources that exists."""
    wanted = list(resource_ids)
    if not wanted:
        return {}
    query = select(Resource.id, Resource.dataset_id).where(Resource.id.in_(wanted))
    return {resource_id: dataset_id for resource_id, dataset_id in session.execute(query)}
