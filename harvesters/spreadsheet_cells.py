"""One spreadsheet row read as typed values: every problem becomes a bilingual warning that
names the column (and, for a row of another sheet than the record's, the sheet and row)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError, validate

from schemas import Message, message
from schemas.base import PHONE

from .labels import fold
from .values import clean, map_term, map_terms

CONFIG_FILE = Path(__file__).parent / "data" / "spreadsheet.yaml"
# map_term names the field in its message; this stands for it until the column is known.
_COLUMN = "\x00column\x00"
DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:$|[\sT])")
COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
# Possessive quantifiers (*+, ++): the runs of digits and spaces are taken whole, never
# split again on failure (the greedy form took cubic time on a long run of spaces).
COUNT = re.compile(r"^(\d++(?:\.\d++)?+)\s*+(万|亿)?+\s*+(?:条记录|条|行|个|项|records?|rows?)?$")
EXCEL_EPOCH = datetime(1899, 12, 30)
PLAUSIBLE_SERIALS = range(25569, 73051)  # 1970-01-01 … 2099-12-31 as Excel day numbers
KEYWORD_SEPARATORS = re.compile(r"[,，、;；|\n]+")


@cache
def config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG_FILE.read_text("utf-8"))


def labels_of(section: dict[str, list[str]]) -> dict[str, str]:
    """{field: [label, …]} as {label: field}, the shape `labels.field_for` takes."""
    return {label: name for name, labels in section.items() for label in labels}


@cache
def booleans() -> dict[str, bool]:
    return {
        fold(str(spelling)): key == "true"
        for key, spellings in config()["booleans"].items()
        for spelling in spellings
    }


def as_text(value: Any) -> str | None:
    """A cell as trimmed text: whole numbers without `.0`, dates as YYYY-MM-DD."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip() or None


class Cells:
    """One row: its values by field, the column each came from, and the warnings of reading
    them. `place` (zh, en) prefixes messages about a row that is not the record's own."""

    def __init__(
        self,
        values: dict[str, tuple[str, Any]],
        warnings: list[Message],
        place: tuple[str, str] = ("", ""),
        labels: dict[str, str] | None = None,
    ) -> None:
        self.values = values
        self.warnings = warnings
        self.place = place
        self.labels = labels or {}  # field → its column, for messages about empty cells

    def column(self, name: str) -> str:
        if name in self.values:
            return self.values[name][0]
        return self.labels.get(name, name)

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def raw(self, name: str) -> Any:
        return clean(self.values[name][1]) if name in self.values else None

    def warn(self, name: str, zh: str, en: str) -> None:
        zh_place, en_place = self.place
        column = self.column(name)
        self.warnings.append(
            message(f"{zh_place}列「{column}」：{zh}", f"{en_place}column {column}: {en}")
        )

    def text(self, name: str) -> str | None:
        return as_text(self.raw(name))

    def term(self, vocabulary: str, name: str, value: Any = None) -> str | None:
        found: list[Message] = []
        code = map_term(vocabulary, self.raw(name) if value is None else value, _COLUMN, found)
        self._relay(found, name)
        return code

    def terms(self, vocabulary: str, name: str) -> list[str]:
        found: list[Message] = []
        codes = map_terms(vocabulary, self.text(name) or [], _COLUMN, found)
        self._relay(found, name)
        return codes

    def _relay(self, found: list[Message], name: str) -> None:
        zh_place, en_place = self.place
        column = self.column(name)
        for msg in found:
            self.warnings.append(
                message(
                    msg["zh"].replace(_COLUMN, f"{zh_place}列「{column}」"),
                    msg["en"].replace(_COLUMN, f"{en_place}column {column}"),
                )
            )

    def words(self, name: str) -> list[str]:
        """Keywords: split on commas (any width), 、, semicolons, bars and line breaks."""
        parts = KEYWORD_SEPARATORS.split(self.text(name) or "")
        return list(dict.fromkeys(p.strip() for p in parts if p.strip()))

    def date(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.warn(
                name,
                f"「{value}」不是可识别的日期，已忽略",
                f"{value!r} is not a date we can read; dropped.",
            )
        return parsed

    def count(self, name: str) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        parsed = parse_count(value)
        if parsed is None:
            self.warn(
                name,
                f"「{value}」不是非负整数，已忽略",
                f"{value!r} is not a whole number of zero or more; dropped.",
            )
        return parsed

    def flag(self, name: str) -> bool | None:
        value = self.raw(name)
        if value is None or isinstance(value, bool):
            return value
        parsed = booleans().get(fold(as_text(value) or ""))
        if parsed is None:
            self.warn(
                name,
                f"「{value}」应为「是」或「否」，已忽略",
                f"{value!r} should be yes (是) or no (否); dropped.",
            )
        return parsed

    def phone(self, name: str) -> str | None:
        value = self.text(name)
        if value is None or PHONE.match(value):
            return value
        self.warn(
            name,
            f"「{value}」不是有效的电话号码，已忽略",
            f"{value!r} is not a valid phone number; dropped.",
        )
        return None

    def email(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            validate.Email()(value)
        except ValidationError:
            self.warn(
                name,
                f"「{value}」不是有效的电子邮箱，已忽略",
                f"{value!r} is not a valid email address; dropped.",
            )
            return None
        return value

    def required_empty(self, name: str) -> None:
        self.warn(name, "必填项为空", "a required value is empty.")


def parse_date(value: Any) -> str | None:
    """YYYY-MM-DD from a date cell, an Excel day number, or text such as 2024-01-05,
    2024/1/5 08:00, 2024年1月5日, 20240105 or an ISO timestamp; None if none of these."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):  # a cell can hold inf or nan; no date
            return None
        if int(value) in PLAUSIBLE_SERIALS:
            return (EXCEL_EPOCH + timedelta(days=int(value))).date().isoformat()
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip()
    match = DATE.match(text) or COMPACT_DATE.match(text)
    if not match:
        return None
    try:
        return date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None


def parse_count(value: Any) -> int | None:
    """A whole number from 1234, 1,234, 1234条 or 1.5万; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if value >= 0 and float(value).is_integer() else None
    match = COUNT.match(str(value).replace(",", "").replace("，", "").strip())
    if not match:
        return None
    number = float(match.group(1)) * {"万": 10_000, "亿": 100_000_000}.get(match.group(2), 1)
    return int(number) if number.is_integer() else None
