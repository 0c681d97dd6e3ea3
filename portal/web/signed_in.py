"""What the pages of signed-in users share: the account behind the session, a transaction
whose refusal the page shows, the caller's address, and the search index brought up to
date after a write."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

from flask import abort, request
from flask_login import current_user
from sqlalchemy.orm import Session

from ..catalog.errors import CatalogError
from ..models import User
from ..search import SearchUnavailable
from ..services import access, database, indexer

T = TypeVar("T")


def current_account(session: Session) -> User:
    """The signed-in user's account, loaded in `session`; 403 when it is gone since the
    session was opened."""
    user = access(session).accounts.find(current_user.id)
    if user is None:
        abort(403)
    return user


def attempt(work: Callable[[Session], T]) -> tuple[T | None, CatalogError | None]:
    """Run `work` in a transaction: (result, None), or (None, the service's refusal)."""
    try:
        with database().transaction() as session:
            return work(session), None
    except CatalogError as error:
        return None, error


def client_ip() -> str | None:
    return request.remote_addr


def drain_index() -> None:
    """What was just written searchable now (a serving portal's indexer would within a
    second)."""
    with contextlib.suppress(SearchUnavailable):  # it catches up when the engine is back
        indexer().drain()
