"""The search conformance suite: the same behaviour from every backend."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask

from portal.catalog import Catalog
from portal.search import PUBLIC, SearchQuery, Viewer, search, suggest
from portal.search.query import DateRange
from portal.services import database, indexer, policy, search_backend

AUTHORITY = Viewer("authority")
CIVIL_OFFICER = Viewer("officer", "qd-civil-affairs")
TRANSPORT_OFFICER = Viewer("officer", "qd-transport")


def find(app: Flask, text: str = "", viewer: Viewer = PUBLIC, **options: Any):  # type: ignore[no-untyped-def]
    with database(app).sessions() as session:
        return search(
            search_backend(app), session, SearchQuery(text=text, viewer=viewer, **options)
        )


def names(app: Flask, text: str = "", **options: Any) -> list[str]:
    return [item.name for item in find(app, text, **options).items]


def change(app: Flask, action) -> None:  # type: ignore[no-untyped-def]
    with database(app).transaction() as session:
        action(Catalog(session, "test", policy(app)).datasets)
    indexer(app).drain()


# -- Chinese text ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("公交", {"bus-lines", "bus-stops"}),
        ("养老", {"elderly-care-institutions", "elderly-service-and-management"}),
        ("水质", {"water-quality"}),
        ("公交线路", {"bus-lines"}),
        ("交通运输局", {"bus-lines", "bus-stops", "metro-flow", "port-berths"}),
    ],
)
def test_two_character_and_longer_queries_find_every_match(search_app, text, expected) -> None:  # type: ignore[no-untyped-def]
    assert set(names(search_app, text)) == expected


def test_query_words_are_phrases(search_app) -> None:  # type: ignore[no-untyped-def]
    # 养老服务与机构管理 holds 服务 and 机构 but not 服务机构
    assert names(search_app, "服务机构") == ["elderly-care-institutions"]


def test_every_word_must_match(search_app) -> None:  # type: ignore[no-untyped-def]
    assert names(search_app, "公交 线路") == ["bus-lines"]
    assert names(search_app, "公交 地铁") == []


def test_a_single_chinese_character_finds_words_containing_it(search_app) -> None:  # type: ignore[no-untyped-def]
    assert "water-quality" in names(search_app, "水")


def test_latin_words_are_case_and_width_insensitive(search_app) -> None:  # type: ignore[no-untyped-def]
    assert names(search_app, "api") == ["open-api-catalog"]
    assert names(search_app, "ＧＤＰ") == ["open-api-catalog"]


def test_english_titles_are_searched(search_app) -> None:  # type: ignore[no-untyped-def]
    assert set(names(search_app, "bus")) == {"bus-lines", "bus-stops"}
    assert names(search_app, "Bus STOP") == ["bus-stops"]
    assert names(search_app, "elderly care") == ["elderly-care-institutions"]
    assert names(search_app, "qingdao bus") == ["bus-lines"]


@pytest.mark.parametrize(
    ("text", "found"), [("公共汽车", "bus-lines"), ("老年", "elderly-care-institutions")]
)
def test_synonyms_from_the_data_file(search_app, text: str, found: str) -> None:  # type: ignore[no-untyped-def]
    assert found in names(search_app, text)


def test_ranking_title_then_keywords_then_publisher_then_description(search_app) -> None:  # type: ignore[no-untyped-def]
    assert names(search_app, "潮汐") == [
        "tide-title",
        "tide-keywords",
        "tide-publisher",
        "tide-description",
    ]


def test_typed_words_outrank_their_synonyms(search_app) -> None:  # type: ignore[no-untyped-def]
    assert names(search_app, "公交")[:2] == ["bus-lines", "bus-stops"] or set(
        names(search_app, "公交")[:2]
    ) == {"bus-lines", "bus-stops"}


def test_highlights_mark_the_words_and_escape_the_rest(search_app) -> None:  # type: ignore[no-untyped-def]
    [item] = find(search_app, "公交线路").items
    assert str(item.title_html) == "青岛市<mark>公交线路</mark>信息"
    change(
        search_app,
        lambda ds: ds.update("bus-stops", {**ds.document("bus-stops"), "title": "公交<b>站点</b>"}),
    )
    [item] = find(search_app, "站点").items
    assert "&lt;b&gt;" in str(item.title_html) and "<b>" not in str(item.title_html)


# -- filters, dates, sorting, paging -----------------------------------------------------
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"zones": ("transport",)}, {"bus-lines", "bus-stops", "metro-flow"}),
        ({"zones": ("transport", "port")}, {"bus-lines", "bus-stops", "metro-flow", "port-berths"}),
        ({"domain": ("environment",), "formats": ("json",)}, {"water-quality"}),
        ({"open_type": ("conditional",)}, {"metro-flow"}),
        ({"grade": ("core",)}, {"port-berths"}),
        ({"publisher": ("qd-tidal",)}, {"tide-publisher"}),
        ({"keywords": ("潮汐",)}, {"tide-keywords"}),
        ({"industry": ("Q",)}, {"elderly-care-institutions", "elderly-service-and-management"}),
        ({"update_frequency": ("monthly",)}, {"metro-flow"}),
        ({"zones": ("transport",), "open_type": ("unconditional",)}, {"bus-lines", "bus-stops"}),
    ],
)
def test_filters_or_within_and_across(search_app, filters, expected) -> None:  # type: ignore[no-untyped-def]
    assert set(names(search_app, filters=filters)) == expected


def test_date_ranges(search_app) -> None:  # type: ignore[no-untyped-def]
    span = {"modified": DateRange(date(2025, 3, 1), date(2025, 4, 30))}
    assert set(names(search_app, dates=span)) == {"metro-flow", "bus-stops"}
    assert set(names(search_app, dates={"issued": DateRange(None, date(2020, 12, 31))})) == {
        "elderly-care-institutions"
    }


def test_sorts(search_app) -> None:  # type: ignore[no-untyped-def]
    transport = {"zones": ("transport",)}
    assert names(search_app, filters=transport, sort="modified") == [
        "bus-lines",
        "bus-stops",
        "metro-flow",
    ]
    assert names(search_app, filters=transport, sort="issued", descending=False) == [
        "bus-lines",
        "bus-stops",
        "metro-flow",
    ]
    titles = [
        i.title for i in find(search_app, filters=transport, sort="title", descending=False).items
    ]
    assert titles == sorted(titles)


def test_popularity_sort(search_app) -> None:  # type: ignore[no-untyped-def]
    from portal.models import Dataset

    with database(search_app).transaction() as session:
        for name, views in (("bus-stops", 50), ("metro-flow", 7)):
            row = session.query(Dataset).filter_by(name=name).one()
            row.popularity = views
    indexer(search_app).reindex()
    assert names(search_app, filters={"zones": ("transport",)}, sort="popularity")[:2] == [
        "bus-stops",
        "metro-flow",
    ]


def test_pages_are_disjoint_and_complete_even_deep(search_app) -> None:  # type: ignore[no-untyped-def]
    everything = names(search_app, size=100, sort="title", descending=False)
    pages = [names(search_app, size=3, page=p, sort="title", descending=False) for p in range(1, 6)]
    assert [n for page in pages for n in page] == everything
    far = find(search_app, size=3, page=500)
    assert far.items == [] and far.total == len(everything)


# -- facets ------------------------------------------------------------------------------
def facet(result, name: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {f.value: f.count for f in result.facets[name]}


def test_facet_counts_exclude_their_own_selection(search_app) -> None:  # type: ignore[no-untyped-def]
    result = find(search_app, filters={"domain": ("transport",)})
    assert facet(result, "domain")["social-assistance"] == 2  # low-income is not public
    assert facet(result, "domain")["transport"] == 4
    assert facet(result, "zones") == {"transport": 3, "port": 1}  # narrowed by the domain
    selected = [f.value for f in result.facets["domain"] if f.selected]
    assert selected == ["transport"]
    assert result.total == 4


def test_facets_follow_the_text_query(search_app) -> None:  # type: ignore[no-untyped-def]
    result = find(search_app, "公交")
    assert facet(result, "publisher") == {"qd-transport": 2}
    labels = {f.value: f.label for f in result.facets["publisher"]}
    assert labels["qd-transport"]["zh"] == "青岛市交通运输局"


# -- suggestions -------------------------------------------------------------------------
def test_suggestions_as_you_type(search_app) -> None:  # type: ignore[no-untyped-def]
    def titles(text: str, viewer: Viewer = PUBLIC) -> list[str]:
        with database(search_app).sessions() as session:
            return [s["title"] for s in suggest(search_backend(search_app), session, text, viewer)]

    assert "养老服务机构名录" in titles("养老服")
    assert "开放API目录" in titles("ap")
    assert titles("低收入") == []
    assert titles("低收入", CIVIL_OFFICER) == ["低收入人口动态监测"]


# -- visibility --------------------------------------------------------------------------
def test_the_public_never_sees_a_restricted_dataset(search_app) -> None:  # type: ignore[no-untyped-def]
    for text in ("", "低收入", "人口", "监测", "救助"):
        result = find(search_app, text, size=100)
        assert "low-income" not in [i.name for i in result.items]
        assert all("low-income" not in i.name for i in result.items)
    everything = find(search_app, size=100)
    assert everything.total == len(everything.items) == 12
    assert facet(everything, "industry").get("S") is None  # low-income's industry
    assert sum(facet(everything, "publisher").values()) == 12
    assert find(search_app, "低收入").total == 0
    # a closed dataset whose department made its entry public is listed
    assert "port-berths" in names(search_app, "港口")


def test_officers_see_their_own_department_and_the_authority_sees_all(search_app) -> None:  # type: ignore[no-untyped-def]
    assert names(search_app, "低收入", viewer=CIVIL_OFFICER) == ["low-income"]
    assert names(search_app, "低收入", viewer=TRANSPORT_OFFICER) == []
    assert names(search_app, "低收入", viewer=AUTHORITY) == ["low-income"]
    assert find(search_app, viewer=AUTHORITY, size=100).total == 13


def test_visibility_follows_the_department_s_choice(search_app) -> None:  # type: ignore[no-untyped-def]
    change(
        search_app,
        lambda ds: ds.update("low-income", {**ds.document("low-income"), "metadata_public": True}),
    )
    assert names(search_app, "低收入") == ["low-income"]


# -- the index follows the database -----------------------------------------------------
def test_writes_reach_the_index_through_the_outbox(search_app) -> None:  # type: ignore[no-untyped-def]
    renamed = {"title": "近岸海域水质监测", "description": "近岸海域的水质。"}
    change(
        search_app,
        lambda ds: ds.update("water-quality", {**ds.document("water-quality"), **renamed}),
    )
    assert names(search_app, "近岸") == ["water-quality"]
    assert names(search_app, "地表") == []
    change(search_app, lambda ds: ds.withdraw("water-quality"))
    assert names(search_app, "水质") == []
    change(search_app, lambda ds: ds.restore("water-quality"))
    assert names(search_app, "水质") == ["water-quality"]


def test_a_restart_between_write_and_index_loses_nothing(search_app) -> None:  # type: ignore[no-untyped-def]
    with database(search_app).transaction() as session:
        Catalog(session, "test", policy(search_app)).datasets.create(
            {
                "name": "ferry",
                "title": "轮渡航线",
                "description": "轮渡。",
                "publisher": "qd-transport",
                "domain": "transport",
                "open_type": "unconditional",
                "grade": "general1",
            }
        )
    assert names(search_app, "轮渡") == []  # not drained yet: the event waits in the outbox
    assert indexer(search_app).pending() == 1
    search_backend(search_app).close()  # as if the process stopped
    assert indexer(search_app).drain() == 1
    assert names(search_app, "轮渡") == ["ferry"]
    assert indexer(search_app).drain() == 0


def test_reindex_rebuilds_the_same_answers_and_doctor_is_clean(search_app) -> None:  # type: ignore[no-untyped-def]
    def answers() -> dict[str, list[str]]:
        return {
            text: names(search_app, text, sort="title", descending=False)
            for text in ("公交", "养老", "潮汐", "")
        }

    before = answers()
    assert indexer(search_app).reindex() == 13
    assert answers() == before
    report = indexer(search_app).doctor()
    assert report.clean and report.indexed == 13 and report.pending == 0


def test_doctor_finds_missing_stale_and_orphaned_documents(search_app) -> None:  # type: ignore[no-untyped-def]
    from portal.models import Dataset
    from portal.search.documents import index_document

    writer = search_backend(search_app).live_writer()
    with database(search_app).sessions() as session:
        row = session.query(Dataset).filter_by(name="bus-lines").one()
        stale = index_document(row)
    writer.delete([session_id("water-quality", search_app)])
    writer.upsert([type(stale)(**{**stale.__dict__, "stamp": "old"})])
    writer.upsert([type(stale)(**{**stale.__dict__, "id": "gone", "stamp": "x"})])
    writer.commit(writer.cursor)
    report = indexer(search_app).doctor()
    assert report.missing == [session_id("water-quality", search_app)]
    assert report.stale == [stale.id] and report.orphaned == ["gone"]
    indexer(search_app).reindex()
    assert indexer(search_app).doctor().clean


def session_id(name: str, app: Flask) -> str:
    from portal.models import Dataset

    with database(app).sessions() as session:
        return session.query(Dataset).filter_by(name=name).one().id


# -- quality -----------------------------------------------------------------------------
def test_quality_bands_are_a_facet_and_a_filter(search_app) -> None:  # type: ignore[no-untyped-def]
    from portal.models import Dataset
    from schemas.quality import band

    with database(search_app).sessions() as session:
        bands = {
            row.name: band(row.quality_score)
            for row in session.query(Dataset).filter(Dataset.metadata_public.is_(True))
        }
    everything = find(search_app, size=100)
    assert facet(everything, "quality_band") == {
        b: list(bands.values()).count(b) for b in set(bands.values())
    }
    some = next(iter(set(bands.values())))
    expected = {name for name, b in bands.items() if b == some}
    assert set(names(search_app, filters={"quality_band": (some,)}, size=100)) == expected


def test_better_described_datasets_rank_first_among_equals(search_app) -> None:  # type: ignore[no-untyped-def]
    rich = {
        "keywords": [],
        "license": "CC-BY-4.0",
        "record_count": 10,
        "processing_level": "raw",
        "resources": [
            {
                "name": "CSV",
                "kind": "file",
                "format": "csv",
                "url": "https://a.cn/x.csv",
                "size": 10,
            }
        ],
    }
    change(
        search_app,
        lambda ds: ds.create(
            {
                "name": "reef-a",
                "title": "珊瑚礁调查",
                "description": "调查。",
                "publisher": "qd-ecology",
                "domain": "environment",
                "open_type": "unconditional",
                "grade": "general1",
            }
        ),
    )
    change(
        search_app,
        lambda ds: ds.create(
            {
                "name": "reef-b",
                "title": "珊瑚礁调查",
                "description": "调查。",
                "publisher": "qd-ecology",
                "domain": "environment",
                "industry": "N",
                "basic_category": "place",
                "open_type": "unconditional",
                "grade": "general1",
                "update_frequency": "annual",
                "formats": ["csv"],
                "issued": "2024-01-01",
                "modified": "2024-02-01",
                "contact_email": "a@b.cn",
                **rich,
            }
        ),
    )
    assert names(search_app, "珊瑚礁") == ["reef-b", "reef-a"]
