"""Elasticsearch behind the same interface as the embedded engine (official client, 9.x).

The issue asks for Elasticsearch's `cjk` analysis scheme. `analysis.tokens` reproduces it in
Python (CJK bigrams, lone CJK characters, lowercase NFKC-folded words), and both backends
index its output, joined by spaces, with a whitespace tokenizer: the terms are then the same
bit for bit in tantivy and in Elasticsearch, which the engine's own `cjk` analyzer (the
standard tokenizer, English stop words) would not guarantee. Queries are
analyzed the same way (`query.clauses`): a phrase becomes `match_phrase` of its space-joined
tokens, one token a `term` query, one lone CJK character a `regexp` for any piece that
starts or ends with it.

Index versions are indices named `<alias>-<time_ns>`; the alias names the live one.
A version's outbox cursor is kept in its mapping's `_meta`. Writes are searchable only
after `commit` (the index refreshes on commit, not on a timer), as in tantivy. Several
processes may write at once (there is no single-writer lock, so `WriterBusy` is never
raised): re-applying catalog events is harmless.

The request bodies are built by the pure functions below (tested without a server).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from elastic_transport import TransportError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    NotFoundError,
    helpers,
)

from ..analysis import analyzed, tokens
from ..documents import IndexDocument, range_number, tie_break
from ..query import (
    FILTERS,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    MOMENT_FIELDS,
    QUALITY_BOOSTS,
    RANGE_FIELDS,
    SORT_VALUES,
    TEXT_FIELDS,
    TEXT_SORTS,
    TIEBREAK_FIELDS,
    Clause,
    Phrase,
    SearchQuery,
    clauses,
)
from .base import Hit, RawResult, SearchUnavailable

WHITESPACE = "portal_whitespace"
# Terms longer than this would be split; Lucene refuses terms over 32766 bytes, and every
# token longer than two characters is ASCII ([0-9a-z]+), so this keeps each token whole.
MAX_TOKEN_LENGTH = 32766
RESULT_WINDOW = MAX_OFFSET + MAX_PAGE_SIZE
STAMPS_PAGE = 1000
PIT_KEEP_ALIVE = "2m"
_LUCENE_REGEXP_SPECIAL = set('.?+*|{}[]()"\\#@&<>~')

Body = dict[str, Any]


# -- documents and the index ------------------------------------------------------------
def _properties() -> Body:
    text = {"type": "text", "analyzer": WHITESPACE}
    keyword = {"type": "keyword"}
    properties: Body = {"id": keyword, "stamp": keyword, "scopes": keyword}
    properties.update({name: text for name in TEXT_FIELDS})
    properties.update({name: keyword for name in FILTERS})
    properties["title_sort"] = keyword
    for name in RANGE_FIELDS:  # yyyymmdd, or microseconds since 1970
        properties[name] = {"type": "long" if name in MOMENT_FIELDS else "integer"}
    properties["popularity"] = {"type": "long"}
    properties["tie_break"] = {"type": "integer"}  # documents.tie_break: equal values' order
    return properties


def _settings() -> Body:
    return {
        "number_of_shards": 1,  # exact facet counts and one BM25 statistic, as tantivy
        "auto_expand_replicas": "0-1",
        "refresh_interval": "-1",  # searchable on commit only
        "max_result_window": RESULT_WINDOW,
        "analysis": {
            "tokenizer": {WHITESPACE: {"type": "whitespace", "max_token_length": MAX_TOKEN_LENGTH}},
            "analyzer": {WHITESPACE: {"type": "custom", "tokenizer": WHITESPACE}},
        },
    }


# Names the mapping a version was built with (kept in its `_meta`): a live version of
# another mapping, written by an older release, is replaced by a new one and refilled
# from the outbox, as tantivy's SCHEMA_ID does.
MAPPING_ID = hashlib.sha1(repr((_properties(), _settings())).encode()).hexdigest()[:12]


def index_body(cursor: int) -> Body:
    """Settings and mappings of a new version (`indices.create(**index_body(cursor))`)."""
    return {
        "settings": _settings(),
        "mappings": {"dynamic": "strict", "_meta": meta(cursor), "properties": _properties()},
    }


def meta(cursor: int) -> Body:
    return {"cursor": cursor, "schema": MAPPING_ID}


def to_source(doc: IndexDocument) -> Body:
    """The indexed document: the same fields and values as `tantivy.to_tantivy`."""
    source: Body = {
        "id": doc.id,
        "stamp": doc.stamp,
        "title": analyzed(doc.title),
        "title_en": analyzed(doc.title_en),
        "description": analyzed(doc.description),
        "keywords_text": analyzed(" ".join(doc.keywords)),
        "publisher_title": analyzed(doc.publisher_title),
        "title_sort": doc.title,
        "scopes": list(doc.scopes),
        "popularity": doc.popularity,
        "tie_break": tie_break(doc.name),
    }
    for name in FILTERS:
        values = doc.keyword_values(name)
        if values:
            source[name] = list(values)
    for name in RANGE_FIELDS:
        number = range_number(name, getattr(doc, name))
        if number is not None:
            source[name] = number
    return source


# -- queries ----------------------------------------------------------------------------
def _regexp_escape(text: str) -> str:
    return "".join("\\" + c if c in _LUCENE_REGEXP_SPECIAL else c for c in text)


def phrase_query(field: str, phrase: Phrase, boost: float | None = None) -> Body:
    """The tokens next to each other in `field`, as `tantivy._phrase_query`."""
    extra = {} if boost is None else {"boost": boost}
    if phrase.lone:  # one CJK character: any bigram that starts or ends with it
        char = _regexp_escape(phrase.lone)
        return {"regexp": {field: {"value": f"{char}.?|.{char}", **extra}}}
    if len(phrase.tokens) == 1:
        return {"term": {field: {"value": phrase.tokens[0], **extra}}}
    query = {"query": " ".join(phrase.tokens), "analyzer": WHITESPACE, **extra}
    return {"match_phrase": {field: query}}


def text_query(parts: tuple[Clause, ...]) -> list[Body]:
    """One bool per word, all of which must match: a fixed score per field the word (or a
    synonym's phrase, weighted down) matches in, plus a little BM25 to break ties."""
    musts = []
    for clause in parts:
        should = [
            {
                "constant_score": {
                    "filter": phrase_query(field, phrase),
                    "boost": boost * phrase.weight,
                }
            }
            for phrase in clause.phrases
            for field, boost in TEXT_FIELDS.items()
        ]
        should += [
            phrase_query(field, phrase, boost * phrase.weight)
            for phrase in clause.phrases
            for field, boost in TIEBREAK_FIELDS.items()
        ]
        musts.append({"bool": {"should": should, "minimum_should_match": 1}})
    return musts


def terms_filter(field: str, values: Iterable[str]) -> Body:
    return {"terms": {field: list(values)}}


def scope_filter(scopes: Iterable[str]) -> Body:
    """Visibility, applied inside the engine: nothing outside the viewer's scopes is counted."""
    return terms_filter("scopes", scopes)


def date_filters(query: SearchQuery) -> list[Body]:
    out = []
    for name, span in query.dates.items():
        if span.start or span.end:
            bounds = {"gte": range_number(name, span.start), "lte": range_number(name, span.end)}
            out.append({"range": {name: {k: v for k, v in bounds.items() if v is not None}}})
    return out


def selected_filters(query: SearchQuery) -> dict[str, Body]:
    """The chosen facet values: OR within a field, AND across fields."""
    return {name: terms_filter(name, values) for name, values in query.filters.items() if values}


def _all(filters: list[Body]) -> Body:
    return {"bool": {"filter": filters}} if filters else {"match_all": {}}


def facet_aggs(query: SearchQuery, filters: Mapping[str, Body]) -> Body:
    """Multi-select facets: each counts under every selected filter but its own."""
    aggs = {}
    for name in query.facets:
        others = [f for field, f in filters.items() if field != name]
        aggs[name] = {
            "filter": _all(others),
            "aggs": {"values": {"terms": {"field": name, "size": query.facet_limit}}},
        }
    return aggs


# The index field each sort orders by (the title as a whole, not its analyzed pieces).
SORT_FIELDS = {name: "title_sort" if name == "title" else name for name in SORT_VALUES}


def sort_spec(query: SearchQuery) -> list[Body]:
    """Relevance or a field (datasets without the field last), then the tie-break and the
    name for stable pages, as tantivy's sort keys order them."""
    if query.sort == "relevance":
        return [{"_score": {"order": "desc"}}, {"name": {"order": "asc"}}]
    order = "desc" if query.descending else "asc"
    # tantivy reads a text sort's one key backwards for `desc`: its ties too
    then = order if query.sort in TEXT_SORTS else "asc"
    return [
        {SORT_FIELDS[query.sort]: {"order": order, "missing": "_last"}},
        {"tie_break": {"order": then}},
        {"name": {"order": then}},
    ]


def quality_boosts() -> list[Body]:
    """The same small lift per quality band as the embedded engine gives."""
    return [
        {"constant_score": {"filter": {"term": {"quality_band": band}}, "boost": boost}}
        for band, boost in QUALITY_BOOSTS.items()
    ]


def search_body(query: SearchQuery) -> Body:
    """Keyword arguments of `Elasticsearch.search` for `query`, in one request: scope, text
    and dates in `query` (so facets count them), the selected filters in `post_filter`."""
    must = text_query(clauses(query.text))
    more = [terms_filter(name, values) for name, values in query.more_filters]
    main: Body = {"filter": [scope_filter(query.viewer.scopes), *date_filters(query), *more]}
    if must:
        main["must"] = must
        if query.sort == "relevance":
            main["should"] = quality_boosts()
    filters = selected_filters(query)
    if not query.multi_select:  # every facet counts the result: filter before counting
        main["filter"] += list(filters.values())
        filters = {}
    size = max(query.size, 1)
    offset = min(query.offset, RESULT_WINDOW)
    size = min(size, RESULT_WINDOW - offset)  # beyond the window: the total, no hits
    body: Body = {
        "query": {"bool": main},
        "sort": sort_spec(query),
        "from_": offset,
        "size": size,
        "track_total_hits": True,
        "source": False,
    }
    if query.sort == "relevance":
        body["track_scores"] = True
    if filters:
        body["post_filter"] = _all(list(filters.values()))
    aggs = facet_aggs(query, filters)
    if aggs:
        body["aggs"] = aggs
    return body


def parse_search(response: Mapping[str, Any], query: SearchQuery) -> RawResult:
    relevance = query.sort == "relevance"
    hits = [
        Hit(hit["_id"], hit.get("_score") if relevance else None)
        for hit in response["hits"]["hits"]
    ]
    aggregations = response.get("aggregations", {})
    facets = {
        name: {b["key"]: b["doc_count"] for b in aggregations[name]["values"]["buckets"]}
        for name in query.facets
        if name in aggregations
    }
    return RawResult(hits, response["hits"]["total"]["value"], facets)


def suggest_body(text: str, scopes: tuple[str, ...], limit: int) -> Body | None:
    """Titles matching what has been typed so far (the last word as a prefix), in the
    viewer's scopes, the more popular first (tantivy weighs by log2(popularity + 2);
    `log2p` is log10(popularity + 2), the same order). None: nothing to look for."""
    parts = tokens(text)
    if not parts:
        return None
    if len(parts) == 1 and not re.fullmatch(r"[0-9a-z]+", parts[0]):
        match = phrase_query("title", Phrase(tuple(parts)))
    elif len(parts) > 1:
        query = {"query": " ".join(parts), "analyzer": WHITESPACE}
        match = {"match_phrase_prefix": {"title": query}}
    else:
        match = {"prefix": {"title": {"value": parts[0]}}}
    return {
        "query": {
            "function_score": {
                "query": {"bool": {"filter": [scope_filter(scopes)], "must": [match]}},
                "field_value_factor": {"field": "popularity", "modifier": "log2p", "missing": 0},
                "boost_mode": "multiply",
            }
        },
        "sort": [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}],
        "size": max(limit, 0),
        "source": False,
    }


