"""Revisions: every change to a catalog entity, with who, when, what changed and the state after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import CatalogEvent, Revision


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys whose value changed, as ``{key: {"old": ..., "new": ...}}``."""
    before = before or {}
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(
    session: Session,
    *,
    entity_type: str,
    entity_id: str,
    action: str,
    actor: str,
    snapshot: dict[str, Any],
    previous: dict[str, Any] | None,
    message: str | None = None,
) -> Revision:
    """Append a revision and the matching outbox event, in the caller's transaction."""
    last = session.scalar(
        select(func.max(Revision.number)).where(
            Revision.entity_type == entity_type, Revision.entity_id == entity_id
        )
    )
    now = utcnow()
    revision = Revision(
        entity_type=entity_type,
        entity_id=entity_id,
        number=(last or 0) + 1,
        action=action,
        actor=actor,
        at=now,
        message=message,
        # A creation's snapshot says it all; listing every field as "changed" adds nothing.
        changes=diff(previous, snapshot) if previous is not None else {},
        snapshot=snapshot,
    )
    session.add(revision)
    session.add(CatalogEvent(entity_type=entity_type, entity_id=entity_id, action=action, at=now))
    return revision


def history(session: Session, entity_type: str, entity_id: str) -> list[Revision]:
    """Revisions of one entity, newest first."""
    return list(
        session.scalars(
            select(Revision)
            .where(Revision.entity_type == entity_type, Revision.entity_id == entity_id)
            .order_by(Revision.number.desc())
        )
    )
