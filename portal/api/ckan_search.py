"""package_search: CKAN's q/fq (parsed in ckan_query.py), facets, sort and paging.

The words of `q` go to our search index (bigrams, synonyms, field weights), which answers
with the matching ids in relevance order (at most `MAX_TEXT_HITS`). Everything else is
answered from the database, which is the source of truth: filters, visibility, sorting,
paging and facet counts. So a query without words (what harvesters and dumps send) is
exact and never lags behind a write; one with words is as fresh as the index (a serving
process applies changes within a second).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from schemas import vocab

from ..models import Dataset, Organization, Zone, dataset_zones
from ..search import SearchQuery
from ..services import search_backend
from ..visibility import Viewer, findable
from .ckan import Context, boolean, integer, listing
from .ckan_mapping import package_dict
from .ckan_query import DEFAULT_SORT, VOCABULARIES, Parsed, parse, parse_sort

MAX_ROWS = 1000  # CKAN's cap on rows
MAX_TEXT_HITS = 10_000  # Elasticsearch's default result window
RANGES = {
    "metadata_modified": Dataset.updated_at,
    "metadata_created": Dataset.created_at,
    "issued": Dataset.issued,
    "modified": Dataset.modified,
}
SCALAR_COLUMNS = {
    "license": Dataset.license,
    "name": Dataset.name,
    "id": Dataset.id,
    **{name: getattr(Dataset, name) for name in VOCABULARIES if name not in ("zones", "formats")},
}
LIST_FIELDS = ("keywords", "formats")  # JSON lists: filtered in Python
FACETS = {
    "organization": "publisher",
    "owner_org": "publisher",
    "publisher": "publisher",
    "groups": "zones",
    "zones": "zones",
    "tags": "keywords",
    "keywords": "keywords",
    "res_format": "formats",
    "formats": "formats",
    "license_id": "license",
    **{name: name for name in VOCABULARIES if name not in ("zones", "formats")},
}
INDEX_FILTERS = ("zones", "domain", "industry", "grade", "open_type", "formats", "keywords")


# -- answering --------------------------------------------------------------------------------
@dataclass
class Row:
    """What filters, facets and sorting need of a dataset, read without the ORM."""

    id: str
    name: str
    title: str
    updated_at: datetime
    created_at: datetime
    modified: date | None
    issued: date | None
    popularity: int
    keywords: list[str]
    formats: list[str]
    publisher: str
    license: str | None
    open_type: str
    grade: str
    domain: str
    industry: str | None
    basic_category: str | None
    update_frequency: str | None
    share_type: str | None
    processing_level: str | None
    open_level: str | None
    zones: list[str] = field(default_factory=list)
    rank: int = 0


ROW_COLUMNS = (
    Dataset.id,
    Dataset.name,
    Dataset.title,
    Dataset.updated_at,
    Dataset.created_at,
    Dataset.modified,
    Dataset.issued,
    Dataset.popularity,
    Dataset.keywords,
    Dataset.formats,
    Organization.name,
    Dataset.license,
    Dataset.open_type,
    Dataset.grade,
    Dataset.domain,
    Dataset.industry,
    Dataset.basic_category,
    Dataset.update_frequency,
    Dataset.share_type,
    Dataset.processing_level,
    Dataset.open_level,
)


def _text(data: dict[str, Any], name: str) -> str:
    raw = data.get(name)
    if raw is None:
        return ""
    if isinstance(raw, list):
        return " ".join(f"({v})" if " OR " in str(v) else str(v) for v in raw)
    return str(raw)


def package_search(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    rows = integer(data, "rows", 10, MAX_ROWS)
    start = integer(data, "start", 0)
    sort_text = data.get("sort") if isinstance(data.get("sort"), str) else None
    keys = parse_sort(sort_text)
    facet_names = listing(data, "facet.field") or []
    facet_limit = _facet_limit(data)
    viewer = context.viewer(boolean(data, "include_private"))
    fq = " ".join(filter(None, [_text(data, "fq"), *(listing(data, "fq_list") or [])]))
    parsed = parse(_text(data, "q"), fq)
    session = context.session
    if (
        parsed.words
        and not (parsed.clauses or parsed.ranges or facet_names)
        and keys[0][0] == "rank"
    ):
        return _by_relevance(context, parsed, viewer, start, rows, sort_text)
    ranks = _text_ranks(session, parsed, viewer) if parsed.words else None
    query = _filtered(select(*ROW_COLUMNS).join(Organization), parsed, viewer, ranks)
    in_python = any(name in LIST_FIELDS for name, _ in parsed.clauses)
    if ranks is None and not facet_names and not in_python:
        count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        ordered = query.order_by(*_order(session, keys)).offset(start).limit(rows)
        page = [Row(*values) for values in session.execute(ordered)]
        return _answer(context, count, page, facet_names, [], facet_limit, sort_text)
    matched = [row for row in _rows(session, query, ranks) if _list_match(row, parsed)]
    _sort(matched, keys)
    page = matched[start : start + rows]
    return _answer(context, len(matched), page, facet_names, matched, facet_limit, sort_text)


def _by_relevance(
    context: Context, parsed: Parsed, viewer: Viewer, start: int, rows: int, sort: str | None
) -> dict[str, Any]:
    """Words alone, best first (what people and most clients ask): the index answers the
    page and the count by itself, as the general path would from its first MAX_TEXT_HITS
    hits, without reading every matching row from the database."""
    end = min(start + rows, MAX_TEXT_HITS)
    query = SearchQuery(
        text=" ".join(parsed.words)[:200],
        sort="relevance",
        size=max(end, 1),
        facets=(),
        viewer=viewer,
    )
    result = search_backend().search(query)
    page = [hit.id for hit in result.hits[start:end]]
    return {
        "count": min(result.total, MAX_TEXT_HITS),
        "results": packages(context, page),
        "facets": {},
        "search_facets": {},
        "sort": sort or DEFAULT_SORT,
    }


def _facet_limit(data: dict[str, Any]) -> int | None:
    raw = data.get("facet.limit")
    if raw is not None and str(raw).strip() == "-1":
        return None
    return integer(data, "facet.limit", 50)


def _text_ranks(session: Session, parsed: Parsed, viewer: Viewer) -> dict[str, int]:
    """Ids matching the words, best first, from the index (narrowed by what it can filter)."""
    filters: dict[str, tuple[str, ...]] = {}
    for name, values in parsed.clauses:
        if name in INDEX_FILTERS and name not in filters:
            codes = _codes(name, values)
            if codes:
                filters[name] = tuple(codes)
        elif name == "publisher" and name not in filters:
            names = session.scalars(
                select(Organization.name).where(
                    or_(Organization.name.in_(values), Organization.id.in_(values))
                )
            ).all()
            filters["publisher"] = tuple(names) or ("-",)
    query = SearchQuery(
        text=" ".join(parsed.words)[:200],
        filters=filters,
        sort="relevance",
        size=MAX_TEXT_HITS,
        facets=(),
        viewer=viewer,
    )
    hits = search_backend().search(query).hits
    return {hit.id: position for position, hit in enumerate(hits)}


def _codes(name: str, values: Iterable[str]) -> list[str]:
    """Vocabulary codes for values given as codes, labels or aliases (CSV → csv)."""
    if name not in VOCABULARIES:
        return list(values)
    terms = vocab(VOCABULARIES[name])
    return [code for code in (terms.resolve(v) for v in values) if code]


def _filtered(
    query: Select, parsed: Parsed, viewer: Viewer, ranks: dict[str, int] | None
) -> Select:
    query = query.where(findable(viewer))
    conditions = []
    for name, values in parsed.clauses:
        if name in LIST_FIELDS:
            continue  # in Python, on the rows
        if name == "publisher":
            conditions.append(or_(Organization.name.in_(values), Organization.id.in_(values)))
        elif name == "zones":
            codes = _codes(name, values)
            zoned = select(dataset_zones.c.dataset_id).where(dataset_zones.c.zone_code.in_(codes))
            conditions.append(Dataset.id.in_(zoned))
        elif name == "capacity":
            wanted = {v.lower() for v in values}
            shown = [
                flag for flag, word in ((True, "public"), (False, "private")) if word in wanted
            ]
            conditions.append(Dataset.metadata_public.in_(shown))
        elif name in ("state", "type"):
            accepted = "active" if name == "state" else "dataset"
            if accepted not in {v.lower() for v in values}:
                conditions.append(Dataset.id.is_(None))
        else:
            column = SCALAR_COLUMNS[name]
            conditions.append(column.in_(_codes(name, values)))
    for name, low, high in parsed.ranges:
        column = RANGES[name]
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    if ranks is not None:
        conditions.append(Dataset.id.in_(list(ranks)))
    return query.where(*conditions)


def bytewise(session: Session, column: Any) -> Any:
    """Text in code-point order on every database (PostgreSQL's collation would differ from
    SQLite's and from the sorting done in Python)."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def _order(session: Session, keys: list[tuple[str, bool]]) -> list[Any]:
    columns = {
        "updated_at": Dataset.updated_at,
        "created_at": Dataset.created_at,
        "title": Dataset.title,
        "name": Dataset.name,
        "id": Dataset.id,
        "modified": Dataset.modified,
        "issued": Dataset.issued,
        "popularity": Dataset.popularity,
    }
    out = []
    for attribute, descending in keys:
        if attribute == "rank":
            continue  # without words every dataset scores the same
        column = columns[attribute]
        if attribute in ("title", "name", "id"):
            column = bytewise(session, column)
        out.append((column.desc() if descending else column.asc()).nulls_last())
    return out


def _rows(session: Session, query: Select, ranks: dict[str, int] | None) -> list[Row]:
    rows = {values[0]: Row(*values) for values in session.execute(query)}
    if rows:
        zoned = select(dataset_zones.c.dataset_id, dataset_zones.c.zone_code).where(
            dataset_zones.c.dataset_id.in_(query.with_only_columns(Dataset.id))
        )
        for dataset_id, code in session.execute(zoned.order_by(dataset_zones.c.zone_code)):
            if dataset_id in rows:
                rows[dataset_id].zones.append(code)
    if ranks is not None:
        for row in rows.values():
            row.rank = ranks.get(row.id, len(ranks))
    return list(rows.values())


def _list_match(row: Row, parsed: Parsed) -> bool:
    for name, values in parsed.clauses:
        if name == "keywords" and not set(row.keywords or ()) & values:
            return False
        if name == "formats" and not set(row.formats or ()) & set(_codes(name, values)):
            return False
    return True


def _sort(rows: list[Row], keys: list[tuple[str, bool]]) -> None:
    """Stable sorts, least significant key first; a missing value last either way."""
    for attribute, descending in reversed(keys):
        if attribute == "rank":
            descending = False  # rank 0 is the best hit
        present = [r for r in rows if getattr(r, attribute) is not None]
        absent = [r for r in rows if getattr(r, attribute) is None]
        present.sort(key=lambda r, a=attribute: getattr(r, a), reverse=descending)
        rows[:] = present + absent


def _answer(
    context: Context,
    count: int,
    page: list[Row],
    facet_names: list[str],
    matched: list[Row],
    facet_limit: int | None,
    sort_text: str | None,
) -> dict[str, Any]:
    facets, search_facets = _facets(context.session, facet_names, matched, facet_limit)
    return {
        "count": count,
        "results": packages(context, [row.id for row in page]),
        "facets": facets,
        "search_facets": search_facets,
        "sort": sort_text or DEFAULT_SORT,
    }


def packages(context: Context, ids: list[str]) -> list[dict[str, Any]]:
    """Full package dicts of `ids`, in that order, read in a few queries."""
    if not ids:
        return []
    loaded = {
        dataset.id: dataset
        for dataset in context.session.scalars(
            select(Dataset)
            .where(Dataset.id.in_(ids))
            .options(
                joinedload(Dataset.publisher),
                selectinload(Dataset.zones),
                selectinload(Dataset.resources),
                selectinload(Dataset.fields),
            )
        )
    }
    return [package_dict(loaded[i], context.download_url) for i in ids if i in loaded]


def _facets(
    session: Session, names: list[str], rows: list[Row], limit: int | None
) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    labels = _labellers(session) if names else {}
    for name in names:
        target = FACETS.get(name)
        counts: Counter[str] = Counter()
        if target is not None:
            for row in rows:
                value = getattr(row, target)
                values = value if isinstance(value, list) else [value]
                counts.update(v for v in dict.fromkeys(values) if v)
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if limit is not None:
            ordered = ordered[:limit]
        label = labels.get(target or "", lambda v: v)
        shown = [(_shown(target, v), n) for v, n in ordered]
        facets[name] = dict(shown)
        search_facets[name] = {
            "title": name,
            "items": [
                {"name": value, "display_name": label(raw), "count": n}
                for (value, n), (raw, _) in zip(shown, ordered, strict=True)
            ],
        }
    return facets, search_facets


def _shown(target: str | None, value: str) -> str:
    return value.upper() if target == "formats" else value  # CKAN's formats: CSV, JSON …


def _labellers(session: Session) -> dict[str, Callable[[str], str]]:
    publishers = dict(session.execute(select(Organization.name, Organization.title)).all())
    zones = dict(session.execute(select(Zone.code, Zone.title)).all())

    def vocabulary(name: str) -> Callable[[str], str]:
        terms = vocab(VOCABULARIES[name])

        def label(code: str) -> str:
            try:
                return terms.label(code)
            except KeyError:
                return code

        return label

    out: dict[str, Callable[[str], str]] = {
        name: vocabulary(name) for name in VOCABULARIES if name not in ("zones", "formats")
    }
    out["publisher"] = lambda v: publishers.get(v, v)
    out["zones"] = lambda v: zones.get(v, v)
    out["formats"] = lambda v: v.upper()
    return out
