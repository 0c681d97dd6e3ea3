"""Errors of the catalog services, each carrying bilingual field-level messages."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from schemas import Message, message, render


class CatalogError(Exception):
    """A refused operation of a service (catalog or access); `errors` maps field names
    to bilingual messages ("_" for the operation as a whole)."""

    status = 400

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(render(errors))
        self.errors = errors


class Invalid(CatalogError):
    status = 422


class NotFound(CatalogError):
    status = 404

    @classmethod
    def entity(cls, kind_zh: str, kind_en: str, key: str) -> NotFound:
        return cls({"_": [message(f"找不到{kind_zh}「{key}」", f"No {kind_en} {key!r}.")]})


class Conflict(CatalogError):
    status = 409

    @classmethod
    def field(cls, field: str, msg: Message) -> Conflict:
        return cls({field: [msg]})


class Unauthenticated(CatalogError):
    """No valid credentials: log in, or send a valid API token."""

    status = 401


class Forbidden(CatalogError):
    status = 403

    @classmethod
    def because(cls, zh: str, en: str) -> Forbidden:
        return cls({"_": [message(zh, en)]})


class TooManyAttempts(CatalogError):
    """Too many failed sign-ins for an address from a source: wait `retry_after` seconds
    (sent as `Retry-After`)."""

    status = 429

    def __init__(self, errors: dict[str, Any], retry_after: int) -> None:
        super().__init__(errors)
        self.retry_after = retry_after

    @classmethod
    def wait(cls, wait: timedelta) -> TooManyAttempts:
        seconds = max(1, math.ceil(wait.total_seconds()))
        return cls(
            {
                "_": [
                    message(
                        f"登录尝试过于频繁，请 {seconds} 秒后再试",
                        f"Too many sign-in attempts; try again in {seconds} seconds.",
                    )
                ]
            },
            seconds,
        )


class QuotaExhausted(CatalogError):
    """A grant's call quota is used up: more calls need a new application."""

    status = 429


class DestinationRefused(CatalogError):
    """The upstream address of a resource is not one the portal fetches from."""

    status = 403


class BadUpstream(CatalogError):
    """The upstream failed, or sent more than the portal reads."""

    status = 502


class UpstreamTimedOut(CatalogError):
    status = 504
