"""What only the embedded engine has to get right: its files on disk."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from portal.search import PUBLIC, SearchQuery, SearchUnavailable, search
from portal.services import database, indexer, search_backend, settings


@pytest.fixture
def tantivy_app(search_app: Flask) -> Flask:
    if search_backend(search_app).name != "tantivy":
        pytest.skip("embedded engine only")
    return search_app


def test_an_index_of_an_older_schema_is_rebuilt_not_half_read(tantivy_app: Flask) -> None:
    root = settings(tantivy_app).instance_dir / "search" / "tantivy"
    pointer = json.loads((root / "LIVE").read_text())
    (root / "LIVE").write_text(json.dumps({**pointer, "schema": "an-older-release"}))
    backend = search_backend(tantivy_app)
    backend.close()  # as after an upgrade: a new process
    with database(tantivy_app).sessions() as session, pytest.raises(SearchUnavailable):
        search(backend, session, SearchQuery(text="公交", viewer=PUBLIC))
    response = tantivy_app.test_client().get("/api/v1/search?q=公交")
    assert response.status_code == 503 and "search" in response.get_json()["title"].lower()
    assert indexer(tantivy_app).drain() > 0  # the outbox, replayed from the start
    with database(tantivy_app).sessions() as session:
        result = search(backend, session, SearchQuery(text="公交", viewer=PUBLIC))
    assert {item.name for item in result.items} == {"bus-lines", "bus-stops"}


def test_pages_cut_through_datasets_of_one_sort_key_in_name_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Equal values whose names share a tie-break have one key: at a page's edge the
    engine's order among them is arbitrary, so they are read whole and ordered by name."""
    from dataclasses import replace
    from itertools import count, islice

    from portal.search.backends.tantivy import TantivyBackend
    from portal.search.documents import tie_break

    from .test_elastic_requests import document

    bucket = tie_break("shared-0")
    names = list(islice((n for n in (f"shared-{i}" for i in count()) if tie_break(n) == bucket), 6))
    others = ["a-first", "z-last"]
    backend = TantivyBackend(tmp_path / "index")
    writer = backend.live_writer()
    writer.upsert(
        replace(document(), id=f"id-{name}", name=name, popularity=7 if name in names else 1)
        for name in [*reversed(names), *others]
    )
    writer.commit(1)
    expected = sorted(names)
    for size in (1, 2, 4):
        pages = [
            backend.search(
                SearchQuery(sort="popularity", descending=True, start=start, size=size, facets=())
            ).hits
            for start in range(0, len(names), size)
        ]
        found = [hit.id.removeprefix("id-") for page in pages for hit in page]
        assert found[: len(names)] == expected, size
    backend.close()
