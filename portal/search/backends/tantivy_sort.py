"""Sorting in tantivy, in the order Elasticsearch gives: the value (missing last either way),
then `documents.tie_break` of the name, then the name, so equal values come in one order
and pages never overlap.

tantivy orders by one fast field, and reads each hit's value of a text field from the
term dictionary (measured: ~35 µs a hit, so a page 5,000 deep took 180 ms), while an
integer field costs next to nothing at any depth. So:
- a number (a date, a moment, popularity) is an integer field per direction: the value
  (reversed for `desc`; missing: past the largest) shifted left, with the tie-break in the
  low bits. The engine pages by it; the datasets of the key values at the page's two edges
  are then read whole (usually only the page's own: few datasets share a value and a
  tie-break) and ordered by name here;
- a text (title, name, id, never missing) is one text field whose byte order is the whole
  order: the text, a NUL, the tie-break in hex, the name; `desc` reads it backwards, so
  equal texts then come by tie-break and name backwards too (Elasticsearch does the same).
"""

from __future__ import annotations

from typing import Any

import tantivy as tv

from ..documents import TIE_BREAK_BITS, tie_break
from ..query import TEXT_SORTS

SMALLEST = -(2**63)  # tantivy's integers are i64
VALUE_BITS = 63 - TIE_BREAK_BITS  # microseconds since 1970 fit until the year 2112
MISSING = 2**VALUE_BITS - 1  # sorts after every value
LARGEST_VALUE = MISSING - 1
_TEXT_ENDS = "\x00"  # sorts before every character, so a shorter text comes first


def field_name(sort: str, descending: bool) -> str:
    if is_text(sort):
        return f"sort_{sort}"
    return f"sort_{sort}_{'desc' if descending else 'asc'}"


def order(sort: str, descending: bool) -> tv.Order:
    """How `field_name` is read: integer keys always ascending, text keys either way."""
    return tv.Order.Desc if is_text(sort) and descending else tv.Order.Asc


def is_text(sort: str) -> bool:
    return sort in TEXT_SORTS


def add_fields(builder: tv.SchemaBuilder, sorts: tuple[str, ...]) -> None:
    for sort in sorts:
        if is_text(sort):
            name = field_name(sort, False)
            builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
            continue
        for descending in (False, True):
            builder.add_integer_field(field_name(sort, descending), fast=True, indexed=True)


def add_values(document: tv.Document, sort: str, value: Any, name: str) -> None:
    """The keys of `sort` for a dataset named `name` whose value is `value` (a text, an
    integer or None)."""
    if is_text(sort):
        document.add_text(field_name(sort, False), text_key(value, name))
        return
    for descending in (False, True):
        document.add_integer(field_name(sort, descending), number_key(value, name, descending))


def text_key(value: str | None, name: str) -> str:
    """The text whose byte order is (value, tie-break, name)."""
    return f"{value or ''}{_TEXT_ENDS}{tie_break(name):03x}{name}"


def number_key(value: int | None, name: str, descending: bool) -> int:
    """The integer whose order is (value, tie-break), a missing value last; values beyond
    the range count as its ends (their order is then settled by name at the page's edge)."""
    if value is None:
        encoded = MISSING
    else:
        clipped = min(max(int(value), 0), LARGEST_VALUE)
        encoded = LARGEST_VALUE - clipped if descending else clipped
    return (encoded << TIE_BREAK_BITS) | tie_break(name)


def page(
    searcher: tv.Searcher, schema: tv.Schema, main: tv.Query, field: str, offset: int, limit: int
) -> tuple[list[str], int]:
    """Ids of the page ordered by the integer `field`, then the name; and the total."""
    # One hit more on each side shows whether a key at the page's edge goes on beyond it.
    first = max(offset - 1, 0)
    found = searcher.search(
        main, limit + 2, count=True, offset=first, order_by_field=field, order=tv.Order.Asc
    )
    hits = [(value, address) for value, address in found.hits]
    before_page, rest = (hits[:1], hits[1:]) if offset > 0 else ([], hits)
    on_page, after_page = rest[:limit], rest[limit:]
    if not on_page:
        return [], found.count
    low, high = on_page[0][0], on_page[-1][0]
    if any(value == low for value, _ in before_page) or any(
        value == high for value, _ in after_page
    ):
        start, on_page = _edges_read_whole(searcher, schema, main, field, low, high)
    else:
        start = offset
    ordered = sorted(_stored(searcher, value, address) for value, address in on_page)
    skip = offset - start
    return [doc_id for _, _, doc_id in ordered[skip : skip + limit]], found.count


def _edges_read_whole(
    searcher: tv.Searcher, schema: tv.Schema, main: tv.Query, field: str, low: int, high: int
) -> tuple[int, list[tuple[int, Any]]]:
    """Where the first dataset keyed `low` stands, and every dataset keyed `low`…`high`:
    a key at the page's edge that goes on beyond it (rare: the keys hold the tie-break)."""

    def within(lowest: int, highest: int) -> tv.Query:
        span = tv.Query.range_query(schema, field, tv.FieldType.Integer, lowest, highest)
        return tv.Query.boolean_query([(tv.Occur.Must, main), (tv.Occur.Must, span)])

    before = searcher.search(within(SMALLEST, low - 1), 1, count=True).count
    span = within(low, high)
    total = searcher.search(span, 1, count=True).count
    found = searcher.search(span, total, order_by_field=field, order=tv.Order.Asc)
    return before, [(value, address) for value, address in found.hits]


def _stored(searcher: tv.Searcher, value: int, address: Any) -> tuple[int, str, str]:
    stored = searcher.doc(address).to_dict()
    return value, stored["name"][0], stored["id"][0]
