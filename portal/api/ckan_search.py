"""package_search: CKAN's q/fq (parsed in ckan_query.py), facets, sort and paging, answered
by the search service's backend (tantivy, or an Elasticsearch-family engine at scale).

The parsed query becomes one `SearchQuery`: the words, every fq clause as a keyword filter
(vocabulary labels and aliases resolved to codes, departments given by id to names),
ranges on the dates and moments, the sort, `start`/`rows`, and the facets, which count the
whole result as Solr's do. The engine applies the viewer's scopes; the database only
supplies the packages of the page, checked once more against the visibility rule.

One request is an exact listing rather than a search: every dataset the viewer may find,
by name or id, with no words, filters or facets (how clients walk a whole catalog). The
database pages it at any depth; it is the same answer the engine would give.

Before answering, the index is brought up to every write committed before the request
(for at most CATCH_UP_SECONDS), so a client that writes and then searches finds what it
wrote, as with CKAN's synchronous indexing.

Bounds: `rows` at most 1000 (CKAN's cap), `start` at most `query.MAX_OFFSET` (further
pages are empty, the count stays exact), at most `query.MAX_FACET_SIZE` values counted
per facet. Of a sort with several keys, the first that orders anything decides, then the
name (see `ckan_query.parse_sort`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from schemas import vocab

from ..catalog.listings import (
    datasets_by_id,
    findable_page,
    organization_names,
    organization_titles,
    zone_titles,
)
from ..search import SearchQuery
from ..search.query import MAX_FACET_SIZE, MAX_OFFSET, DateRange
from ..services import indexer, search_backend
from ..visibility import Viewer, may_find
from .ckan import Context, boolean, integer, listing, validation
from .ckan_mapping import package_dict
from .ckan_query import DEFAULT_SORT, RANGES, VOCABULARIES, Parsed, parse, parse_sort

MAX_ROWS = 1000  # CKAN's cap on rows
MAX_QUERY_LENGTH = 2000  # characters of q, of fq (with fq_list) and of sort, as sent
MAX_QUERY_TEXT = 200  # characters of words sent to the engine (as the pages allow)
CATCH_UP_SECONDS = 2.0
# CKAN's facet fields (and ours) → the index's keyword fields.
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


class _Nothing(Exception):
    """A clause no dataset can match (an unknown department, state:deleted …)."""


@dataclass(frozen=True)
class Request:
    """package_search's parameters, checked."""

    parsed: Parsed
    viewer: Viewer
    start: int
    rows: int
    sort: str | None
    facet_names: list[str]
    facet_limit: int | None  # None: every value (facet.limit=-1)


