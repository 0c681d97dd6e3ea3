"""The embedded search engine: tantivy, fed text already analyzed in Python.

Text fields hold the CJK bigrams / lowercase words of `analysis.tokens`, joined by spaces
and indexed with tantivy's whitespace tokenizer (registered at every open: custom
tokenizers are not stored with an index). Keyword fields use the raw tokenizer and are
fast fields, so the `terms` aggregations count them. Only one process may hold a
tantivy writer; a second one gets `WriterBusy`.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import tantivy as tv

from ..analysis import analyzed, tokens
from ..documents import IndexDocument, range_number
from ..query import (
    FILTERS,
    QUALITY_BOOSTS,
    RANGE_FIELDS,
    SORT_VALUES,
    TEXT_FIELDS,
    TIEBREAK_FIELDS,
    Clause,
    Phrase,
    SearchQuery,
    clauses,
)
from . import tantivy_sort as sorting
from . import versions
from .base import Hit, RawResult, SearchUnavailable, WriterBusy

WHITESPACE = "ws"
RELOAD_EVERY_SECONDS = 0.25


def build_schema() -> tv.Schema:
    builder = tv.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("stamp", stored=True, tokenizer_name="raw", index_option="basic")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name=WHITESPACE)
    for name in FILTERS:  # the name is stored too: equal sort values are ordered by it
        builder.add_text_field(
            name, stored=name == "name", fast=True, tokenizer_name="raw", index_option="basic"
        )
    builder.add_text_field("scopes", tokenizer_name="raw", index_option="basic")
    for name in (*RANGE_FIELDS, "popularity"):
        builder.add_integer_field(name, fast=True, indexed=True)
    sorting.add_fields(builder, tuple(SORT_VALUES))
    return builder.build()


SCHEMA = build_schema()
# Names the schema an index was built with; bump SCHEMA_REVISION when build_schema changes
# in a way its inputs below do not show. A live index of another schema is rebuilt.
SCHEMA_REVISION = 5
SCHEMA_ID = hashlib.sha1(
    repr(
        (SCHEMA_REVISION, tuple(TEXT_FIELDS), FILTERS, RANGE_FIELDS, tuple(SORT_VALUES), WHITESPACE)
    ).encode()
).hexdigest()[:12]


def _sort_value(doc: IndexDocument, sort: str) -> object:
    attribute = SORT_VALUES[sort]
    value = getattr(doc, attribute)
    return range_number(attribute, value) if attribute in RANGE_FIELDS else value


def _open(path: Path) -> tv.Index:
    try:
        index = tv.Index(SCHEMA, path=str(path), reuse=True)
    except ValueError as error:  # e.g. a schema that does not match: never a 500
        raise SearchUnavailable(f"search index {path} cannot be opened: {error}") from error
    index.register_tokenizer(WHITESPACE, tv.TextAnalyzerBuilder(tv.Tokenizer.whitespace()).build())
    return index


def to_tantivy(doc: IndexDocument) -> tv.Document:
    out = tv.Document()
    out.add_text("id", doc.id)
    out.add_text("stamp", doc.stamp)
    out.add_text("title", analyzed(doc.title))
    out.add_text("title_en", analyzed(doc.title_en))
    out.add_text("description", analyzed(doc.description))
    out.add_text("keywords_text", analyzed(" ".join(doc.keywords)))
    out.add_text("publisher_title", analyzed(doc.publisher_title))
    for name in FILTERS:
        for value in doc.keyword_values(name):
            out.add_text(name, value)
    for scope in doc.scopes:
        out.add_text("scopes", scope)
    for name in RANGE_FIELDS:
        number = range_number(name, getattr(doc, name))
        if number is not None:
            out.add_integer(name, number)
    out.add_integer("popularity", doc.popularity)
    for sort in SORT_VALUES:
        sorting.add_values(out, sort, _sort_value(doc, sort), doc.name)
    return out


class TantivyWriter:
    def __init__(self, root: Path, version_dir: Path, index: tv.Index, on_commit: Any) -> None:
        self.root, self.dir, self.index = root, version_dir, index
        self.version = version_dir.name
        self._on_commit = on_commit
        try:
            self._writer = index.writer(200_000_000, 0)
        except ValueError as error:
            if "LockBusy" in str(error):
                raise WriterBusy(str(self.dir)) from error
            raise SearchUnavailable(str(error)) from error

    @property
    def cursor(self) -> int:
        return versions.read_cursor(self.dir)

    def upsert(self, documents: Iterable[IndexDocument]) -> None:
        for doc in documents:
            self._writer.delete_documents_by_term("id", doc.id)
            self._writer.add_document(to_tantivy(doc))

    def add(self, documents: Iterable[IndexDocument]) -> None:
        """Add without looking for an older copy: for a fresh version only."""
        for doc in documents:
            self._writer.add_document(to_tantivy(doc))

    def delete(self, ids: Iterable[str]) -> None:
        for doc_id in ids:
            self._writer.delete_documents_by_term("id", doc_id)

    def commit(self, cursor: int) -> None:
        self._writer.commit()
        versions.write_cursor(self.dir, cursor)
        self._on_commit()

    def publish(self) -> None:
        versions.publish(self.root, self.version, SCHEMA_ID)
        self._on_commit()

    def close(self) -> None:
        self._writer.wait_merging_threads()


class TantivyBackend:
    name = "tantivy"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._index: tv.Index | None = None
        self._version: str | None = None
        self._loaded_at = 0.0
        self._writer: TantivyWriter | None = None

    # -- reading -------------------------------------------------------------------------
    def _searcher(self) -> tv.Searcher:
        with self._lock:
            live = versions.live_version(self.root, SCHEMA_ID)
            if live is None:
                raise SearchUnavailable(
                    f"no current search index under {self.root}: it is being built "
                    "(a serving portal does so by itself; or run `portal reindex`)"
                )
            now = time.monotonic()
            if live != self._version or self._index is None:
                self._index = _open(self.root / live)
                self._version, self._loaded_at = live, now
            elif now - self._loaded_at > RELOAD_EVERY_SECONDS:
                self._index.reload()
                self._loaded_at = now
            return self._index.searcher()

    def _refresh(self) -> None:
        with self._lock:
            self._loaded_at = 0.0  # the next search reloads

    def count(self) -> int:
        return self._searcher().num_docs

    def live_cursor(self) -> int:
        live = versions.live_version(self.root, SCHEMA_ID)
        if live is None:
            raise SearchUnavailable(f"no search index under {self.root}")
        return versions.read_cursor(self.root / live)

    def search(self, query: SearchQuery) -> RawResult:
        searcher = self._searcher()
        scope = _scope_filter(query.viewer.scopes)
        text = _text_query(clauses(query.text))
        filters = {name: _terms(name, values) for name, values in query.filters.items() if values}
        # Dates and further clauses narrow every count (they are not facets).
        fixed = [*_date_filters(query), *(_terms(n, v) for n, v in query.more_filters)]
        main = _all([scope, text, *filters.values(), *fixed])
        if text is not None and query.sort == "relevance":
            main = _with_quality_boost(main)
        limit = max(query.size, 1)
        if query.sort == "relevance":
            found = searcher.search(main, limit, count=True, offset=query.offset)
            hits = [Hit(_id(searcher, address), score) for score, address in found.hits]
            total = found.count
        elif sorting.is_text(query.sort):
            found = searcher.search(
                main,
                limit,
                count=True,
                offset=query.offset,
                order_by_field=sorting.field_name(query.sort, query.descending),
                order=sorting.order(query.sort, query.descending),
            )
            hits = [Hit(_id(searcher, address), None) for _, address in found.hits]
            total = found.count
        else:
            field = sorting.field_name(query.sort, query.descending)
            ids, total = sorting.page(searcher, SCHEMA, main, field, query.offset, limit)
            hits = [Hit(doc_id, None) for doc_id in ids]
        return RawResult(hits, total, self._facets(searcher, query, scope, text, filters, fixed))

    def _facets(
        self,
        searcher: tv.Searcher,
        query: SearchQuery,
        scope: tv.Query,
        text: tv.Query | None,
        filters: dict[str, tv.Query],
        fixed: list[tv.Query],
    ) -> dict[str, dict[str, int]]:
        """Counts per facet value; a facet's own selection does not narrow its counts."""
        out: dict[str, dict[str, int]] = {}
        shared = [f for f in query.facets if f not in filters]
        groups = [(shared, filters)] + [
            ([f], {k: v for k, v in filters.items() if k != f})
            for f in query.facets
            if f in filters
        ]
        if not query.multi_select:
            groups = [(list(query.facets), filters)]
        for names, active in groups:
            if not names:
                continue
            base = _all([scope, text, *active.values(), *fixed])
            aggs = {n: {"terms": {"field": n, "size": query.facet_limit}} for n in names}
            result = searcher.aggregate(base, aggs)
            for name in names:
                out[name] = {b["key"]: b["doc_count"] for b in result[name]["buckets"]}
        return out

    def suggest(self, text: str, scopes: tuple[str, ...], limit: int) -> list[str]:
        parts = tokens(text)
        if not parts:
            return []
        searcher = self._searcher()
        if len(parts) == 1 and not re.fullmatch(r"[0-9a-z]+", parts[0]):
            match = _phrase_query("title", Phrase(tuple(parts)))
        else:
            match = (
                tv.Query.phrase_prefix_query(SCHEMA, "title", parts)
                if len(parts) > 1
                else (tv.Query.regex_query(SCHEMA, "title", re.escape(parts[0]) + ".*"))
            )
        found = searcher.search(
            _all([_scope_filter(scopes), match]), limit, weight_by_field="popularity"
        )
        return [searcher.doc(address).to_dict()["id"][0] for _, address in found.hits]

    def stamps(self) -> Iterator[tuple[str, str]]:
        searcher = self._searcher()
        total = searcher.num_docs
        if total == 0:
            return
        for _, address in searcher.search(tv.Query.all_query(), total, count=False).hits:
            stored = searcher.doc(address).to_dict()
            yield stored["id"][0], stored["stamp"][0]

    # -- writing -------------------------------------------------------------------------
    def live_writer(self) -> TantivyWriter:
        live = versions.live_version(self.root, SCHEMA_ID)
        if live is None:
            writer = self.new_version(cursor=0)
            writer.commit(0)
            writer.publish()
            self._writer = writer
            return writer
        if self._writer is not None and self._writer.version == live:
            return self._writer
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        version_dir = self.root / live
        self._writer = TantivyWriter(self.root, version_dir, _open(version_dir), self._refresh)
        return self._writer

    def new_version(self, cursor: int) -> TantivyWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        version_dir = versions.new_version_dir(self.root)
        versions.write_cursor(version_dir, cursor)
        return TantivyWriter(self.root, version_dir, _open(version_dir), self._refresh)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._index = None