# -- versions ---------------------------------------------------------------------------
def version_name(alias: str) -> str:
    return f"{alias}-{time.time_ns()}"


def versions_of(alias: str, names: Iterable[str]) -> list[str]:
    """This alias's versions among index names, oldest first."""
    pattern = re.compile(re.escape(alias) + r"-(\d+)")
    found = [n for n in names if pattern.fullmatch(n)]
    return sorted(found, key=lambda n: int(n.rsplit("-", 1)[1]))


def publish_actions(alias: str, version: str) -> list[Body]:
    """One atomic alias swap: off every version, onto this one."""
    return [
        {"remove": {"index": f"{alias}-*", "alias": alias, "must_exist": False}},
        {"add": {"index": version, "alias": alias}},
    ]


def obsolete(
    alias: str, names: Iterable[str], published: str, previous: Iterable[str]
) -> list[str]:
    """Versions to drop after publishing `published`: the older ones, except those that were
    live until now (a process may still read them). Newer ones may still be being built."""
    keep = {published, *previous}
    ordered = versions_of(alias, names)
    if published not in ordered:
        return []
    return [n for n in ordered[: ordered.index(published)] if n not in keep]


def _redact(url: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}".rstrip("/")


# -- the backend ------------------------------------------------------------------------
class ElasticWriter:
    """Writes to one version. The live writer writes through the alias (`require_alias`), so
    a version dropped by another process's publish is never re-created by a late write."""

    def __init__(self, backend: ElasticBackend, version: str, live: bool) -> None:
        self.backend, self.version, self.live = backend, version, live
        self._target = backend.alias if live else version

    @property
    def cursor(self) -> int:
        with self.backend._engine():
            mappings = self.backend.client.indices.get_mapping(index=self.version)
        meta = mappings[self.version]["mappings"].get("_meta", {})
        return int(meta.get("cursor", 0))

    def _bulk(self, actions: Iterable[Body]) -> None:
        options: Body = {"require_alias": True} if self.live else {}
        with self.backend._engine():
            try:
                helpers.bulk(
                    self.backend.client,
                    actions,
                    index=self._target,
                    ignore_status=(404,),  # deleting what is not there
                    **options,
                )
            except helpers.BulkIndexError as error:
                first = error.errors[0] if error.errors else {}
                raise SearchUnavailable(
                    f"Elasticsearch refused {len(error.errors)} writes to {self._target}: {first}"
                ) from error

    def upsert(self, documents: Iterable[IndexDocument]) -> None:
        self._bulk({"_op_type": "index", "_id": d.id, "_source": to_source(d)} for d in documents)

    def add(self, documents: Iterable[IndexDocument]) -> None:
        """For a fresh version: the same as `upsert` (an index action replaces by `_id`)."""
        self.upsert(documents)

    def delete(self, ids: Iterable[str]) -> None:
        self._bulk({"_op_type": "delete", "_id": doc_id} for doc_id in ids)

    def commit(self, cursor: int) -> None:
        client = self.backend.client
        with self.backend._engine():
            client.indices.refresh(index=self._target)
            client.indices.put_mapping(index=self.version, meta=meta(cursor))

    def publish(self) -> None:
        self.backend._publish(self.version)

    def close(self) -> None:
        pass  # nothing held: each write is its own request


