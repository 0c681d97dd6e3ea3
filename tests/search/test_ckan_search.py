"""CKAN's package_search on every search backend: its filters, ranges, sorts, pages and
facets answer what the database says, read independently here (the oracle). Nothing here
writes, so the module shares one catalog per backend."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.models import Dataset
from portal.search.documents import tie_break
from portal.services import database

Keep = Callable[[Dataset], bool]


def public_datasets(app: Flask) -> list[Dataset]:
    with database(app).sessions() as session:
        query = select(Dataset).options(
            selectinload(Dataset.zones), selectinload(Dataset.publisher)
        )
        found = list(session.scalars(query))
        session.expunge_all()
    return [d for d in found if d.state == "active" and d.metadata_public]


def search(app: Flask, **params: Any) -> dict[str, Any]:
    response = app.test_client().get("/api/3/action/package_search", query_string=params)
    body = response.get_json()
    assert response.status_code == 200 and body["success"], body
    return body["result"]


def names(result: dict[str, Any]) -> list[str]:
    return [p["name"] for p in result["results"]]


def expected(app: Flask, keep: Keep, key: str = "name", descending: bool = False) -> list[str]:
    """The oracle: the public datasets kept, by `key` (missing last), then by the tie-break
    of their name, then by name."""
    kept = sorted(
        (d for d in public_datasets(app) if keep(d)), key=lambda d: (tie_break(d.name), d.name)
    )
    present = [d for d in kept if getattr(d, key) is not None]
    absent = [d for d in kept if getattr(d, key) is None]
    present.sort(key=lambda d: getattr(d, key), reverse=descending)
    return [d.name for d in present + absent]


def zones(d: Dataset) -> set[str]:
    return {z.code for z in d.zones}


FILTERS: list[tuple[str, Keep]] = [
    ("groups:transport", lambda d: "transport" in zones(d)),
    ("groups:(transport OR port)", lambda d: bool(zones(d) & {"transport", "port"})),
    ("organization:qd-ecology", lambda d: d.publisher.name == "qd-ecology"),
    ("tags:公交", lambda d: "公交" in (d.keywords or [])),
    ("res_format:CSV", lambda d: "csv" in (d.formats or [])),
    ("res_format:csv res_format:api", lambda d: {"csv", "api"} <= set(d.formats or [])),
    ("open_type:有条件开放", lambda d: d.open_type == "conditional"),  # a label, as users type it
    ("grade:core", lambda d: d.grade == "core"),
    (
        "domain:environment +update_frequency:realtime",
        lambda d: d.domain == "environment" and d.update_frequency == "realtime",
    ),
    (
        "modified:[2025-03-01 TO 2025-04-30]",
        lambda d: "2025-03-01" <= str(d.modified) <= "2025-04-30",
    ),
    ("issued:[* TO 2020-12-31]", lambda d: d.issued is not None and str(d.issued) <= "2020-12-31"),
    ("name:bus-lines", lambda d: d.name == "bus-lines"),
    ("capacity:public", lambda d: True),
    ("state:deleted", lambda d: False),
    ("organization:no-such-department", lambda d: False),
]


@pytest.mark.parametrize(("fq", "keep"), FILTERS, ids=[fq for fq, _ in FILTERS])
def test_filters_answer_what_the_database_holds(
    reading_search_app: Flask, fq: str, keep: Keep
) -> None:
    found = search(reading_search_app, fq=fq, sort="name asc", rows=1000)
    assert names(found) == expected(reading_search_app, keep)
    assert found["count"] == len(found["results"])


def test_a_department_may_be_named_by_its_id(reading_search_app: Flask) -> None:
    [tidal] = [d for d in public_datasets(reading_search_app) if d.publisher.name == "qd-tidal"]
    found = search(reading_search_app, fq=f"owner_org:{tidal.publisher_id}")
    assert names(found) == [tidal.name]


def test_moments_are_compared_to_the_microsecond(reading_search_app: Flask) -> None:
    datasets = public_datasets(reading_search_app)
    newest = max(datasets, key=lambda d: d.updated_at)
    moment = newest.updated_at.astimezone(UTC)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    just_before = (moment - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    at_or_after = search(reading_search_app, fq=f"metadata_modified:[{stamp} TO *]", rows=1000)
    assert newest.name in names(at_or_after)
    assert all(d.updated_at >= moment for d in datasets if d.name in names(at_or_after))
    before = search(reading_search_app, fq=f"metadata_modified:[* TO {just_before}]", rows=1000)
    assert newest.name not in names(before)
    assert at_or_after["count"] + before["count"] == len(datasets)
    future = datetime.now(UTC) + timedelta(days=1)
    assert search(reading_search_app, fq=f"metadata_created:[{future:%Y-%m-%d} TO *]")["count"] == 0


SORTS: list[tuple[str, str, bool]] = [
    ("name asc", "name", False),
    ("name desc", "name", True),
    ("title_string asc", "title", False),
    ("title_string desc", "title", True),
    ("metadata_modified desc", "updated_at", True),
    ("metadata_created asc", "created_at", False),
    ("issued desc", "issued", True),
    ("modified asc", "modified", False),
    ("views_recent desc", "popularity", True),
    ("score desc, metadata_modified desc", "updated_at", True),  # no words: the next key
]


@pytest.mark.parametrize("fq", ["", "capacity:public"])  # the whole catalog; a search
@pytest.mark.parametrize(("sort", "key", "descending"), SORTS, ids=[s for s, _, _ in SORTS])
def test_sorts_and_pages_agree_with_the_database(
    reading_search_app: Flask, sort: str, key: str, descending: bool, fq: str
) -> None:
    everything = names(search(reading_search_app, sort=sort, fq=fq, rows=1000))
    assert everything == expected(reading_search_app, lambda d: True, key, descending)
    pages = [
        names(search(reading_search_app, sort=sort, fq=fq, rows=3, start=s))
        for s in range(0, 20, 3)
    ]
    assert [name for page in pages for name in page] == everything


def test_equal_values_keep_one_order_across_pages(reading_search_app: Flask) -> None:
    """Most datasets share an issue date and a popularity: pages cut through those runs
    (ordered by the tie-break of the name, then the name)."""
    for sort, key in (("issued desc", "issued"), ("views_recent desc", "popularity")):
        order = expected(reading_search_app, lambda d: True, key, descending=True)
        for rows in (1, 2, 4):
            pages = [
                names(
                    search(reading_search_app, sort=sort, fq="capacity:public", rows=rows, start=s)
                )
                for s in range(0, len(order), rows)
            ]
            assert [name for page in pages for name in page] == order, (sort, rows)


def test_words_with_a_sort_and_a_filter(reading_search_app: Flask) -> None:
    found = search(reading_search_app, q="观测", fq="organization:qd-ecology", sort="name desc")
    assert names(found) == ["tide-title", "tide-keywords", "tide-description"]
    best = search(reading_search_app, q="潮汐")
    assert names(best) == ["tide-title", "tide-keywords", "tide-publisher", "tide-description"]


def test_facets_count_the_whole_result_as_the_database_does(reading_search_app: Flask) -> None:
    fields = ["organization", "groups", "tags", "res_format", "open_type", "grade", "license_id"]
    found = search(
        reading_search_app, fq="domain:transport", rows=0, **{"facet.field": json.dumps(fields)}
    )
    kept = [d for d in public_datasets(reading_search_app) if d.domain == "transport"]
    assert found["count"] == len(kept) and found["results"] == []
    facets = found["facets"]
    assert facets["organization"] == dict(Counter(d.publisher.name for d in kept))
    assert facets["groups"] == dict(Counter(z for d in kept for z in zones(d)))
    assert facets["tags"] == dict(Counter(k for d in kept for k in d.keywords or []))
    assert facets["res_format"] == dict(Counter(f.upper() for d in kept for f in d.formats or []))
    assert facets["open_type"] == dict(Counter(d.open_type for d in kept))
    assert facets["license_id"] == dict(Counter(d.license for d in kept if d.license))
    for name, facet in found["search_facets"].items():  # CKAN's order: most first, then by value
        counts = [(i["name"], i["count"]) for i in facet["items"]]
        assert counts == sorted(counts, key=lambda i: (-i[1], i[0])), name
    labels = {i["name"]: i["display_name"] for i in found["search_facets"]["groups"]["items"]}
    assert labels["transport"] == "交通专区"
    one = search(reading_search_app, **{"facet.field": '["organization"]', "facet.limit": 1})
    assert len(one["facets"]["organization"]) == 1


def test_private_entries_are_not_found_by_the_public(reading_search_app: Flask) -> None:
    assert search(reading_search_app, q="低收入")["count"] == 0
    assert search(reading_search_app, fq="capacity:private")["count"] == 0
