"""The query parameters of the DCAT-AP catalog pages (`/catalog.ttl?page=2&page_size=50
&modified_since=2025-06-01`): `page`, `page_size` and `modified_since`, read into the
PageRequest that catalog/dcat_ap.py builds a page from, or refused with a message for each
parameter that is wrong."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

from schemas import Message, message

from ..catalog.dcat_ap import DEFAULT_PAGE_SIZE, PageRequest

MAX_PAGE_SIZE = 1000
MAX_PAGE = 10_000_000  # keeps the SQL offset within a 64-bit integer
CHINA = timezone(timedelta(hours=8))  # a modified_since without a zone is Qingdao time

Errors = dict[str, list[Message]]


class BadParameters(ValueError):
    """Query parameters that do not make a page request; `errors` by parameter name."""

    def __init__(self, errors: Errors) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_page_request(args: Mapping[str, str]) -> PageRequest:
    """`page` (1-based), `page_size` (1–1000) and `modified_since` (ISO date or datetime)."""
    errors: Errors = {}
    page = _whole_number(args.get("page"), 1, MAX_PAGE, "page", errors)
    size = _whole_number(
        args.get("page_size"), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size", errors
    )
    since_text = (args.get("modified_since") or "").strip() or None
    since = _modified_since(since_text, errors) if since_text is not None else None
    if errors:
        raise BadParameters(errors)
    return PageRequest(page, size, since, since_text)


def parse_since(text: str) -> datetime | None:
    """An aware datetime, or None when `text` is no ISO date or datetime. A date is the start
    of that day, and a time without a zone is Qingdao time (UTC+8)."""
    # An unescaped "+08:00" in a query string arrives as " 08:00".
    text = re.sub(r"(T[\d:.]+) (\d{2}(:?\d{2})?)$", r"\1+\2", text.strip())
    try:
        value = datetime.fromisoformat(text)
        value = value if value.tzinfo else value.replace(tzinfo=CHINA)
        value.astimezone(UTC)  # the database compares in UTC: year 1 at +14:00 has none
    except (ValueError, OverflowError):
        return None
    return value


def _modified_since(text: str, errors: Errors) -> datetime | None:
    since = parse_since(text)
    if since is None:
        errors["modified_since"] = [
            message(
                f"应为 ISO 日期或时间，例如 2025-06-01 或 2025-06-01T08:00:00+08:00，"
                f"而不是「{text}」",
                "Must be an ISO date or datetime such as 2025-06-01 or "
                f"2025-06-01T08:00:00+08:00, not {text!r}.",
            )
        ]
    return since


def _whole_number(
    raw: str | None,
    default: int,
    maximum: int,
    name: str,
    errors: Errors,
) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        bound = f"1–{maximum}"
        errors[name] = [
            message(
                f"应为整数（{bound}），而不是「{raw}」",
                f"Must be a whole number ({bound}), not {raw!r}.",
            )
        ]
        return default
    return value
