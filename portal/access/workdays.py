"""Working days, for review deadlines ("形式审查 within 5 working days")."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")  # no daylight saving: a fixed offset is exact


def add_working_days(start: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """`start` moved `days` working days on (Monday–Friday, not in `holidays`): the time of
    day is kept, so a Friday 15:00 submission with 5 days is due the next Friday 15:00."""
    current = start.astimezone(CHINA)  # a working day is a day in China
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current.date() not in holidays:
            left -= 1
    return current.astimezone(UTC)
