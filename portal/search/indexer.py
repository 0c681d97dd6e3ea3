"""Keeps the search index in step with the database, which stays the source of truth.

Every catalog write leaves an event in the outbox (same transaction). `drain` applies the
events after the live index's cursor: it re-reads the datasets they name and upserts or
deletes their documents, then stores the new cursor with the commit. Re-applying an event
is harmless, so a crash anywhere only means some events are applied twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row, func, select, true
from sqlalchemy.orm import Session

from ..db import Database
from ..models import CatalogEvent, Dataset, Organization
from .backends.base import IndexWriter, SearchBackend, SearchUnavailable, WriterBusy
from .documents import document_query, documents

log = logging.getLogger(__name__)
BATCH = 1000  # events read at a time
COMMIT_EVERY = 20_000  # events applied between index commits while catching up
EVENT_COLUMNS = (
    CatalogEvent.id,
    CatalogEvent.entity_type,
    CatalogEvent.entity_id,
    CatalogEvent.action,
)
Progress = Callable[[int], None]
# One drain at a time in a process: the indexer thread and a request catching up share the
# backend's one writer.
_DRAINING = threading.Lock()
CATCH_UP_POLL_SECONDS = 0.05


@dataclass
class Indexer:
    db: Database
    backend: SearchBackend

    def pending(self) -> int:
        """Catalog events the live index has not applied yet."""
        cursor = self.backend.live_cursor()
        with self.db.sessions() as session:
            return session.scalar(select(func.count()).where(CatalogEvent.id > cursor)) or 0

    def catch_up(self, within: float) -> bool:
        """Wait until the live index reflects every catalog event committed before the call
        (draining here when this process may), for at most `within` seconds; False: it
        still lags behind (the answer may then miss the newest writes)."""
        with self.db.sessions() as session:
            last = session.scalar(select(func.max(CatalogEvent.id))) or 0
        deadline = time.monotonic() + within
        while self._live_cursor() < last:
            self.drain()
            if self._live_cursor() >= last:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(CATCH_UP_POLL_SECONDS)
        return True

    def _live_cursor(self) -> int:
        try:
            return self.backend.live_cursor()
        except SearchUnavailable:  # no live index yet (or one of an older schema): drain builds it
            return -1

    def drain(self) -> int:
        """Apply outbox events to the live index; returns how many. 0 if another process
        holds the writer (it drains them) or the engine is unavailable (it catches up later)."""
        with _DRAINING:
            return self._drain()

    def _drain(self) -> int:
        try:
            writer = self.backend.live_writer()
        except WriterBusy:
            return 0
        applied = uncommitted = 0
        cursor = writer.cursor
        while True:
            with self.db.sessions() as session:
                events = session.execute(
                    select(*EVENT_COLUMNS)
                    .where(CatalogEvent.id > cursor)
                    .order_by(CatalogEvent.id)
                    .limit(BATCH)
                ).all()
                if events:
                    self._apply(session, writer, events)
            if events:
                cursor = events[-1].id
                applied += len(events)
                uncommitted += len(events)
            # A commit per batch made a 100k-event drain twice as slow (segments to merge).
            if uncommitted and (not events or uncommitted >= COMMIT_EVERY):
                writer.commit(cursor)
                uncommitted = 0
            if not events:
                return applied

    def _apply(self, session: Session, writer: IndexWriter, events: Sequence[Row[Any]]) -> None:
        dataset_ids = {e.entity_id for e in events if e.entity_type == "dataset"}
        # A department's new title changes its datasets' documents; a new department has none.
        organization_ids = {
            e.entity_id for e in events if e.entity_type == "organization" and e.action == "update"
        }
        rows = list(session.execute(document_query(Dataset.id.in_(dataset_ids))))
        if organization_ids:  # a renamed department changes its datasets' documents
            rows += session.execute(document_query(Organization.id.in_(organization_ids)))
        live = {document.id: document for document in documents(session, rows)}
        writer.upsert(live.values())
        writer.delete(dataset_ids - set(live))  # withdrawn or gone

    def reindex(self, progress: Progress | None = None) -> int:
        """Build a new index version from the database and make it live; returns documents."""
        with self.db.sessions() as session:
            start = session.scalar(select(func.max(CatalogEvent.id))) or 0
            writer = self.backend.new_version(cursor=start)
            count = 0
            query = document_query(true()).order_by(Dataset.id)
            for rows in session.execute(query.execution_options(yield_per=BATCH)).partitions():
                count += _add(writer, documents(session, rows), progress)
        writer.commit(start)
        writer.publish()
        writer.close()
        self.drain()  # events that arrived while building
        return count

    def doctor(self) -> DoctorReport:
        """Compare the index with the database: documents missing, stale or left over."""
        with self.db.sessions() as session:
            rows = session.execute(document_query(true())).all()
            expected = {document.id: document.stamp for document in documents(session, rows)}
        report = DoctorReport(expected=len(expected))
        for doc_id, stamp in self.backend.stamps():
            report.indexed += 1
            want = expected.pop(doc_id, None)
            if want is None:
                report.orphaned.append(doc_id)
            elif want != stamp:
                report.stale.append(doc_id)
        report.missing = sorted(expected)
        report.pending = self.pending()
        return report


def _add(writer: IndexWriter, batch: list, progress: Progress | None) -> int:
    add: Callable[[Iterable], None] = getattr(writer, "add", writer.upsert)
    add(batch)
    if progress:
        progress(len(batch))
    return len(batch)


@dataclass
class DoctorReport:
    expected: int = 0
    indexed: int = 0
    pending: int = 0
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphaned)


class IndexerThread(threading.Thread):
    """Drains the outbox every `interval` seconds inside a serving process."""

    def __init__(self, indexer: Indexer, interval: float = 1.0) -> None:
        super().__init__(name="search-indexer", daemon=True)
        self.indexer, self.interval = indexer, interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                self.indexer.drain()
            except Exception:  # keep serving; the events stay and are retried
                log.exception("search indexer: drain failed; will retry")

    def stop(self) -> None:
        self._stop_event.set()
