"""Cleaning source values and mapping them onto the profile's vocabularies (all data-driven)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from schemas import Message, message, vocab

PLACEHOLDERS_FILE = Path(__file__).parent / "data" / "placeholders.yaml"
TRUE_WORDS = frozenset({"true", "yes", "1", "是", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "否", "n"})
DATE_PATTERN = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")


@cache
def placeholders() -> frozenset[str]:
    return frozenset(
        str(p).strip().casefold() for p in yaml.safe_load(PLACEHOLDERS_FILE.read_text("utf-8"))
    )


def clean(value: Any) -> Any:
    """Trimmed text, or None for empty values and placeholders (暂无, 默认主题 …)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return None if not text or text.casefold() in placeholders() else text
    return value


def map_term(vocabulary: str, value: Any, field: str, warnings: list[Message]) -> str | None:
    """The vocabulary code for a source value (code, label or alias); None, with a warning
    naming the field and the value, when nothing matches."""
    value = clean(value)
    if value is None:
        return None
    code = vocab(vocabulary).resolve(value)
    if code is None:
        warnings.append(
            message(
                f"{field}：「{value}」不在词表「{vocab(vocabulary).zh}」中，已忽略",
                f"{field}: {value!r} is not in the {vocab(vocabulary).en} vocabulary; dropped.",
            )
        )
    return code


def map_terms(vocabulary: str, values: Any, field: str, warnings: list[Message]) -> list[str]:
    """Like `map_term` for a list, or a string with commas / 、 / ; between the values."""
    if isinstance(values, str):
        for separator in ("、", ";", "；", "，", "|"):
            values = values.replace(separator, ",")
        values = values.split(",")
    codes = [map_term(vocabulary, v, field, warnings) for v in values or []]
    return list(dict.fromkeys(c for c in codes if c))


# --- reading values of other formats (CKAN's extras hold strings, lists as JSON) ---


def to_date(value: Any) -> Any:
    """YYYY-MM-DD for a date, datetime or date-like text; anything else as it came, so
    that validation reports it against the field."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    given = clean(joined_text(value))
    if given is None:
        return None
    match = DATE_PATTERN.match(given) if isinstance(given, str) else None
    if not match:
        return given
    try:
        return date(*map(int, match.groups())).isoformat()
    except ValueError:
        return given


def text(value: Any) -> str | None:
    """A scalar as text; blank and null are absent."""
    if value is None or isinstance(value, list | dict):
        return None
    out = str(value).strip() if not isinstance(value, bool) else str(value).lower()
    return out or None


def blank_to_none(value: Any) -> Any:
    """Blank text is absent (the profile's text fields refuse blanks)."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def split_list(given: str) -> list[str]:
    for separator in ("、", ";", "；", "，", "|"):
        given = given.replace(separator, ",")
    return given.split(",")


def joined_text(value: Any) -> Any:
    """A list (or a JSON list in a string, as CKAN extras hold them) as one text."""
    value = json_list(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value if clean(v) is not None) or None
    return value


def json_list(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, list) else value
    return value


def spellings(value: Any) -> list[str]:
    """A value as written, and the last segment of a URI (…/frequency/DAILY → DAILY)."""
    given = clean(joined_text(value))
    if not isinstance(given, str | int) or isinstance(given, bool):
        return []
    given = str(given)
    tail = given.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1] if "://" in given else ""
    return [given, tail] if tail else [given]


def whole_number(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    given = clean(str(value).replace(",", ""))
    if given is None:
        return None
    return int(given) if given.isdigit() else given


def boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    given = str(clean(value) or "").casefold()
    if given in TRUE_WORDS:
        return True
    if given in FALSE_WORDS:
        return False
    return value


def has_value(value: Any) -> bool:
    return clean(joined_text(value)) is not None if not isinstance(value, bool) else True