class ElasticBackend:
    name = "elasticsearch"

    def __init__(
        self,
        urls: Iterable[str] | str,
        alias: str = "portal-datasets",
        ca_certs: str | None = None,
        *,
        client: Elasticsearch | None = None,
        request_timeout: float = 30.0,
    ) -> None:
        self.urls = [urls] if isinstance(urls, str) else [u.strip() for u in urls if u.strip()]
        self.alias = alias
        self.ca_certs = ca_certs
        self.request_timeout = request_timeout
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()
        self._writer: ElasticWriter | None = None

    # -- plumbing ------------------------------------------------------------------------
    @property
    def client(self) -> Elasticsearch:
        with self._lock:
            if self._client is None:
                self._client = Elasticsearch(
                    self.urls,
                    ca_certs=self.ca_certs,
                    request_timeout=self.request_timeout,
                    retry_on_timeout=True,
                    max_retries=2,
                )
            return self._client

    def _where(self) -> str:
        return ", ".join(_redact(u) for u in self.urls) or "(no ES_URL)"

    @contextmanager
    def _engine(self, missing: str | None = None) -> Iterator[None]:
        """Engine failures as `SearchUnavailable` (catalog writes go on through the outbox)."""
        try:
            yield
        except NotFoundError as error:
            if missing is None:
                raise SearchUnavailable(f"Elasticsearch at {self._where()}: {error}") from error
            raise SearchUnavailable(missing) from error
        except (TransportError, AuthenticationException, AuthorizationException) as error:
            raise SearchUnavailable(
                f"Elasticsearch at {self._where()} is unavailable: {error}"
            ) from error
        except ApiError as error:
            if error.meta.status >= 500 or error.meta.status == 429:
                raise SearchUnavailable(
                    f"Elasticsearch at {self._where()} is unavailable: {error}"
                ) from error
            raise

    def _no_index(self) -> str:
        return (
            f"no search index {self.alias!r} in Elasticsearch at {self._where()}; "
            "run `portal reindex`"
        )

    def _live(self) -> str | None:
        """The version the alias names (None: no alias). Should a race between two first
        starts have left it on two versions, the newest stays."""
        with self._engine():
            try:
                holders = versions_of(self.alias, self.client.indices.get_alias(name=self.alias))
            except NotFoundError:
                return None
        if len(holders) > 1:
            self._swap(holders[-1])
        if not holders or self._schema_of(holders[-1]) != MAPPING_ID:
            return None
        return holders[-1]

    def _schema_of(self, version: str) -> str | None:
        with self._engine():
            mappings = self.client.indices.get_mapping(index=version)
        return mappings[version]["mappings"].get("_meta", {}).get("schema")

    def _swap(self, version: str) -> None:
        aliases = self.client.indices
        with self._engine():
            try:
                aliases.update_aliases(actions=publish_actions(self.alias, version))
            except NotFoundError as error:
                # Servers before 8.14 refuse to remove an alias nothing holds; then nothing
                # held it, and adding it is the whole swap.
                if not str(error.error).startswith("alias"):
                    raise
                aliases.update_aliases(actions=publish_actions(self.alias, version)[1:])

    def _publish(self, version: str) -> None:
        client = self.client
        with self._engine():
            try:
                previous = list(client.indices.get_alias(name=self.alias))
            except NotFoundError:
                previous = []
        self._swap(version)
        with self._engine():
            names = list(client.indices.get_alias(index=f"{self.alias}-*"))
            drop = obsolete(self.alias, names, version, previous)
            if drop:
                client.indices.delete(index=",".join(drop), ignore_unavailable=True)
        with self._lock:
            if self._writer is not None and self._writer.version != version:
                self._writer = None

    # -- reading -------------------------------------------------------------------------
    def count(self) -> int:
        with self._engine(missing=self._no_index()):
            return int(self.client.count(index=self.alias)["count"])

    def live_cursor(self) -> int:
        live = self._live()
        if live is None:
            raise SearchUnavailable(self._no_index())
        return ElasticWriter(self, live, live=True).cursor

    def search(self, query: SearchQuery) -> RawResult:
        with self._engine(missing=self._no_index()):
            response = self.client.search(index=self.alias, **search_body(query))
        return parse_search(response, query)

    def suggest(self, text: str, scopes: tuple[str, ...], limit: int) -> list[str]:
        body = suggest_body(text, scopes, limit)
        if body is None or limit <= 0:
            return []
        with self._engine(missing=self._no_index()):
            response = self.client.search(index=self.alias, **body)
        return [hit["_id"] for hit in response["hits"]["hits"]]

    def stamps(self) -> Iterator[tuple[str, str]]:
        """Every (id, stamp), read through a point in time with `search_after`."""
        client = self.client
        with self._engine(missing=self._no_index()):
            pit = client.open_point_in_time(index=self.alias, keep_alive=PIT_KEEP_ALIVE)["id"]
        try:
            after: list[Any] | None = None
            while True:
                page: Body = {
                    "pit": {"id": pit, "keep_alive": PIT_KEEP_ALIVE},
                    "sort": [{"_shard_doc": "asc"}],
                    "size": STAMPS_PAGE,
                    "source": ["id", "stamp"],
                    "track_total_hits": False,
                }
                if after is not None:
                    page["search_after"] = after
                with self._engine(missing=self._no_index()):
                    response = client.search(**page)
                pit = response.get("pit_id", pit)
                hits = response["hits"]["hits"]
                for hit in hits:
                    yield hit["_source"]["id"], hit["_source"]["stamp"]
                if len(hits) < STAMPS_PAGE:
                    return
                after = hits[-1]["sort"]
        finally:
            with suppress(ApiError, TransportError):  # else it expires by itself
                client.close_point_in_time(id=pit)

    # -- writing -------------------------------------------------------------------------
    def live_writer(self) -> ElasticWriter:
        live = self._live()
        if live is None:  # first start: an empty live version
            writer = self.new_version(cursor=0)
            writer.commit(0)
            writer.publish()
            live = self._live()
            if live is None:
                raise SearchUnavailable(self._no_index())
        with self._lock:
            if self._writer is None or self._writer.version != live:
                self._writer = ElasticWriter(self, live, live=True)
            return self._writer

    def new_version(self, cursor: int) -> ElasticWriter:
        client = self.client
        for _ in range(5):
            version = version_name(self.alias)
            with self._engine():
                try:
                    client.indices.create(index=version, **index_body(cursor))
                except BadRequestError as error:
                    if error.error == "resource_already_exists_exception":
                        continue
                    raise
            return ElasticWriter(self, version, live=False)
        raise SearchUnavailable(f"could not create a new version of {self.alias!r}")

    def destroy(self) -> None:
        """Delete every version of this alias, and so the alias (tests, `portal` tooling)."""
        client = self.client
        with self._engine():
            names = list(client.indices.get_alias(index=f"{self.alias}-*"))
            with suppress(NotFoundError):
                names += list(client.indices.get_alias(name=self.alias))
            drop = sorted(set(versions_of(self.alias, names)))
            if drop:
                client.indices.delete(index=",".join(drop), ignore_unavailable=True)
        with self._lock:
            self._writer = None

    def close(self) -> None:
        with self._lock:
            self._writer = None
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None
