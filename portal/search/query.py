"""The one query model every backend answers; who is asking is a `visibility.Viewer`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..visibility import PUBLIC, Viewer
from .analysis import is_lone_cjk, tokens
from .synonyms import variants

# Keyword fields a search can filter and count on.
FACETS = (
    "zones",
    "domain",
    "industry",
    "publisher",
    "grade",
    "open_type",
    "formats",
    "update_frequency",
    "quality_band",
)
# Keyword fields a search can filter on, and count on when asked (the CKAN API's facets).
FILTERS = (
    *FACETS,
    "keywords",
    "license",
    "basic_category",
    "share_type",
    "processing_level",
    "open_level",
    "name",
    "capacity",  # "public" when the entry is listed publicly, else "private"
)
FILTERABLE = (*FILTERS, "id")  # the id is a keyword field of its own in both engines
DATE_FIELDS = ("issued", "modified")  # dates, indexed as yyyymmdd
MOMENT_FIELDS = ("created_at", "updated_at")  # moments, indexed as microseconds since 1970
RANGE_FIELDS = (*DATE_FIELDS, *MOMENT_FIELDS)
# A sort (besides relevance) → the document attribute it orders by. Every sort ends with
# the name, ascending, so that equal values come in one order and pages never overlap.
SORT_VALUES = {
    "modified": "modified",
    "issued": "issued",
    "title": "title",
    "popularity": "popularity",
    "updated_at": "updated_at",
    "created_at": "created_at",
    "name": "name",
    "id": "id",
}
SORTS = ("relevance", *SORT_VALUES)
TEXT_SORTS = ("title", "name", "id")  # ascending unless asked otherwise
FACET_SIZE = 200  # values counted per facet unless a query asks for more
MAX_FACET_SIZE = 10_000
# Ranking: each field a word matches in adds a fixed score, so a title match always beats
# a keyword match, which beats a publisher match, which beats a description match; BM25
# on title and description, scaled down, only orders datasets that tie on fields.
# The English title (most plan datasets have one) weighs as much as the Chinese one.
TEXT_FIELDS = {
    "title": 8.0,
    "title_en": 8.0,
    "keywords_text": 4.0,
    "publisher_title": 2.0,
    "description": 1.0,
}
TIEBREAK_FIELDS = {"title": 0.05, "description": 0.05}
# Among datasets that match equally, better described ones come first (quality bands of
# schemas/policy/quality.yaml); small next to a field's weight, so it never outranks one.
QUALITY_BOOSTS = {"excellent": 0.6, "good": 0.3}
MAX_PAGE_SIZE = 100
SYNONYM_WEIGHT = 0.3
MAX_OFFSET = 100_000


@dataclass(frozen=True)
class DateRange:
    """Inclusive bounds, None open: dates for DATE_FIELDS, aware datetimes for MOMENT_FIELDS."""

    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # OR within, AND across
    dates: dict[str, DateRange] = field(default_factory=dict)
    sort: str = "relevance"
    descending: bool = True
    page: int = 1
    size: int = 20
    facets: tuple[str, ...] = FACETS
    viewer: Viewer = PUBLIC
    # Further clauses, each of which must match too: a second clause on a field already in
    # `filters` (CKAN's `tags:a tags:b`: a dataset with both).
    more_filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    start: int | None = None  # an offset of its own (CKAN's `start`) instead of `page`
    facet_size: int = FACET_SIZE  # at most MAX_FACET_SIZE
    # Multi-select facets (the pages): a facet's own selection does not narrow its counts.
    # Off (the CKAN API): every facet counts the result itself, as Solr's do.
    multi_select: bool = True

    @property
    def offset(self) -> int:
        return self.start if self.start is not None else (self.page - 1) * self.size

    @property
    def facet_limit(self) -> int:
        return max(1, min(self.facet_size, MAX_FACET_SIZE))


@dataclass(frozen=True)
class Phrase:
    """Tokens that must occur next to each other; `lone` marks one CJK character, which the
    bigram index holds only inside pieces (水 → any piece starting or ending with 水)."""

    tokens: tuple[str, ...]
    weight: float = 1.0  # synonyms of what was typed count a little less

    @property
    def lone(self) -> str | None:
        return self.tokens[0] if len(self.tokens) == 1 and is_lone_cjk(self.tokens[0]) else None


@dataclass(frozen=True)
class Clause:
    """One word of the user's query: any of its phrases (synonym variants) must match."""

    word: str
    phrases: tuple[Phrase, ...]


def clauses(text: str) -> tuple[Clause, ...]:
    """The query text as clauses, all of which must match: whitespace separates words."""
    out = []
    for word in text.split():
        phrases: dict[tuple[str, ...], Phrase] = {}
        for i, variant in enumerate(variants(word)):
            parts = tuple(tokens(variant))
            if parts and parts not in phrases:
                phrases[parts] = Phrase(parts, 1.0 if i == 0 else SYNONYM_WEIGHT)
        if phrases:
            out.append(Clause(word, tuple(phrases.values())))
    return tuple(out)


def highlight_terms(query: SearchQuery) -> list[str]:
    """The strings to mark in results: every variant of every word."""
    return [v for word in query.text.split() for v in variants(word)]
