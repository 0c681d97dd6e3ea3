"""The audit log: every security-relevant event, appended, each entry chained by hash to
the one before it, so that an altered entry no longer matches its hash and a removed one
breaks the chain.

The database refuses UPDATE and DELETE on the table (triggers, migration 0004) and the
unique `prev_hash` stops two writers from forking the chain. Someone who can drop the
triggers can still cut entries off the end, or re-hash the chain from an altered entry
on; the signed checkpoints outside the database (`checkpoints.py`, written after each
commit) catch that, and a copy of them kept by an outside witness catches someone who
also holds the signing key.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import ColumnElement, event, func, select, text
from sqlalchemy.orm import Session, SessionTransaction

from ..db import utcnow
from ..models import AuditEntry
from .checkpoints import Checkpoint, CheckpointError, CheckpointLog, chain_problems

log = logging.getLogger(__name__)

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
    anchor: CheckpointLog | None = None  # signs the chain's head after each commit

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
        begins = entry.prev_hash == GENESIS
        heads = session.info.setdefault("audit_heads", [])
        heads.append((written_in, entry.id, entry.hash, begins))
        session.info["audit_anchor"] = self.anchor
        if not event.contains(session, "after_commit", _write_anchor):
            event.listen(session, "after_commit", _write_anchor)
            event.listen(session, "after_soft_rollback", _forget_rolled_back)

    def verify(self, witness: Witness | None = None) -> VerifyReport:
        """Recompute the chain from the first entry and hold it against the signed
        checkpoints (the instance's, and `witness`'s copy if given); report what is wrong."""
        report = VerifyReport()
        targets = self._checkpoints(report, witness)
        expected_prev = GENESIS
        pending = 0
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
            while pending < len(targets) and targets[pending][0].head_id <= entry.id:
                report.problems.extend(_held_against(*targets[pending], entry, report.entries))
                pending += 1
            if len(report.problems) >= 20:
                return report
        for checkpoint, where in targets[pending:]:
            report.problems.append(
                f"{where} names entry #{checkpoint.head_id} as number {checkpoint.count}, "
                f"but the log ends at {report.entries} entries (entries were cut off the end)"
            )
        if targets:
            report.checkpointed = max(checkpoint.count for checkpoint, _ in targets)
        if self.anchor is not None and report.entries and not self.anchor.exists():
            report.problems.append(
                f"the log holds {report.entries} entries but its signed checkpoints "
                f"({self.anchor.head_path}, {self.anchor.lines_path}) are missing"
            )
        return report

    def _checkpoints(
        self, report: VerifyReport, witness: Witness | None
    ) -> list[tuple[Checkpoint, str]]:
        """The checkpoints to hold the chain against, in the order of their heads, each
        with where it comes from; what is wrong with them on their own goes to `report`."""
        # One of each checkpoint (the head repeats the last line's; the witness, ours)
        found: dict[tuple[int, str, int], tuple[Checkpoint, str]] = {}
        local: list[Checkpoint] = []
        if self.anchor is not None:
            local = self._local_checkpoints(report)
            for checkpoint in local:
                found.setdefault(_key(checkpoint), (checkpoint, "the instance's checkpoint"))
        if witness is not None:
            report.problems.extend(
                chain_problems(witness.checkpoints, witness.public_key, "the witness copy")
            )
            if self.anchor is not None:
                report.problems.extend(_differences(witness.checkpoints, local))
            for checkpoint in witness.checkpoints:
                found.setdefault(_key(checkpoint), (checkpoint, "the witness's checkpoint"))
        return sorted(found.values(), key=lambda pair: (pair[0].head_id, pair[0].count))

    def _local_checkpoints(self, report: VerifyReport) -> list[Checkpoint]:
        anchor = self.anchor
        assert anchor is not None
        try:
            lines, head, public = anchor.lines(), anchor.head(), anchor.public_key()
        except (CheckpointError, ValueError, OSError) as error:
            report.problems.append(f"the checkpoint files cannot be read: {error}")
            return []
        if public is None:
            if lines or head is not None:
                report.problems.append(
                    f"the checkpoint signing key {anchor.key_path} is missing: "
                    "the checkpoints cannot be checked"
                )
            return []
        if lines and head is None:
            report.problems.append(f"the head checkpoint {anchor.head_path} is missing")
        chain = [*lines, head] if head is not None else lines
        if head is not None and lines and head.line() == lines[-1].line():
            chain = lines  # no commit since the line was written (--start writes both alike)
        report.problems.extend(chain_problems(chain, public, "the instance's checkpoints"))
        return chain

    def start_checkpoints(self) -> Checkpoint | None:
        """Begin (or catch up) the signed checkpoints at the chain's current head: for a log
        that was written before checkpoints existed. An operator's decision, made after
        checking the log by other means: whatever the log holds now is vouched for."""
        if self.anchor is None:
            return None
        newest = self.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        if newest is None:
            return None
        head_id = newest.id

        def count_since(after_id: int) -> int:
            between = (AuditEntry.id > after_id, AuditEntry.id <= head_id)
            return self.session.scalar(select(func.count()).where(*between)) or 0

        self.anchor.advance(head_id, newest.hash, count_since, start=True)
        return self.anchor.head()

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

    def record_export(
        self, *, actor: str, ip: str | None = None, wanted: AuditFilter | None = None
    ) -> AuditEntry:
        """Note that the log (or the part `wanted` names) leaves the portal: who took it
        is itself an event of the log. Called by every export, before its first byte."""
        scope = {}
        if wanted is not None:
            scope = {
                "actor": wanted.actor or None,
                "action": wanted.action or None,
                "subject": wanted.subject or None,
                "since": wanted.since.isoformat() if wanted.since else None,
                "until": wanted.until.isoformat() if wanted.until else None,
            }
        filters = {key: value for key, value in scope.items() if value}
        return self.append("audit.export", actor=actor, ip=ip, filters=filters)

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


@dataclass(frozen=True)
class Witness:
    """A copy of the checkpoints kept outside the instance, and the public key they were
    published with (`portal audit checkpoints --export`)."""

    checkpoints: list[Checkpoint]
    public_key: Ed25519PublicKey


@dataclass
class VerifyReport:
    entries: int = 0
    last: tuple[int, str] | None = None
    checkpointed: int = 0  # entries vouched for by the newest checkpoint
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _key(checkpoint: Checkpoint) -> tuple[int, str, int]:
    return checkpoint.head_id, checkpoint.head, checkpoint.count


def _held_against(
    checkpoint: Checkpoint, where: str, entry: AuditEntry, position: int
) -> list[str]:
    """What is wrong with the chain at `checkpoint`, `entry` being the first at or after
    its head and `position` the number of entries up to it."""
    if checkpoint.head_id < entry.id:
        return [
            f"entry #{checkpoint.head_id}, named by {where}, is missing "
            "(entries were cut off or removed)"
        ]
    if checkpoint.head != entry.hash:
        return [
            f"entry #{entry.id} is not the one {where} signed "
            "(the chain was rewritten or re-hashed)"
        ]
    if checkpoint.count != position:
        return [
            f"{where} counts {checkpoint.count} entries up to #{entry.id}, "
            f"the log holds {position} (entries were removed)"
        ]
    return []


def _differences(witnessed: list[Checkpoint], local: list[Checkpoint]) -> list[str]:
    """The witness's copy must be where the instance's checkpoints began: the same lines
    (its last may have been the head at the time of export, since superseded)."""
    for number, checkpoint in enumerate(witnessed, start=1):
        if number <= len(local) and local[number - 1].line() == checkpoint.line():
            continue
        was_head = number == len(witnessed) and (
            checkpoint.prev == (local[number - 2].line_hash() if number > 1 else GENESIS)
        )
        if was_head and number - 1 <= len(local):
            continue
        return [
            f"the instance's checkpoints differ from the witness copy at checkpoint {number} "
            "(the checkpoint log was rewritten or re-signed)"
        ]
    return []


def _write_anchor(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released (SQLAlchemy calls this for those too): no commit yet
    heads = session.info.pop("audit_heads", None)
    anchor: CheckpointLog | None = session.info.get("audit_anchor")
    if not heads or anchor is None:
        return
    _, head_id, head_hash, _ = max(heads, key=lambda head: head[1])
    begins = any(head[3] for head in heads)
    bind = session.get_bind()

    def count_since(after_id: int) -> int:
        # The session cannot run SQL after its commit; a connection of its own, reading
        # only (no write lock taken on SQLite). Appenders are serialized up to their
        # commit (advisory lock, SQLite's write lock), so every entry up to head_id is in.
        with bind.connect() as connection:
            connection.execution_options(sqlite_begin="")
            between = (AuditEntry.id > after_id, AuditEntry.id <= head_id)
            return connection.scalar(select(func.count()).where(*between)) or 0

    try:
        anchor.advance(head_id, head_hash, count_since, start=begins)
    except (OSError, CheckpointError, ValueError):
        # The event is committed; a checkpoint that could not be written is what
        # `portal audit verify` reports (the entries after the last checkpoint).
        log.exception("the audit checkpoint could not be written")


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
