"""CKAN's q, fq and sort for package_search: the subset of Solr's syntax clients send.

Supported in q and fq: `field:value`, `field:"a phrase"`, `field:(a OR b)`,
`field:[from TO to]` (`*` open), `+` and `AND` (all clauses must match), `OR` between
two clauses on the same field, `*:*`. Fields: CKAN's `organization`/`owner_org`,
`groups`, `tags`, `res_format`, `license_id`, `name`, `id`, `capacity`, `state`,
`dataset_type`, `metadata_modified`/`metadata_created` (ranges), and ours: `open_type`,
`grade`, `domain`, `industry`, `basic_category`, `update_frequency`, `share_type`,
`processing_level`, `open_level`, `zones`, `formats`, `keywords`, `publisher`, `issued`,
`modified`. `-field:x`/`NOT` are refused (a Search Query Error, 400). In q, words and
an unknown `x:y` are text to search for; in fq an unknown field is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .ckan import search_query_error

DEFAULT_SORT = "score desc, metadata_modified desc"

# Our fields whose values are codes of a vocabulary (a label or alias is taken too).
VOCABULARIES = {
    "open_type": "open_types",
    "grade": "grades",
    "domain": "domains",
    "industry": "industries",
    "basic_category": "basic_categories",
    "update_frequency": "update_frequencies",
    "share_type": "share_types",
    "processing_level": "processing_levels",
    "open_level": "open_levels",
    "zones": "zones",
    "formats": "formats",
}
# A field of q/fq (CKAN's or ours) → what it filters on.
FIELDS = {
    "organization": "publisher",
    "owner_org": "publisher",
    "publisher": "publisher",
    "groups": "zones",
    "zones": "zones",
    "tags": "keywords",
    "keywords": "keywords",
    "res_format": "formats",
    "formats": "formats",
    "license_id": "license",
    "license": "license",
    "name": "name",
    "id": "id",
    "capacity": "capacity",
    "state": "state",
    "dataset_type": "type",
    "type": "type",
    **{name: name for name in VOCABULARIES},
}
RANGE_FIELDS = ("metadata_modified", "metadata_created", "issued", "modified")
DATE_FIELDS = ("issued", "modified")  # dates; the others are moments
TEXT_FIELDS = frozenset({"text", "title", "notes", "description"})
# A sort key → the search service's sort (query.SORTS) it asks for.
SORTS = {
    "score": "relevance",
    "metadata_modified": "updated_at",
    "metadata_created": "created_at",
    "title_string": "title",
    "title": "title",
    "name": "name",
    "id": "id",
    "modified": "modified",
    "issued": "issued",
    "views_recent": "popularity",
    "views_total": "popularity",
    "popularity": "popularity",
}
# A range field → the search service's range field (query.RANGE_FIELDS).
RANGES = {
    "metadata_modified": "updated_at",
    "metadata_created": "created_at",
    "issued": "issued",
    "modified": "modified",
}


@dataclass
class Parsed:
    """Words to search for, clauses (a field and the values any of which may match; all
    clauses must match) and ranges (a field, from, to; None is open)."""

    words: list[str] = field(default_factory=list)
    clauses: list[tuple[str, set[str]]] = field(default_factory=list)  # all must match
    ranges: list[tuple[str, Any, Any]] = field(default_factory=list)


# No leading \s* here: the parser skips spaces itself. A pattern that began with one split
# a long run of spaces in quadratically many ways before failing.
TOKEN = re.compile(
    r"""(?:
        (?P<op>AND\b|OR\b|NOT\b|&&|\|\||!)
      | (?P<field>[+-]?[A-Za-z_][A-Za-z0-9_.]*):(?P<value>
            "(?:[^"\\]|\\.)*"
          | \((?:[^()"\\]|\\.|"(?:[^"\\]|\\.)*")*\)
          | [\[{][^\]}]*[\]}]
          | (?:[^\s()\\]|\\.)+
        )
      | (?P<word>[+-]?"(?:[^"\\]|\\.)*"|(?:[^\s\\]|\\.)+)
    )""",
    re.VERBOSE,
)
ALTERNATIVE = re.compile(r'"((?:[^"\\]|\\.)*)"|((?:[^\s()"\\]|\\.)+)')
RANGE = re.compile(r"^[\[{]\s*(\S+)\s+TO\s+(\S+)\s*[\]}]$")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def parse(q: str, fq: str) -> Parsed:
    parsed = Parsed()
    _parse_into(parsed, q, strict=False)
    _parse_into(parsed, fq, strict=True)
    return parsed


def _parse_into(parsed: Parsed, text: str, *, strict: bool) -> None:
    """`strict` (fq): an unknown field is an error; in q it is just words."""
    position, pending_or = 0, False
    text = text.strip()
    while position < len(text):
        while text[position].isspace():
            position += 1
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise search_query_error(f"cannot read {text[position : position + 40]!r}")
        position = match.end()
        if match.group("op"):
            op = match.group("op")
            if op in ("NOT", "!"):
                raise search_query_error("NOT is not supported")
            pending_or = op in ("OR", "||")
            continue
        if match.group("field"):
            name, value = match.group("field"), match.group("value")
            added = _field_clause(parsed, name, value, strict, merge=pending_or)
            if not added:
                parsed.words.extend(_unescape(match.group(0)).split())
        else:
            word = match.group("word")
            if word in ("*:*", "*"):
                pending_or = False
                continue
            if word.startswith("-"):
                raise search_query_error(f"negation ({word}) is not supported")
            if pending_or:
                raise search_query_error("OR is supported only between clauses on one field")
            word = word.lstrip("+")
            parsed.words.extend(_unescape(word.strip('"')).split())
        pending_or = False
    if pending_or:
        raise search_query_error("OR at the end of the query")


def _field_clause(parsed: Parsed, name: str, value: str, strict: bool, merge: bool) -> bool:
    if name.startswith("-"):
        raise search_query_error(f"negation (-{name[1:]}) is not supported")
    name = name.lstrip("+")
    if name in TEXT_FIELDS:
        parsed.words.extend(_alternatives(value))
        return True
    if name in RANGE_FIELDS:
        match = RANGE.match(value)
        if not match:
            values = _alternatives(value)
            if len(values) != 1:
                raise search_query_error(f"{name} takes one value or a range [a TO b]")
            match_from = match_to = values[0]
        else:
            match_from, match_to = match.group(1), match.group(2)
        parsed.ranges.append((name, _bound(name, match_from), _bound(name, match_to)))
        return True
    target = FIELDS.get(name)
    if target is None:
        if strict:
            raise search_query_error(f"unknown field {name!r}")
        return False
    values = set(_alternatives(value))
    if "*" in values:
        return True  # field:* — any value
    if merge and parsed.clauses and parsed.clauses[-1][0] == target:
        parsed.clauses[-1][1].update(values)
    elif merge:
        raise search_query_error("OR is supported only between clauses on one field")
    else:
        parsed.clauses.append((target, values))
    return True


def _alternatives(value: str) -> list[str]:
    if value.startswith("(") and value.endswith(")"):
        inner = value[1:-1]
        out = []
        for match in ALTERNATIVE.finditer(inner):
            quoted, bare = match.group(1), match.group(2)
            if bare in ("OR", "||"):
                continue
            if bare in ("AND", "&&", "NOT"):
                raise search_query_error("only OR is supported inside (…)")
            out.append(_unescape(quoted if quoted is not None else bare))
        return out
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return [_unescape(value[1:-1])]
    return [_unescape(value)]


def _bound(name: str, text: str) -> Any:
    if text == "*":
        return None
    moment = datetime.now(UTC) if text.upper() == "NOW" else _moment(text)
    if moment is None:
        raise search_query_error(f"{name}: {text!r} is not a date (YYYY-MM-DD[Thh:mm:ssZ])")
    return moment.date() if name in DATE_FIELDS else moment


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_sort(raw: Any, *, has_words: bool) -> tuple[str, bool]:
    """(the search service's sort, descending). Every key is checked; the first one that
    orders anything decides (relevance only with words to score), and equal values come
    by name, ascending, so pages never overlap. A later key is not used as a tie-break."""
    text = raw if isinstance(raw, str) and raw.strip() else DEFAULT_SORT
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if words[0] not in SORTS or len(words) > 2 or words[-1] not in ("asc", "desc", words[0]):
            raise search_query_error(f"cannot sort by {part.strip()!r}")
        keys.append((SORTS[words[0]], len(words) == 2 and words[1] == "desc"))
    for sort, descending in keys:
        if sort != "relevance" or has_words:
            return sort, descending
    return "name", False
