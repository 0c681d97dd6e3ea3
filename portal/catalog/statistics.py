"""Catalog figures for the pages: counts by domain, openness, grade, department and zone,
the newest and the most used datasets.

Each figure is a GROUP BY (or ORDER BY … LIMIT) query over the public datasets, never a
loop in Python over datasets; the counts by domain, openness, grade and department come
from one scan (`breakdown`). At 100k datasets a scan still takes a few hundred ms on
SQLite, so the figures are kept (`remembered`) until the catalog changes: every catalog
write appends an outbox event, and the newest event's id (a primary-key lookup) says
whether what we keep is still true. When the figures of a large catalog are out of date,
the page shows the kept ones and a background thread works out the new ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ..db import Database
from ..models import CatalogEvent, Dataset, Organization, dataset_zones
from ..visibility import PUBLIC, findable

T = TypeVar("T")
log = logging.getLogger(__name__)

KEEP_SECONDS = 600.0  # also bounds staleness for writes that bypass the outbox
SLOW_SECONDS = 0.1  # figures slower than this to work out are refreshed in the background
MAX_KEPT = 2000  # one entry per page kind and zone or department


@dataclass(frozen=True)
class Listed:
    """A dataset in a short list (newest, most used): plain values, safe to keep."""

    name: str
    title: str
    title_en: str | None
    open_type: str
    grade: str
    domain: str
    modified: date | None
    popularity: int
    publisher: str
    publisher_title: str
    publisher_title_en: str | None


@dataclass(frozen=True)
class Department:
    name: str
    title: str
    title_en: str | None
    count: int


@dataclass(frozen=True)
class Scope:
    """Which public datasets a figure covers: all, one zone's or one department's."""

    zone: str | None = None
    publisher_id: str | None = None

    def apply(self, query: Select) -> Select:
        query = query.where(findable(PUBLIC))
        if self.zone:
            query = query.join(dataset_zones, dataset_zones.c.dataset_id == Dataset.id).where(
                dataset_zones.c.zone_code == self.zone
            )
        if self.publisher_id:
            query = query.where(Dataset.publisher_id == self.publisher_id)
        return query


EVERYTHING = Scope()


@dataclass(frozen=True)
class Breakdown:
    """Public datasets counted by domain, openness, grade and department."""

    total: int
    domain: dict[str, int]
    open_type: dict[str, int]
    grade: dict[str, int]
    publisher: dict[str, int]  # by organization id


def breakdown(session: Session, scope: Scope = EVERYTHING) -> Breakdown:
    """One scan, grouped by the four columns together: a few thousand groups at most
    (22 domains × 3 × 6 × the departments actually used), summed up here."""
    columns = (Dataset.domain, Dataset.open_type, Dataset.grade, Dataset.publisher_id)
    rows = session.execute(scope.apply(select(*columns, func.count())).group_by(*columns))
    domain: Counter[str] = Counter()
    open_type: Counter[str] = Counter()
    grade: Counter[str] = Counter()
    publisher: Counter[str] = Counter()
    for d, o, g, p, n in rows:
        domain[d] += n
        open_type[o] += n
        grade[g] += n
        publisher[p] += n
    return Breakdown(
        sum(open_type.values()), dict(domain), dict(open_type), dict(grade), dict(publisher)
    )


def departments(session: Session, counts: dict[str, int], limit: int = 10) -> list[Department]:
    """The `limit` departments with the most public datasets (`counts` by id)."""
    top = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    if not top:
        return []
    rows = session.execute(
        select(Organization.id, Organization.name, Organization.title, Organization.title_en).where(
            Organization.id.in_([id_ for id_, _ in top])
        )
    )
    found = {id_: (name, title, title_en) for id_, name, title, title_en in rows}
    return sorted(
        (Department(*found[id_], n) for id_, n in top if id_ in found),
        key=lambda d: (-d.count, d.name),
    )


def zone_counts(session: Session) -> dict[str, int]:
    """Public datasets per zone (a dataset may be in several)."""
    query = (
        select(dataset_zones.c.zone_code, func.count())
        .select_from(dataset_zones)
        .join(Dataset, Dataset.id == dataset_zones.c.dataset_id)
    )
    rows = session.execute(query.where(findable(PUBLIC)).group_by(dataset_zones.c.zone_code))
    return {code: n for code, n in rows}


_LISTED = (
    Dataset.name,
    Dataset.title,
    Dataset.title_en,
    Dataset.open_type,
    Dataset.grade,
    Dataset.domain,
    Dataset.modified,
    Dataset.popularity,
    Organization.name,
    Organization.title,
    Organization.title_en,
)


def _listed(scope: Scope) -> Select:
    return scope.apply(select(*_LISTED).join(Organization, Dataset.publisher_id == Organization.id))


def newest(session: Session, limit: int = 6, scope: Scope = EVERYTHING) -> list[Listed]:
    order = (Dataset.modified.desc().nulls_last(), Dataset.created_at.desc(), Dataset.name)
    rows = session.execute(_listed(scope).order_by(*order).limit(limit))
    return [Listed(*row) for row in rows]


def most_used(session: Session, limit: int = 6) -> list[Listed]:
    """The most looked-at datasets; none while nothing has been looked at (the list would
    only repeat the newest)."""
    order = (Dataset.popularity.desc(), Dataset.modified.desc().nulls_last(), Dataset.name)
    query = _listed(EVERYTHING).where(Dataset.popularity > 0).order_by(*order).limit(limit)
    return [Listed(*row) for row in session.execute(query)]


# -- keeping figures until the catalog changes ---------------------------------------------
@dataclass(frozen=True)
class _Kept(Generic[T]):
    version: int
    at: float  # time.monotonic() when worked out
    seconds: float  # how long that took
    value: T


_KEPT: dict[tuple[Any, ...], _Kept[Any]] = {}
_REFRESHING: set[tuple[Any, ...]] = set()
_LOCK = threading.Lock()


def catalog_version(session: Session) -> int:
    """The id of the newest outbox event: it moves on every catalog write."""
    return session.scalar(select(func.max(CatalogEvent.id))) or 0


def remembered(
    db: Database, session: Session, key: tuple[Any, ...], compute: Callable[[Session], T]
) -> T:
    """`compute(session)`, or what it gave before if the catalog has not changed since
    (and that is not older than KEEP_SECONDS). If it has and the figures were slow to
    work out, the kept ones are shown while a thread works out the new ones: a visitor
    never waits for a scan of a large catalog, except the very first one. Kept per
    database: tests run many side by side."""
    full = (db.url, *key)
    version = catalog_version(session)
    kept = _KEPT.get(full)
    if kept is not None:
        if kept.version == version and time.monotonic() - kept.at < KEEP_SECONDS:
            return kept.value  # type: ignore[no-any-return]
        if kept.seconds >= SLOW_SECONDS:
            _refresh_later(db, full, compute)
            return kept.value  # type: ignore[no-any-return]
    return _work_out(session, full, compute, version)


def _work_out(
    session: Session, full: tuple[Any, ...], compute: Callable[[Session], T], version: int
) -> T:
    started = time.monotonic()
    value = compute(session)
    if len(_KEPT) >= MAX_KEPT:
        _KEPT.clear()
    _KEPT[full] = _Kept(version, started, time.monotonic() - started, value)
    return value


def _refresh_later(db: Database, full: tuple[Any, ...], compute: Callable[[Session], Any]) -> None:
    with _LOCK:
        if full in _REFRESHING:
            return
        _REFRESHING.add(full)

    def run() -> None:
        try:
            with db.sessions() as session:
                _work_out(session, full, compute, catalog_version(session))
        except Exception:  # the kept figures stay; the next visit tries again
            log.exception("could not work out the catalog figures %s", full[1:])
        finally:
            with _LOCK:
                _REFRESHING.discard(full)

    threading.Thread(target=run, name="portal-figures", daemon=True).start()


def refreshing() -> bool:
    """Whether a background refresh is under way (tests wait for it)."""
    with _LOCK:
        return bool(_REFRESHING)
