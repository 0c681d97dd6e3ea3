"""Search parameters from a URL query string, checked; a bad one is named in the error."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from schemas import Message, message, vocab
from schemas.quality import bands

from .query import (
    DATE_FIELDS,
    FILTERS,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    SORTS,
    TEXT_SORTS,
    DateRange,
    SearchQuery,
    Viewer,
)
from .service import FACET_VOCABULARIES

SLUGGISH = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class BadParameters(Exception):
    def __init__(self, errors: dict[str, list[Message]]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def parse(args: Mapping[str, Any], viewer: Viewer) -> SearchQuery:
    """`args` is a MultiDict (request.args); filters repeat (`domain=a&domain=b`) or use commas."""
    errors: dict[str, list[Message]] = {}

    def fail(name: str, zh: str, en: str) -> None:
        errors.setdefault(name, []).append(message(zh, en))

    text = (args.get("q") or "").strip()
    if len(text) > 200:
        fail("q", "查询词不能超过 200 个字符", "q may not be longer than 200 characters.")

    filters: dict[str, tuple[str, ...]] = {}
    for name in FILTERS:
        raw = [v for item in _all(args, name) for v in item.split(",") if v.strip()]
        values = []
        for value in raw:
            code = _resolve(name, value.strip())
            if code is None:
                fail(name, f"「{value}」不是有效的取值", f"{value!r} is not a valid {name}.")
            else:
                values.append(code)
        if values:
            filters[name] = tuple(dict.fromkeys(values))

    dates = {}
    for name in DATE_FIELDS:
        span = DateRange(_date(args, f"{name}_from", fail), _date(args, f"{name}_to", fail))
        if span.start and span.end and span.end < span.start:
            fail(f"{name}_to", "结束日期早于开始日期", f"{name}_to is before {name}_from.")
        if span.start or span.end:
            dates[name] = span

    sort = args.get("sort") or "relevance"
    if sort not in SORTS:
        fail(
            "sort",
            f"排序方式只能是：{'、'.join(SORTS)}",
            f"sort must be one of {', '.join(SORTS)}.",
        )
    order = args.get("order") or ("asc" if sort in TEXT_SORTS else "desc")
    if order not in ("asc", "desc"):
        fail("order", "order 只能是 asc 或 desc", "order must be asc or desc.")
    page = _integer(args, "page", 1, 1, None, fail)
    size = _integer(args, "size", 20, 1, MAX_PAGE_SIZE, fail)
    if not errors and (page - 1) * size > MAX_OFFSET:
        fail(
            "page",
            f"最多翻到第 {MAX_OFFSET} 条结果",
            f"Results beyond {MAX_OFFSET} are not served.",
        )
    if errors:
        raise BadParameters(errors)
    return SearchQuery(
        text=text,
        filters=filters,
        dates=dates,
        sort=sort,
        descending=order == "desc",
        page=page,
        size=size,
        viewer=viewer,
    )


def _all(args: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    value = args.get(name)
    return [value] if isinstance(value, str) else list(value or [])


def _resolve(name: str, value: str) -> str | None:
    if name in FACET_VOCABULARIES:
        return vocab(FACET_VOCABULARIES[name]).resolve(value)
    if name == "publisher":
        return value if SLUGGISH.match(value) else None
    if name == "quality_band":
        return value if value in {b["code"] for b in bands()} else None
    if name == "capacity":
        return value if value in ("public", "private") else None
    return value if len(value) <= 100 else None  # keywords: free text


def _date(args: Mapping[str, Any], name: str, fail) -> date | None:  # type: ignore[no-untyped-def]
    raw = args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        fail(name, "日期格式应为 YYYY-MM-DD", f"{name} must be a date, YYYY-MM-DD.")
        return None


def _integer(args, name, default, low, high, fail) -> int:  # type: ignore[no-untyped-def]
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        fail(name, f"{name} 应为整数", f"{name} must be an integer.")
        return default
    if value < low or (high is not None and value > high):
        limit_zh = f"{low}–{high}" if high else f"≥ {low}"
        fail(name, f"{name} 应在 {limit_zh} 之间", f"{name} must be {limit_zh}.")
        return default
    return value
