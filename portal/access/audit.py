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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

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
            anchor = self.anchor
            self.session.info["audit_head"] = (entry.id, entry.hash)
            if not event.contains(self.session, "after_commit", _write_anchor):
                event.listen(self.session, "after_commit", _write_anchor)
                event.listen(self.session, "after_rollback", _forget_head)
            self.session.info["audit_anchor"] = anchor
        return entry

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

    def export_csv(self) -> Iterator[str]:
        """The whole log as CSV, a chunk at a time (it can be long)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
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


def _write_anchor(session: Session) -> None:
    head = session.info.pop("audit_head", None)
    anchor: Path | None = session.info.get("audit_anchor")
    if head is None or anchor is None:
        return
    anchor.parent.mkdir(parents=True, exist_ok=True)
    temporary = anchor.with_suffix(".tmp")
    temporary.write_text(f"{head[0]} {head[1]}\n")
    temporary.replace(anchor)  # atomic: never half a line


def _forget_head(session: Session) -> None:
    session.info.pop("audit_head", None)  # its entry was rolled back with the rest
