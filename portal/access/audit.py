"""The audit log: every security-relevant event, appended, each entry chained by hash to
the one before it, so that an altered entry no longer matches its hash and a removed one
breaks the chain.

The database refuses UPDATE and DELETE on the table (triggers, migration 0004) and the
unique `prev_hash` stops two writers from forking the chain. Someone who can drop the
triggers can still cut entries off the end; the anchor file (the last entry's number and
hash, rewritten after each commit, kept outside the database) catches that.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, event, func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from ..db import utcnow
from ..models import AuditEntry

GENESIS = "0" * 64
EXPORT_COLUMNS = ("id", "at", "actor", "action", "subject", "ip", "detail", "prev_hash", "hash")


def entry_hash(entry: AuditEntry) -> str:
    content = [
        entry.prev_hash,
        entry.at.isoformat(),
        entry.actor,
        entry.action,
        entry.subject,
        entry.ip,
        entry.detail,
    ]
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class AuditFilter:
    """Which entries a search of the log names: by actor, action and subject (equal, or a
    prefix with a trailing *: `dataset:*`) and by day (`until` included, in UTC)."""

    actor: str = ""
    action: str = ""
    subject: str = ""
    since: date | None = None
    until: date | None = None

    def where(self) -> list[ColumnElement[bool]]:
        clauses = [
            _text_match(column, value)
            for column, value in (
                (AuditEntry.actor, self.actor),
                (AuditEntry.action, self.action),
                (AuditEntry.subject, self.subject),
            )
            if value
        ]
        if self.since:
            clauses.append(AuditEntry.at >= _midnight(self.since))
        if self.until:
            clauses.append(AuditEntry.at < _midnight(self.until + timedelta(days=1)))
        return clauses


def _text_match(column: Any, value: str) -> ColumnElement[bool]:
    """Equality, as the API filters; a trailing * matches a prefix (`dataset:*`)."""
    if not value.endswith("*"):
        return column == value
    prefix = value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"{prefix}%", escape="\\")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class AuditLog:
    session: Session
    anchor: Path | None = None  # where the chain's head is copied after each commit

    def append(
        self,
        action: str,
        *,
        actor: str,
        subject: str | None = None,
        ip: str | None = None,
        **detail: Any,
    ) -> AuditEntry:
        """Add an entry in the caller's transaction: it exists exactly if the event does."""
        if self.session.get_bind().dialect.name == "postgresql":
            # One appender at a time; the lock ends with the transaction.
            self.session.execute(text("SELECT pg_advisory_xact_lock(7206)"))
        previous = self.session.scalar(
            select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
        )
        entry = AuditEntry(
            at=utcnow(),
            actor=actor,
            action=action,
            subject=subject,
            ip=ip,
            detail=detail,
            prev_hash=previous or GENESIS,
        )
        entry.hash = entry_hash(entry)
        self.session.add(entry)
        self.session.flush()
        if self.anchor is not None:
            self._remember_head(entry)
        return entry

    def _remember_head(self, entry: AuditEntry) -> None:
        """Note the entry for the anchor, with the (sub)transaction it was written in: it
        reaches the anchor only if the outermost commit happens and no rollback of a
        savepoint around it took it away."""
        session = self.session
        written_in = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault("audit_heads", []).append((written_in, entry.id, entry.hash))
        session.info["audit_anchor"] = self.anchor
        if not event.contains(session, "after_commit", _write_anchor):
            event.listen(session, "after_commit", _write_anchor)
            event.listen(session, "after_soft_rollback", _forget_rolled_back)

    def verify(self) -> VerifyReport:
        """Recompute the chain from the first entry; report the first break."""
        report = VerifyReport()
        expected_prev = GENESIS
        query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
        for entry in self.session.scalars(query):
            if entry.prev_hash != expected_prev:
                report.problems.append(
                    f"entry #{entry.id} does not follow the entry before it "
                    "(an entry was removed or replaced)"
                )
            if entry_hash(entry) != entry.hash:
                report.problems.append(f"entry #{entry.id} was altered")
            expected_prev = entry.hash
            report.entries += 1
            report.last = (entry.id, entry.hash)
            if len(report.problems) >= 20:
                break
        if self.anchor is not None and self.anchor.exists():
            anchored_id, anchored_hash = self.anchor.read_text().split()
            kept = self.session.get(AuditEntry, int(anchored_id))
            if kept is None or kept.hash != anchored_hash:
                report.problems.append(
                    f"entry #{anchored_id}, the last one written, is missing or changed "
                    "(entries were cut off the end)"
                )
        return report

    def entries(
        self, *, action: str | None = None, subject: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if action:
            query = query.where(AuditEntry.action == action)
        if subject:
            query = query.where(AuditEntry.subject == subject)
        return list(self.session.scalars(query))

    def search(self, wanted: AuditFilter, offset: int, limit: int) -> tuple[list[AuditEntry], int]:
        """A page of the entries `wanted` names, the newest first, and how many there are."""
        query = select(AuditEntry).where(*wanted.where())
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
        return list(self.session.scalars(page)), total

    def actions(self) -> list[str]:
        """Every action the log holds an entry of, in order."""
        query = select(AuditEntry.action).distinct().order_by(AuditEntry.action)
        return list(self.session.scalars(query))

    def export_csv(self, wanted: AuditFilter | None = None) -> Iterator[str]:
        """The log (the entries `wanted` names, if given) as CSV, oldest first, a chunk at
        a time (it can be long)."""
        where = wanted.where() if wanted is not None else []
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        query = (
            select(AuditEntry)
            .where(*where)
            .order_by(AuditEntry.id)
            .execution_options(yield_per=1000)
        )
        for number, entry in enumerate(self.session.scalars(query), start=1):
            writer.writerow(
                [
                    entry.id,
                    entry.at.isoformat(),
                    entry.actor,
                    entry.action,
                    entry.subject or "",
                    entry.ip or "",
                    json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
                    entry.prev_hash,
                    entry.hash,
                ]
            )
            if number % 1000 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()


@dataclass
class VerifyReport:
    entries: int = 0
    last: tuple[int, str] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


_ANCHOR_LOCK = threading.Lock()  # the anchor only moves forward within a process


def _write_anchor(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released (SQLAlchemy calls this for those too): no commit yet
    heads = session.info.pop("audit_heads", None)
    anchor: Path | None = session.info.get("audit_anchor")
    if not heads or anchor is None:
        return
    _, head_id, head_hash = max(heads, key=lambda head: head[1])
    anchor.parent.mkdir(parents=True, exist_ok=True)
    with _ANCHOR_LOCK:
        if _anchored_id(anchor) >= head_id:  # a later commit got there first
            return
        # A name of its own: two processes' commits must not write into one another's.
        fd, temporary = tempfile.mkstemp(dir=anchor.parent, prefix=".anchor-", suffix=".tmp")
        with os.fdopen(fd, "w") as out:
            out.write(f"{head_id} {head_hash}\n")
        os.replace(temporary, anchor)  # atomic: never half a line


def _anchored_id(anchor: Path) -> int:
    try:
        return int(anchor.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return 0


def _forget_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    """Drop the entries written in `rolled_back` or in savepoints within it."""
    heads = session.info.get("audit_heads")
    if heads:
        heads[:] = [head for head in heads if not _within(head[0], rolled_back)]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
