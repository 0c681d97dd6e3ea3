"""The Elasticsearch backend without a server: the request bodies it builds, and its index
versions, alias swaps and error handling against a small in-memory stand-in for the REST API
(plugged in as the client's node class). The conformance suite runs the real thing when
ES_URL is set."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

pytest.importorskip("elasticsearch")

from elastic_transport import ApiResponseMeta, BaseNode, HttpHeaders
from elastic_transport import ConnectionError as TransportConnectionError
from elasticsearch import Elasticsearch

from portal.search.analysis import analyzed
from portal.search.backends import elastic
from portal.search.backends.base import SearchUnavailable
from portal.search.documents import IndexDocument
from portal.search.query import (
    DATE_FIELDS,
    FACET_SIZE,
    FACETS,
    FILTERS,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    MOMENT_FIELDS,
    SYNONYM_WEIGHT,
    TEXT_FIELDS,
    TIEBREAK_FIELDS,
    DateRange,
    SearchQuery,
    Viewer,
)

CIVIL_OFFICER = Viewer("officer", "qd-civil-affairs")
AUTHORITY = Viewer("authority")
QUERIES = [
    SearchQuery(),
    SearchQuery(text="公交"),
    SearchQuery(text="水", viewer=CIVIL_OFFICER),
    SearchQuery(text="公交 线路", filters={"zones": ("transport",)}, viewer=AUTHORITY),
    SearchQuery(filters={"domain": ("transport",), "formats": ("csv", "api")}, sort="title"),
    SearchQuery(dates={"modified": DateRange(date(2025, 1, 1), None)}, page=500, size=3),
]


def walk(node: Any) -> list[dict[str, Any]]:
    """Every object in a request body."""
    if isinstance(node, dict):
        return [node, *(o for v in node.values() for o in walk(v))]
    if isinstance(node, list):
        return [o for v in node for o in walk(v)]
    return []


def document(**changes: Any) -> IndexDocument:
    data: dict[str, Any] = {
        "id": "d1",
        "name": "bus-lines",
        "title": "青岛市公交线路信息 API",
        "title_en": "Qingdao Bus Lines API",
        "description": "公交线路。ＧＤＰ",
        "keywords": ("公交", "线路"),
        "publisher": "qd-transport",
        "publisher_title": "青岛市交通运输局",
        "zones": ("transport",),
        "domain": "transport",
        "industry": "G",
        "grade": "general1",
        "open_type": "unconditional",
        "formats": ("csv", "api"),
        "update_frequency": None,
        "license": "cc-by-4.0",
        "basic_category": None,
        "share_type": "unconditional",
        "processing_level": None,
        "open_level": None,
        "capacity": "public",
        "issued": date(2021, 3, 1),
        "modified": None,
        "created_at": datetime(2021, 3, 1, 8, 0, 0, 250, tzinfo=UTC),
        "updated_at": datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        "popularity": 5,
        "quality_band": "good",
        "scopes": ("public", "org:qd-transport", "authority"),
        "stamp": "abc:2025",
    }
    data.update(changes)
    return IndexDocument(**data)


# -- the index --------------------------------------------------------------------------
def test_documents_hold_exactly_what_the_embedded_engine_indexes() -> None:
    tantivy = pytest.importorskip("portal.search.backends.tantivy")
    doc = document()
    source = elastic.to_source(doc)
    # Sort keys differ by design: tantivy's hold the tie-break (see tantivy.sort_key).
    embedded = {
        k: v for k, v in tantivy.to_tantivy(doc).to_dict().items() if not k.startswith("sort_")
    }
    as_lists = {k: v if isinstance(v, list) else [v] for k, v in source.items()}
    del as_lists["title_sort"], as_lists["tie_break"]  # in tantivy's sort keys
    assert as_lists == embedded
    assert source["title"] == analyzed(doc.title) == "青岛 岛市 市公 公交 交线 线路 路信 信息 api"
    assert "update_frequency" not in source and "modified" not in source
    assert source["issued"] == 20210301
    assert source["created_at"] == 1614585600_000250  # microseconds since 1970
    assert source["capacity"] == ["public"] and source["license"] == ["cc-by-4.0"]


def test_the_mapping_declares_every_field_and_analyzes_text_by_whitespace() -> None:
    body = elastic.index_body(cursor=7)
    mappings, settings = body["mappings"], body["settings"]
    properties = mappings["properties"]
    assert mappings["dynamic"] == "strict"
    assert mappings["_meta"] == {"cursor": 7, "schema": elastic.MAPPING_ID}
    assert set(elastic.to_source(document())) <= set(properties)
    for name in TEXT_FIELDS:
        assert properties[name] == {"type": "text", "analyzer": elastic.WHITESPACE}
    for name in (*FILTERS, "scopes", "title_sort", "stamp", "id"):
        assert properties[name]["type"] == "keyword"
    for name in DATE_FIELDS:
        assert properties[name]["type"] == "integer"
    for name in MOMENT_FIELDS:
        assert properties[name]["type"] == "long"
    analysis = settings["analysis"]
    assert analysis["analyzer"][elastic.WHITESPACE]["tokenizer"] == elastic.WHITESPACE
    assert analysis["tokenizer"][elastic.WHITESPACE]["type"] == "whitespace"
    assert settings["max_result_window"] >= MAX_OFFSET + MAX_PAGE_SIZE
    assert settings["number_of_shards"] == 1


# -- searches ---------------------------------------------------------------------------
@pytest.mark.parametrize("query", QUERIES)
def test_every_search_is_limited_to_the_viewer_s_scopes_inside_the_engine(query) -> None:  # type: ignore[no-untyped-def]
    body = elastic.search_body(query)
    assert {"terms": {"scopes": list(query.viewer.scopes)}} in body["query"]["bool"]["filter"]
    assert body["track_total_hits"] is True


def test_every_suggestion_is_limited_to_the_viewer_s_scopes() -> None:
    for text in ("养老服", "ap", "水", "公交"):
        for viewer in (Viewer(), CIVIL_OFFICER):
            body = elastic.suggest_body(text, viewer.scopes, 8)
            assert body is not None
            inner = body["query"]["function_score"]["query"]["bool"]
            assert inner["filter"] == [{"terms": {"scopes": list(viewer.scopes)}}]
            assert body["size"] == 8
    assert elastic.suggest_body("  。，", ("public",), 8) is None


def test_suggestions_match_the_title_as_typed() -> None:
    def match(text: str) -> dict[str, Any]:
        body = elastic.suggest_body(text, ("public",), 8)
        assert body is not None
        return body["query"]["function_score"]["query"]["bool"]["must"][0]

    assert match("养老服") == {
        "match_phrase_prefix": {"title": {"query": "养老 老服", "analyzer": elastic.WHITESPACE}}
    }
    assert match("AP") == {"prefix": {"title": {"value": "ap"}}}
    assert match("养老") == {"term": {"title": {"value": "养老"}}}
    assert match("水") == {"regexp": {"title": {"value": "水.?|.水"}}}


def test_selected_filters_go_to_the_post_filter_and_not_to_the_query() -> None:
    query = SearchQuery(
        text="公交", filters={"zones": ("transport", "port"), "keywords": ("公交",), "grade": ()}
    )
    body = elastic.search_body(query)
    assert body["post_filter"] == {
        "bool": {
            "filter": [
                {"terms": {"zones": ["transport", "port"]}},
                {"terms": {"keywords": ["公交"]}},
            ]
        }
    }
    in_query = [o for o in walk(body["query"]) if "terms" in o]
    assert in_query == [{"terms": {"scopes": ["public"]}}]
    assert "post_filter" not in elastic.search_body(SearchQuery(text="公交"))


def test_each_facet_counts_under_every_selected_filter_but_its_own() -> None:
    filters = {"domain": ("transport",), "zones": ("port",), "keywords": ("港口",)}
    body = elastic.search_body(SearchQuery(filters=filters))
    aggs = body["aggs"]
    assert set(aggs) == set(FACETS)
    for name, agg in aggs.items():
        assert agg["aggs"]["values"] == {"terms": {"field": name, "size": FACET_SIZE}}
        applied = {field for o in walk(agg["filter"]) if "terms" in o for field in o["terms"]}
        assert applied == set(filters) - {name}
    assert elastic.search_body(SearchQuery())["aggs"]["domain"]["filter"] == {"match_all": {}}


def test_a_lone_chinese_character_is_a_regexp_on_the_bigrams() -> None:
    body = elastic.search_body(SearchQuery(text="水"))
    regexps = [o["regexp"] for o in walk(body["query"]) if "regexp" in o]
    assert {field for r in regexps for field in r} == set(TEXT_FIELDS) | set(TIEBREAK_FIELDS)
    assert all(v["value"] == "水.?|.水" for r in regexps for v in r.values())
    assert elastic._regexp_escape("a.b") == "a\\.b"


def test_field_boosts_are_constant_scores_and_synonyms_weigh_less() -> None:
    body = elastic.search_body(SearchQuery(text="公交"))
    [clause] = body["query"]["bool"]["must"]
    assert clause["bool"]["minimum_should_match"] == 1
    constant = [o["constant_score"] for o in clause["bool"]["should"] if "constant_score" in o]
    typed = {
        field: c["boost"]
        for c in constant
        for field, term in c["filter"].get("term", {}).items()
        if term["value"] == "公交"
    }
    assert typed == TEXT_FIELDS
    synonym = [c for c in constant if "match_phrase" in c["filter"]]  # 公共汽车
    assert synonym and all(
        c["boost"] == pytest.approx(TEXT_FIELDS[f] * SYNONYM_WEIGHT)
        for c in synonym
        for f in c["filter"]["match_phrase"]
    )
    phrase = synonym[0]["filter"]["match_phrase"]
    assert next(iter(phrase.values())) == {
        "query": "公共 共汽 汽车",
        "analyzer": elastic.WHITESPACE,
    }
    tiebreak = [o for o in clause["bool"]["should"] if "constant_score" not in o]
    assert {(f, q["boost"]) for o in tiebreak if "term" in o for f, q in o["term"].items()} >= {
        (f, b) for f, b in TIEBREAK_FIELDS.items()
    }


def test_every_word_is_a_must_clause() -> None:
    body = elastic.search_body(SearchQuery(text="公交 线路"))
    assert len(body["query"]["bool"]["must"]) == 2
    assert "must" not in elastic.search_body(SearchQuery())["query"]["bool"]


def test_deep_pages() -> None:
    body = elastic.search_body(SearchQuery(page=500, size=3, sort="title"))
    assert (body["from_"], body["size"]) == (1497, 3)
    last = elastic.search_body(SearchQuery(page=MAX_OFFSET // 100 + 1, size=100))
    assert last["from_"] + last["size"] <= elastic.RESULT_WINDOW
    beyond = elastic.search_body(SearchQuery(page=10_000, size=100))
    assert beyond["from_"] + beyond["size"] <= elastic.RESULT_WINDOW and beyond["size"] == 0


@pytest.mark.parametrize(
    ("sort", "descending", "field", "order"),
    [
        ("modified", True, "modified", "desc"),
        ("issued", False, "issued", "asc"),
        ("title", False, "title_sort", "asc"),
        ("popularity", True, "popularity", "desc"),
    ],
)
def test_field_sorts_put_missing_values_last(sort, descending, field, order) -> None:  # type: ignore[no-untyped-def]
    body = elastic.search_body(SearchQuery(sort=sort, descending=descending))
    assert body["sort"] == [
        {field: {"order": order, "missing": "_last"}},
        {"tie_break": {"order": "asc"}},
        {"name": {"order": "asc"}},
    ]
    assert "track_scores" not in body


def test_relevance_sorts_by_score() -> None:
    body = elastic.search_body(SearchQuery(text="公交"))
    assert body["sort"][0] == {"_score": {"order": "desc"}} and body["track_scores"] is True


def test_date_ranges_are_inclusive_days() -> None:
    span = {
        "modified": DateRange(date(2025, 3, 1), date(2025, 4, 30)),
        "issued": DateRange(None, date(2020, 12, 31)),
        "ignored": DateRange(),
    }
    body = elastic.search_body(SearchQuery(dates=span))
    assert body["query"]["bool"]["filter"][1:] == [
        {"range": {"modified": {"gte": 20250301, "lte": 20250430}}},
        {"range": {"issued": {"lte": 20201231}}},
    ]


def test_results_are_parsed_into_hits_total_and_facets() -> None:
    response = {
        "hits": {"total": {"value": 42}, "hits": [{"_id": "a", "_score": 8.1}, {"_id": "b"}]},
        "aggregations": {
            "domain": {"doc_count": 42, "values": {"buckets": [{"key": "t", "doc_count": 40}]}}
        },
    }
    raw = elastic.parse_search(response, SearchQuery(text="x", facets=("domain",)))
    assert [(h.id, h.score) for h in raw.hits] == [("a", 8.1), ("b", None)]
    assert raw.total == 42 and raw.facets == {"domain": {"t": 40}}
    sorted_raw = elastic.parse_search(response, SearchQuery(sort="title", facets=()))
    assert [h.score for h in sorted_raw.hits] == [None, None] and sorted_raw.facets == {}


# -- versions ---------------------------------------------------------------------------
def test_versions_and_what_a_publish_drops() -> None:
    names = ["p-3", "p-10", "p-2", "p-x-5", "other-1", "p-30"]
    assert elastic.versions_of("p", names) == ["p-2", "p-3", "p-10", "p-30"]
    # p-10 published, p-3 was live: p-2 goes; p-30 (newer, maybe being built) stays
    assert elastic.obsolete("p", names, "p-10", ["p-3"]) == ["p-2"]
    assert elastic.publish_actions("p", "p-10") == [
        {"remove": {"index": "p-*", "alias": "p", "must_exist": False}},
        {"add": {"index": "p-10", "alias": "p"}},
    ]


# -- against an in-memory stand-in for the REST API -------------------------------------
class Response(NamedTuple):  # what a node answers the transport
    meta: ApiResponseMeta
    body: bytes


class FakeCluster:
    """Just enough of Elasticsearch's REST API for the backend's bookkeeping."""

    def __init__(self) -> None:
        self.indices: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.down = False
        self.refuse_removing_nothing = False  # as servers before 8.14 did
        self.search_response: dict[str, Any] = {"hits": {"total": {"value": 0}, "hits": []}}

    def client(self) -> Elasticsearch:
        cluster = self

        class Node(BaseNode):
            def perform_request(self, method, target, body=None, headers=None, **_):  # type: ignore[no-untyped-def]
                if cluster.down:
                    raise TransportConnectionError("connection refused")
                status, answer = cluster.handle(method, target, body)
                meta = ApiResponseMeta(
                    status=status,
                    http_version="1.1",
                    headers=HttpHeaders(
                        {"content-type": "application/json", "x-elastic-product": "Elasticsearch"}
                    ),
                    duration=0.0,
                    node=self.config,
                )
                return Response(meta, json.dumps(answer).encode())

        return Elasticsearch("http://es.invalid:9200", node_class=Node, max_retries=0)

    # -- helpers
    def holders(self, alias: str) -> list[str]:
        return sorted(n for n, i in self.indices.items() if alias in i["aliases"])

    def resolve(self, target: str) -> list[str]:
        names = []
        for part in target.split(","):
            if "*" in part:
                rx = re.compile(re.escape(part).replace(r"\*", ".*"))
                names += [n for n in self.indices if rx.fullmatch(n)]
            elif part in self.indices:
                names.append(part)
            else:
                names += self.holders(part)
        return names

    def missing(self, what: str) -> tuple[int, dict[str, Any]]:
        return 404, {"error": {"type": "index_not_found_exception", "reason": what}, "status": 404}

    def handle(self, method: str, target: str, raw: bytes | None) -> tuple[int, Any]:
        url = urlsplit(target)
        path, params = unquote(url.path), parse_qs(url.query)
        text = raw.decode() if raw else ""
        body: Any = None
        if path.endswith("/_bulk"):
            body = [json.loads(line) for line in text.splitlines() if line.strip()]
        elif text:
            body = json.loads(text)
        self.requests.append((method, path, params, body))
        parts = path.strip("/").split("/")
        endpoint = next((p[1:] for p in parts if p.startswith("_")), "index")
        route: Callable[..., tuple[int, Any]] | None = getattr(
            self, f"on_{method.lower()}_{endpoint}", None
        )
        if route is None:
            raise AssertionError(f"unexpected request {method} {path}")
        return route(parts, params, body)

    def on_put_index(self, parts, params, body):  # type: ignore[no-untyped-def]
        name = parts[0]
        if name in self.indices:
            error = {"type": "resource_already_exists_exception", "reason": name}
            return 400, {"error": error, "status": 400}
        meta = dict(body["mappings"].get("_meta", {}))
        self.indices[name] = {"aliases": set(), "meta": meta, "docs": {}, "visible": {}}
        return 200, {"acknowledged": True, "index": name}

    def on_delete_index(self, parts, params, body):  # type: ignore[no-untyped-def]
        names = parts[0].split(",")
        assert all("*" not in n for n in names), "destructive actions need names"
        for name in names:
            self.indices.pop(name, None)
        return 200, {"acknowledged": True}

    def on_get_alias(self, parts, params, body):  # type: ignore[no-untyped-def]
        if parts[0] == "_alias":  # GET /_alias/{name}
            found = self.holders(parts[1])
            if not found:
                return 404, {"error": f"alias [{parts[1]}] missing", "status": 404}
            return 200, {n: {"aliases": {parts[1]: {}}} for n in found}
        return 200, {
            n: {"aliases": {a: {} for a in self.indices[n]["aliases"]}}
            for n in self.resolve(parts[0])
        }

    def on_post_aliases(self, parts, params, body):  # type: ignore[no-untyped-def]
        for action in body["actions"]:
            ((kind, spec),) = action.items()
            held = [
                n
                for n in self.resolve(spec["index"])
                if spec["alias"] in self.indices[n]["aliases"]
            ]
            if kind == "remove" and not held and self.refuse_removing_nothing:
                error = {"type": "aliases_not_found_exception", "reason": "missing"}
                return 404, {"error": error, "status": 404}
        for action in body["actions"]:
            ((kind, spec),) = action.items()
            for name in self.resolve(spec["index"]):
                if kind == "add":
                    self.indices[name]["aliases"].add(spec["alias"])
                else:
                    self.indices[name]["aliases"].discard(spec["alias"])
        return 200, {"acknowledged": True}

    def on_get_mapping(self, parts, params, body):  # type: ignore[no-untyped-def]
        if parts[0] not in self.indices:
            return self.missing(parts[0])
        return 200, {parts[0]: {"mappings": {"_meta": self.indices[parts[0]]["meta"]}}}

    def on_put_mapping(self, parts, params, body):  # type: ignore[no-untyped-def]
        if parts[0] not in self.indices:
            return self.missing(parts[0])
        self.indices[parts[0]]["meta"] = body["_meta"]
        return 200, {"acknowledged": True}

    def on_post_refresh(self, parts, params, body):  # type: ignore[no-untyped-def]
        for name in self.resolve(parts[0]):
            self.indices[name]["visible"] = dict(self.indices[name]["docs"])
        return 200, {"_shards": {}}

    def on_put_bulk(self, parts, params, body):  # type: ignore[no-untyped-def]
        names = self.resolve(parts[0])
        if params.get("require_alias") == ["true"]:
            assert parts[0] not in self.indices, "the live writer writes through the alias"
        assert len(names) == 1
        docs = self.indices[names[0]]["docs"]
        items, lines = [], iter(body)
        for header in lines:
            ((kind, spec),) = header.items()
            if kind == "index":
                docs[spec["_id"]] = next(lines)
                items.append({kind: {"_id": spec["_id"], "status": 200}})
            else:
                status = 200 if docs.pop(spec["_id"], None) else 404
                items.append({kind: {"_id": spec["_id"], "status": status}})
        return 200, {"errors": False, "items": items}

    on_post_bulk = on_put_bulk

    def on_post_search(self, parts, params, body):  # type: ignore[no-untyped-def]
        if "pit" in body:  # stamps: pages of the visible documents in id order
            docs = sorted(self.indices[body["pit"]["id"]]["visible"].items())
            start = body.get("search_after", [0])[0]
            page = docs[start : start + body["size"]]
            hits = [
                {"_id": i, "_source": {"id": d["id"], "stamp": d["stamp"]}, "sort": [start + n + 1]}
                for n, (i, d) in enumerate(page)
            ]
            return 200, {"pit_id": body["pit"]["id"], "hits": {"hits": hits}}
        if not self.resolve(parts[0]):
            return self.missing(parts[0])
        return 200, self.search_response

    def on_post_count(self, parts, params, body):  # type: ignore[no-untyped-def]
        names = self.resolve(parts[0])
        if not names:
            return self.missing(parts[0])
        return 200, {"count": len(self.indices[names[0]]["visible"])}

    def on_post_pit(self, parts, params, body):  # type: ignore[no-untyped-def]
        names = self.resolve(parts[0])
        if not names:
            return self.missing(parts[0])
        return 200, {"id": names[0]}

    def on_delete_pit(self, parts, params, body):  # type: ignore[no-untyped-def]
        return 200, {"succeeded": True, "num_freed": 1}


@pytest.fixture
def cluster() -> FakeCluster:
    return FakeCluster()


@pytest.fixture
def backend(cluster: FakeCluster) -> elastic.ElasticBackend:
    return elastic.ElasticBackend([], alias="portal-test", client=cluster.client())


def test_the_first_live_writer_creates_and_publishes_an_empty_version(cluster, backend) -> None:  # type: ignore[no-untyped-def]
    writer = backend.live_writer()
    assert list(cluster.indices) == [writer.version]
    assert re.fullmatch(r"portal-test-\d+", writer.version)
    assert cluster.holders("portal-test") == [writer.version]
    assert writer.cursor == 0
    assert backend.count() == 0
    assert backend.live_writer() is writer


def test_writes_are_searchable_after_commit_which_stores_the_cursor(cluster, backend) -> None:  # type: ignore[no-untyped-def]
    writer = backend.live_writer()
    writer.upsert([document(id="a"), document(id="b")])
    assert backend.count() == 0  # not yet committed
    writer.delete(["b", "never-there"])
    writer.commit(12)
    assert backend.count() == 1 and writer.cursor == 12
    assert cluster.indices[writer.version]["meta"] == elastic.meta(12)
    assert cluster.indices[writer.version]["visible"]["a"] == elastic.to_source(document(id="a"))
    assert list(backend.stamps()) == [("a", "abc:2025")]
    assert cluster.requests[-1][:2] == ("DELETE", "/_pit")


def test_a_live_version_of_another_mapping_is_replaced_and_refilled_from_the_start(  # type: ignore[no-untyped-def]
    cluster, backend
) -> None:
    old = backend.live_writer()
    old.upsert([document(id="a")])
    old.commit(40)
    cluster.indices[old.version]["meta"] = {"cursor": 40}  # written by an older release
    with pytest.raises(SearchUnavailable):  # not taken for the live index
        backend.live_cursor()
    writer = backend.live_writer()
    assert writer.version != old.version and writer.cursor == 0  # every event replayed
    assert cluster.holders("portal-test") == [writer.version]


def test_stamps_page_through_a_point_in_time(cluster, backend, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(elastic, "STAMPS_PAGE", 2)
    writer = backend.live_writer()
    writer.upsert([document(id=f"d{i}", stamp=f"s{i}") for i in range(5)])
    writer.commit(1)
    assert sorted(backend.stamps()) == [(f"d{i}", f"s{i}") for i in range(5)]
    pages = [r for r in cluster.requests if r[1] == "/_search"]
    assert len(pages) == 3 and all(r[3]["sort"] == [{"_shard_doc": "asc"}] for r in pages)


def test_publish_swaps_the_alias_in_one_request_and_keeps_the_previous_version(  # type: ignore[no-untyped-def]
    cluster, backend
) -> None:
    first = backend.live_writer().version
    versions = []
    for cursor in (5, 6, 7):
        writer = backend.new_version(cursor)
        writer.add([document()])
        writer.commit(cursor)
        assert cluster.holders("portal-test") != [writer.version]  # not live before publish
        writer.publish()
        writer.close()
        versions.append(writer.version)
        swap = [r for r in cluster.requests if r[1] == "/_aliases"][-1]
        assert swap[3]["actions"] == elastic.publish_actions("portal-test", writer.version)
        assert cluster.holders("portal-test") == [writer.version]
    assert sorted(cluster.indices) == versions[-2:]  # the live one and the one before it
    assert first not in cluster.indices
    live = backend.live_writer()
    assert live.version == versions[-1] and live.cursor == 7


def test_the_first_publish_works_where_removing_a_missing_alias_is_refused(
    cluster, backend
) -> None:  # type: ignore[no-untyped-def]
    cluster.refuse_removing_nothing = True
    writer = backend.live_writer()
    assert cluster.holders("portal-test") == [writer.version]
    fresh = backend.new_version(1)
    fresh.publish()
    assert cluster.holders("portal-test") == [fresh.version]


def test_a_version_on_two_holders_is_repaired_to_the_newest(cluster, backend) -> None:  # type: ignore[no-untyped-def]
    old = backend.new_version(0).version
    new = backend.new_version(0).version
    for name in (old, new):  # as two first starts racing might leave it
        cluster.indices[name]["aliases"].add("portal-test")
    assert backend.live_writer().version == new
    assert cluster.holders("portal-test") == [new]


def test_search_and_suggest_send_the_built_bodies_to_the_alias(cluster, backend) -> None:  # type: ignore[no-untyped-def]
    backend.live_writer()
    cluster.search_response = {
        "hits": {"total": {"value": 1}, "hits": [{"_id": "a", "_score": 8.0}]},
        "aggregations": {"zones": {"values": {"buckets": [{"key": "port", "doc_count": 1}]}}},
    }
    query = SearchQuery(text="港口", filters={"zones": ("port",)}, facets=("zones",), page=2)
    raw = backend.search(query)
    method, path, _, body = cluster.requests[-1]
    assert (method, path) == ("POST", "/portal-test/_search")
    expected = elastic.search_body(query)
    expected["from"] = expected.pop("from_")
    expected["_source"] = expected.pop("source")
    assert body == expected
    assert raw.total == 1 and raw.hits[0].id == "a" and raw.facets == {"zones": {"port": 1}}
    assert backend.suggest("港口", ("public",), 5) == ["a"]
    assert cluster.requests[-1][3]["query"]["function_score"]["query"]["bool"]["filter"] == [
        {"terms": {"scopes": ["public"]}}
    ]
    count = len(cluster.requests)
    assert backend.suggest("", ("public",), 5) == [] and len(cluster.requests) == count


def test_no_alias_or_no_server_is_search_unavailable(cluster, backend) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SearchUnavailable, match="portal reindex"):
        backend.search(SearchQuery())
    with pytest.raises(SearchUnavailable, match="portal-test"):
        backend.count()
    cluster.down = True
    for call in (lambda: backend.search(SearchQuery()), backend.live_writer, backend.count):
        with pytest.raises(SearchUnavailable, match="unavailable"):
            call()


def test_the_password_in_the_url_stays_out_of_messages(cluster) -> None:  # type: ignore[no-untyped-def]
    backend = elastic.ElasticBackend(
        ["https://elastic:s3cret@es01:9200"], alias="portal-test", client=cluster.client()
    )
    cluster.down = True
    with pytest.raises(SearchUnavailable) as caught:
        backend.count()
    assert "s3cret" not in str(caught.value) and "https://es01:9200" in str(caught.value)


def test_destroy_deletes_every_version_and_close_keeps_the_backend_usable(cluster, backend) -> None:  # type: ignore[no-untyped-def]
    backend.live_writer()
    backend.new_version(3)
    cluster.indices["portal-test-other-1"] = {"aliases": set(), "meta": {}, "docs": {}}
    backend.close()  # an injected client is the caller's to close
    backend.destroy()
    assert list(cluster.indices) == ["portal-test-other-1"]
    assert cluster.holders("portal-test") == []


def test_the_client_is_made_from_the_settings_and_remade_after_close() -> None:
    backend = elastic.ElasticBackend(
        ["https://elastic:pw@es01:9200", " https://es02:9200 "], alias="a", ca_certs=None
    )
    client = backend.client
    nodes = sorted(n.base_url for n in client.transport.node_pool.all())
    assert nodes == ["https://es01:9200", "https://es02:9200"]
    backend.close()
    assert backend.client is not client
    backend.close()