def _all(parts: list[tv.Query | None]) -> tv.Query:
    present = [(tv.Occur.Must, q) for q in parts if q is not None]
    return tv.Query.boolean_query(present) if present else tv.Query.all_query()


def _terms(field: str, values: Iterable[str]) -> tv.Query:
    return tv.Query.term_set_query(SCHEMA, field, list(values))


def _scope_filter(scopes: tuple[str, ...]) -> tv.Query:
    return _terms("scopes", scopes)


def _phrase_query(field: str, phrase: Phrase) -> tv.Query:
    if phrase.lone:  # one CJK character: any bigram that starts or ends with it
        char = re.escape(phrase.lone)
        return tv.Query.regex_query(SCHEMA, field, f"{char}.?|.{char}")
    if len(phrase.tokens) == 1:
        return tv.Query.term_query(SCHEMA, field, phrase.tokens[0])
    return tv.Query.phrase_query(SCHEMA, field, list(phrase.tokens))


def _text_query(parts: tuple[Clause, ...]) -> tv.Query | None:
    """Every word must match, as a phrase (or a synonym's phrase), in some field; each field
    it matches in adds that field's fixed score (see `query.TEXT_FIELDS`)."""
    if not parts:
        return None
    musts = []
    for clause in parts:
        options = []
        for phrase in clause.phrases:
            for name, boost in TEXT_FIELDS.items():  # a fixed score per field matched
                match = tv.Query.const_score_query(
                    _phrase_query(name, phrase), boost * phrase.weight
                )
                options.append((tv.Occur.Should, match))
            for name, boost in TIEBREAK_FIELDS.items():  # BM25, scaled down, breaks ties
                match = tv.Query.boost_query(_phrase_query(name, phrase), boost * phrase.weight)
                options.append((tv.Occur.Should, match))
        musts.append((tv.Occur.Must, tv.Query.boolean_query(options)))
    return tv.Query.boolean_query(musts)


def _with_quality_boost(main: tv.Query) -> tv.Query:
    boosts = [
        (tv.Occur.Should, tv.Query.const_score_query(_terms("quality_band", [band]), boost))
        for band, boost in QUALITY_BOOSTS.items()
    ]
    return tv.Query.boolean_query([(tv.Occur.Must, main), *boosts])


def _date_filters(query: SearchQuery) -> list[tv.Query]:
    out = []
    for name, span in query.dates.items():
        if span.start or span.end:
            low, high = range_number(name, span.start), range_number(name, span.end)
            out.append(tv.Query.range_query(SCHEMA, name, tv.FieldType.Integer, low, high))
    return out


def _id(searcher: tv.Searcher, address: Any) -> str:
    return searcher.doc(address).to_dict()["id"][0]
