"""Dataset popularity: how often a dataset is used. Its page viewed, its open data
downloaded, a call served under a grant each count one; the home page lists the most used.

Page views cost no database write each: SQLite has one writer, and a write per view would
queue every visitor of a busy page behind it. They are counted in memory, per process and
per database (thread-safe), and written in one batched UPDATE (`popularity = popularity +
n` for each dataset seen) once FLUSH_VIEWS views have gathered or FLUSH_SECONDS have passed
since the last write, in a background thread, and at exit. Downloads and grant-served
calls write anyway (the quota, the audit entry), so they add their one in the same
transaction (`bump`). Obvious robots (a User-Agent naming a bot, spider or crawler) are not
counted.

A count writes no outbox event. An event would re-index every counted dataset and move
the catalog version that keeps the page figures (`statistics.py`) on each flush, for a
number that only ranks. So the search index takes up a new popularity when the dataset is
next written or at `portal reindex`, and the home page's list when its figures are next
worked out (at most `statistics.KEEP_SECONDS` later).
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from ..db import Database
from ..models import Dataset

log = logging.getLogger(__name__)

FLUSH_SECONDS = 60.0  # a process writes its page views at most this often …
FLUSH_VIEWS = 500  # … unless this many have gathered before
BOTS = re.compile(r"bot|spider|crawl|slurp", re.IGNORECASE)  # Googlebot, Baiduspider …

_DATASETS = Dataset.__table__
_ADD = (
    update(_DATASETS)
    .where(_DATASETS.c.id == bindparam("dataset"))
    .values(popularity=_DATASETS.c.popularity + bindparam("uses"))
)


def is_bot(user_agent: str | None) -> bool:
    return bool(user_agent) and BOTS.search(user_agent or "") is not None


def add(session: Session, counts: Mapping[str, int]) -> None:
    """`popularity += n` for each dataset id, as one executemany in the caller's
    transaction (in id order, so two processes flushing at once cannot deadlock)."""
    rows = [{"dataset": id_, "uses": n} for id_, n in sorted(counts.items()) if n > 0]
    if rows:
        session.execute(_ADD, rows)


def bump(session: Session, dataset_id: str) -> None:
    """One use, in the caller's transaction (a download, a grant-served call)."""
    add(session, {dataset_id: 1})


class ViewCounter:
    """Page views of one database's datasets, kept in this process until written."""

    def __init__(
        self,
        db: Database,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        flush_views: int = FLUSH_VIEWS,
    ) -> None:
        self._db = weakref.ref(db)  # the registry is keyed weakly by the database
        self.flush_seconds, self.flush_views = flush_seconds, flush_views
        self._counts: Counter[str] = Counter()
        self._seen = 0  # views in `_counts`
        self._lock = threading.Lock()  # guards the counts
        self._writing = threading.Lock()  # one write at a time
        self._last = time.monotonic()
        self._flushing = False

    def record(self, dataset_id: str) -> None:
        with self._lock:
            self._counts[dataset_id] += 1
            self._seen += 1
            due = (
                self._seen >= self.flush_views
                or time.monotonic() - self._last >= self.flush_seconds
            ) and not self._flushing
            if due:
                self._flushing = True
        if due:  # the visitor does not wait for the write
            threading.Thread(target=self._flush_quietly, name="portal-views", daemon=True).start()

    def pending(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def flush(self) -> int:
        """Write the views counted so far; returns how many. If the write fails they are
        kept for the next one, and the error is raised."""
        with self._writing:
            with self._lock:
                counts, self._counts, self._seen = self._counts, Counter(), 0
                self._last = time.monotonic()
            db = self._db()
            if not counts or db is None:
                return 0
            try:
                with db.transaction() as session:
                    add(session, counts)
            except BaseException:
                with self._lock:
                    self._counts.update(counts)
                    self._seen += sum(counts.values())
                raise
            return sum(counts.values())

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # kept; the next flush tries again
            log.exception("could not write dataset page views; will retry")
        finally:
            with self._lock:
                self._flushing = False


_COUNTERS: weakref.WeakKeyDictionary[Database, ViewCounter] = weakref.WeakKeyDictionary()
_REGISTRY = threading.Lock()


def views(db: Database) -> ViewCounter:
    """This process's page-view counter for `db`."""
    with _REGISTRY:
        counter = _COUNTERS.get(db)
        if counter is None:
            counter = _COUNTERS[db] = ViewCounter(db)
        return counter


def count_view(db: Database, dataset_id: str, user_agent: str | None) -> bool:
    """Count a page view of a dataset unless a robot made it; whether it was counted."""
    if is_bot(user_agent):
        return False
    views(db).record(dataset_id)
    return True


def flush_all() -> int:
    """Write every counter's views (at exit; a failure is logged, the views are lost)."""
    with _REGISTRY:
        counters = list(_COUNTERS.values())
    written = 0
    for counter in counters:
        try:
            written += counter.flush()
        except Exception as error:
            log.warning("dataset page views not written at exit: %s", error)
    return written


def _forget_parent_counts() -> None:
    """In a forked worker: the parent's views are the parent's to write."""
    global _COUNTERS, _REGISTRY
    _COUNTERS = weakref.WeakKeyDictionary()
    _REGISTRY = threading.Lock()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_counts)