def package_search(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    asked = _request(context, data)
    try:
        query = _search_query(context, asked)
    except _Nothing:
        return _answer(context, asked, 0, [], {})
    if _whole_catalog_by_key(asked, query):
        ids, total = findable_page(
            context.session, asked.viewer, query.sort, query.descending, asked.start, asked.rows
        )
        return _answer(context, asked, total, ids, {})
    indexer().catch_up(within=CATCH_UP_SECONDS)
    found = search_backend().search(query)
    ids = [hit.id for hit in found.hits][: asked.rows] if asked.start <= MAX_OFFSET else []
    return _answer(context, asked, found.total, ids, found.facets)


def _whole_catalog_by_key(asked: Request, query: SearchQuery) -> bool:
    """A page of every dataset the viewer may find, by name or id, and nothing else asked:
    an exact listing (how clients walk a whole catalog), read from the database, which
    pages any depth by its index (tantivy reads each hit's text key: slow deep down)."""
    parsed = asked.parsed
    return query.sort in ("name", "id") and not (
        parsed.words or parsed.clauses or parsed.ranges or query.facets
    )


def _request(context: Context, data: dict[str, Any]) -> Request:
    q = _text(data, "q")
    fq = " ".join(filter(None, [_text(data, "fq"), *(listing(data, "fq_list") or [])]))
    sort = data.get("sort") if isinstance(data.get("sort"), str) else None
    for name, value in (("q", q), ("fq", fq), ("sort", sort or "")):
        if len(value) > MAX_QUERY_LENGTH:  # checked before the query parser sees it
            raise validation(
                {
                    name: [
                        f"不能超过 {MAX_QUERY_LENGTH} 个字符 "
                        f"(Longer than {MAX_QUERY_LENGTH} characters)"
                    ]
                }
            )
    return Request(
        parsed=parse(q, fq),
        viewer=context.viewer(boolean(data, "include_private")),
        start=integer(data, "start", 0),
        rows=integer(data, "rows", 10, MAX_ROWS),
        sort=sort,
        facet_names=listing(data, "facet.field") or [],
        facet_limit=_facet_limit(data),
    )


def _text(data: dict[str, Any], name: str) -> str:
    raw = data.get(name)
    if raw is None:
        return ""
    if isinstance(raw, list):
        return " ".join(f"({v})" if " OR " in str(v) else str(v) for v in raw)
    return str(raw)


def _facet_limit(data: dict[str, Any]) -> int | None:
    raw = data.get("facet.limit")
    if raw is not None and str(raw).strip() == "-1":
        return None
    return integer(data, "facet.limit", 50)


def _search_query(context: Context, asked: Request) -> SearchQuery:
    parsed = asked.parsed
    sort, descending = parse_sort(asked.sort, has_words=bool(parsed.words))
    clauses = [_clause(context, name, values) for name, values in parsed.clauses]
    filters: dict[str, tuple[str, ...]] = {}
    more: list[tuple[str, tuple[str, ...]]] = []
    for name, values in filter(None, clauses):
        if name in filters:
            more.append((name, values))  # a second clause on a field: both must match
        else:
            filters[name] = values
    facets = tuple(dict.fromkeys(FACETS[n] for n in asked.facet_names if n in FACETS))
    return SearchQuery(
        text=" ".join(parsed.words)[:MAX_QUERY_TEXT],
        filters=filters,
        more_filters=tuple(more),
        dates=_ranges(parsed),
        sort=sort,
        descending=descending,
        start=min(asked.start, MAX_OFFSET),
        size=asked.rows,
        facets=facets,
        facet_size=MAX_FACET_SIZE,  # all of them: the order and the cut are CKAN's
        multi_select=False,
        viewer=asked.viewer,
    )


def _clause(context: Context, name: str, values: set[str]) -> tuple[str, tuple[str, ...]] | None:
    """An fq clause as an index filter (None: it narrows nothing); `_Nothing` if no dataset
    can match it."""
    if name in ("state", "type"):
        accepted = "active" if name == "state" else "dataset"  # all the index holds
        if accepted not in {v.lower() for v in values}:
            raise _Nothing
        return None
    if name == "publisher":
        found: Iterable[str] = organization_names(context.session, values)
    elif name == "capacity":
        found = {v.lower() for v in values} & {"public", "private"}
    elif name in VOCABULARIES:
        terms = vocab(VOCABULARIES[name])
        found = {code for code in map(terms.resolve, values) if code}
    else:  # keywords, license, name, id: as given
        found = values
    codes = tuple(sorted(found))
    if not codes:
        raise _Nothing
    return name, codes


def _ranges(parsed: Parsed) -> dict[str, DateRange]:
    """Each range field's bounds; two ranges on one field both apply (their overlap)."""
    bounds: dict[str, tuple[Any, Any]] = {}
    for name, low, high in parsed.ranges:
        field = RANGES[name]
        old_low, old_high = bounds.get(field, (None, None))
        bounds[field] = (_later(old_low, low), _earlier(old_high, high))
    return {field: DateRange(low, high) for field, (low, high) in bounds.items()}


def _later(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: date | None, b: date | None) -> date | None:
    return b if a is None else a if b is None else min(a, b)


# -- the answer --------------------------------------------------------------------------------
def _answer(
    context: Context,
    asked: Request,
    count: int,
    ids: list[str],
    counted: dict[str, dict[str, int]],
) -> dict[str, Any]:
    facets, search_facets = _facets(context, asked, counted)
    return {
        "count": count,
        "results": packages(context, ids, asked.viewer),
        "facets": facets,
        "search_facets": search_facets,
        "sort": asked.sort or DEFAULT_SORT,
    }


def packages(context: Context, ids: list[str], viewer: Viewer) -> list[dict[str, Any]]:
    """Full package dicts of `ids`, in that order, of the datasets `viewer` may find: the
    index a moment behind must not show one just withdrawn or made private."""
    loaded = datasets_by_id(context.session, ids)
    return [
        package_dict(loaded[i], context.resource_link)
        for i in ids
        if i in loaded and may_find(viewer, loaded[i])
    ]


def _facets(
    context: Context, asked: Request, counted: dict[str, dict[str, int]]
) -> tuple[dict[str, dict[str, int]], dict[str, Any]]:
    facets: dict[str, dict[str, int]] = {}
    search_facets: dict[str, Any] = {}
    labels = _labellers(context) if asked.facet_names else {}
    for name in asked.facet_names:
        target = FACETS.get(name)
        counts = counted.get(target, {}) if target else {}
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if asked.facet_limit is not None:
            ordered = ordered[: asked.facet_limit]
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


def _labellers(context: Context) -> dict[str, Callable[[str], str]]:
    publishers = organization_titles(context.session)
    zones = zone_titles(context.session)

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
