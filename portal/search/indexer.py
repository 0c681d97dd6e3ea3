"""Keeps the search index in step with the database, which stays the source of truth.

Every catalog write leaves an event in the outbox (same transaction). `drain` applies the
events after the live index's cursor: it re-reads the datasets they name and upserts or
deletes their documents, then stores the new cursor with the commit. Re-applying an event
is harmless, so a crash anywhere only means some events are applied twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer, selectinload

from ..db import Database
from ..models import CatalogEvent, Dataset, Organization
from .backends.base import IndexWriter, SearchBackend, WriterBusy
from .documents import index_document, is_indexed

log = logging.getLogger(__name__)
# What building index documents reads: the publisher and zones, not the big JSON columns.
INDEX_LOAD = (
    selectinload(Dataset.publisher),
    selectinload(Dataset.zones),
    defer(Dataset.quality),
    defer(Dataset.suggestion),
    defer(Dataset.extras),
)
BATCH = 1000
Progress = Callable[[int], None]


def _load(session: Session, query) -> list[Dataset]:  # type: ignore[no-untyped-def]
    return list(session.scalars(query.options(*INDEX_LOAD)))


@dataclass
class Indexer:
    db: Database
    backend: SearchBackend

    def pending(self) -> int:
        """Catalog events the live index has not applied yet."""
        cursor = self.backend.live_cursor()
        with self.db.sessions() as session:
            return session.scalar(select(func.count()).where(CatalogEvent.id > cursor)) or 0

    def drain(self) -> int:
        """Apply outbox events to the live index; returns how many. 0 if another process
        holds the writer (it drains them) or the engine is unavailable (it catches up later)."""
        try:
            writer = self.backend.live_writer()
        except WriterBusy:
            return 0
        applied = 0
        while True:
            with self.db.sessions() as session:
                events = list(
                    session.scalars(
                        select(CatalogEvent)
                        .where(CatalogEvent.id > writer.cursor)
                        .order_by(CatalogEvent.id)
                        .limit(BATCH)
                    )
                )
                if not events:
                    return applied
                self._apply(session, writer, events)
            writer.commit(events[-1].id)
            applied += len(events)

    def _apply(self, session: Session, writer: IndexWriter, events: list[CatalogEvent]) -> None:
        dataset_ids = {e.entity_id for e in events if e.entity_type == "dataset"}
        # A department's new title changes its datasets' documents; a new department has none.
        organization_ids = {
            e.entity_id for e in events if e.entity_type == "organization" and e.action == "update"
        }
        datasets = _load(session, select(Dataset).where(Dataset.id.in_(dataset_ids)))
        if organization_ids:  # a renamed department changes its datasets' documents
            datasets += _load(
                session,
                select(Dataset).join(Organization).where(Organization.id.in_(organization_ids)),
            )
        live = {d.id: d for d in datasets if is_indexed(d)}
        writer.upsert(index_document(d) for d in live.values())
        writer.delete(dataset_ids - set(live))

    def reindex(self, progress: Progress | None = None) -> int:
        """Build a new index version from the database and make it live; returns documents."""
        with self.db.sessions() as session:
            start = session.scalar(select(func.max(CatalogEvent.id))) or 0
            writer = self.backend.new_version(cursor=start)
            count = 0
            query = (
                select(Dataset)
                .where(Dataset.state == "active")
                .order_by(Dataset.id)
                .options(*INDEX_LOAD)
                .execution_options(yield_per=BATCH)
            )
            batch: list = []
            for dataset in session.scalars(query):
                batch.append(index_document(dataset))
                if len(batch) >= BATCH:
                    count += _add(writer, batch, progress)
                    batch = []
            count += _add(writer, batch, progress)
        writer.commit(start)
        writer.publish()
        writer.close()
        self.drain()  # events that arrived while building
        return count

    def doctor(self) -> DoctorReport:
        """Compare the index with the database: documents missing, stale or left over."""
        with self.db.sessions() as session:
            expected = {
                d.id: index_document(d).stamp
                for d in _load(session, select(Dataset).where(Dataset.state == "active"))
            }
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
