"""GET /api/v1/search, /api/v1/suggest and the /search page, over the search test catalog."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(search_app):  # type: ignore[no-untyped-def]
    return search_app.test_client()


def test_search_returns_results_total_facets_and_highlights(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/search?q=公交&zones=transport&size=1").get_json()
    assert body["total"] == 2 and body["pages"] == 2 and len(body["results"]) == 1
    first = body["results"][0]
    assert "<mark>公交</mark>" in first["highlight"]["title"]
    assert first["publisher"] == {"name": "qd-transport", "title": "青岛市交通运输局"}
    zones = {f["value"]: f for f in body["facets"]["zones"]}
    assert zones["transport"]["selected"] and zones["transport"]["label"]["zh"] == "交通专区"


def test_labels_and_comma_lists_are_accepted(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/search?open_type=有条件开放,无条件&domain=交通运输").get_json()
    assert body["total"] == 3


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("sort=best", {"sort"}),
        ("page=0&size=1000", {"page", "size"}),
        ("domain=港航", {"domain"}),
        ("modified_from=2025-13-01", {"modified_from"}),
        ("issued_from=2025-01-01&issued_to=2024-01-01", {"issued_to"}),
        ("order=up", {"order"}),
        ("page=99999&size=100", {"page"}),
        ("publisher=<script>", {"publisher"}),
    ],
)
def test_bad_parameters_get_a_400_naming_them(client, query: str, bad: set[str]) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["errors"]
    assert set(errors) == bad
    assert all(m["zh"] and m["en"] for messages in errors.values() for m in messages)


def test_the_api_never_shows_the_public_a_restricted_dataset(client) -> None:  # type: ignore[no-untyped-def]
    for url in ("/api/v1/search?q=低收入", "/api/v1/search?size=100", "/api/v1/suggest?q=低收"):
        assert "low-income" not in client.get(url).get_data(as_text=True)
    everything = client.get("/api/v1/search?size=100").get_json()
    assert everything["total"] == 12
    assert sum(f["count"] for f in everything["facets"]["publisher"]) == 12


def test_suggest(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/suggest?q=公交线").get_json()
    assert body["suggestions"][0] == {"name": "bus-lines", "title": "青岛市公交线路信息"}
    assert client.get("/api/v1/suggest?q=").get_json() == {"suggestions": []}
    assert client.get("/api/v1/suggest?q=" + "长" * 101).status_code == 400


def test_search_page_reflects_the_query_and_toggles_facets(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/search?q=公交&zones=transport").get_data(as_text=True)
    assert "<mark>公交</mark>" in page and "共 2 个结果" in page
    assert 'value="公交"' in page
    assert "☑ 交通专区" in page
    assert client.get("/search?sort=best").status_code == 400
