"""Highlighted snippets, computed the same way for every backend."""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

from .analysis import normalize

SNIPPET_CHARS = 120


def _pattern(terms: list[str]) -> re.Pattern[str] | None:
    return _compiled(tuple(terms))


@lru_cache(maxsize=1024)
def _compiled(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    # One pattern per query, not one per highlighted title and snippet.
    words = sorted({normalize(t) for t in terms if t.strip()}, key=len, reverse=True)
    if not words:
        return None
    # (?:…)+ marks adjacent matches as one: 水水质 → <mark>水水</mark>质, not two marks.
    return re.compile("(?:" + "|".join(re.escape(w) for w in words) + ")+", re.IGNORECASE)


def mark(text: str, terms: list[str]) -> Markup:
    """`text` escaped, with every occurrence of a term wrapped in <mark>."""
    pattern = _pattern(terms)
    if pattern is None:
        return escape(text)
    folded = normalize(text)
    if len(folded) != len(text):  # NFKC changed lengths: offsets would not line up
        folded = text.lower()
    out, last = [], 0
    for match in pattern.finditer(folded):
        out.append(escape(text[last : match.start()]))
        out.append(Markup("<mark>%s</mark>") % text[match.start() : match.end()])
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def snippet(text: str, terms: list[str], size: int = SNIPPET_CHARS) -> Markup:
    """A window of `text` around its first match (or its start), highlighted."""
    pattern = _pattern(terms)
    match = pattern.search(normalize(text)) if pattern else None
    start = max(0, match.start() - size // 3) if match else 0
    window = text[start : start + size]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + size < len(text) else ""
    return Markup(prefix) + mark(window, terms) + Markup(suffix)
