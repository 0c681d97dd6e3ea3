"""Concurrent writers: the signed head of the audit log names only committed entries and
never moves back; token use while others write never fails for the other writer's commit
(SQLite's read-then-write trap)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from portal.access.audit import AuditLog
from portal.models import AuditEntry
from portal.services import access, audit_anchor, database, settings

from .conftest import World
from .conftest import world as world  # the fixture


def anchored(world: World) -> tuple[int, str]:
    """The head of the signed checkpoints: the newest entry's id and hash."""
    head = audit_anchor(world.app).head()
    assert head is not None
    return head.head_id, head.head


def newest(world: World) -> tuple[int, str]:
    with database(world.app).sessions() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        return entry.id, entry.hash


def test_an_entry_rolled_back_with_its_savepoint_never_reaches_the_anchor(world: World) -> None:
    with database(world.app).transaction() as session:
        audit = access(session, world.app).audit
        kept = audit.append("test.kept", actor="test")
        savepoint = session.begin_nested()
        audit.append("test.dropped", actor="test")
        savepoint.rollback()
        released = session.begin_nested()
        audit.append("test.released", actor="test")
        released.commit()  # a savepoint's release is no commit: the anchor waits
        assert anchored(world)[0] < kept.id
    head = anchored(world)
    assert head == newest(world)
    with database(world.app).sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.id >= kept.id))
        assert list(actions) == ["test.kept", "test.released"]
        assert AuditLog(session, audit_anchor(world.app)).verify().intact


def test_a_rolled_back_transaction_leaves_the_anchor_where_it_was(world: World) -> None:
    before = anchored(world)
    session = database(world.app).sessions()
    with session.begin():
        access(session, world.app).audit.append("test.kept", actor="test")
    session.begin()
    access(session, world.app).audit.append("test.dropped", actor="test")
    session.rollback()
    with session.begin():
        session.scalar(select(func.count()).select_from(AuditEntry))  # commits nothing new
    session.close()
    assert anchored(world) > before
    assert anchored(world) == newest(world)


def test_tokens_used_while_others_write_all_succeed_and_the_chain_holds(world: World) -> None:
    token = world.token("officer", ["catalog:read", "catalog:manage", "applications:read"])
    statuses: list[int] = []
    failures: list[str] = []

    def use(times: int) -> None:
        client = world.app.test_client()
        for _ in range(times):
            response = client.get(
                "/api/v1/applications", headers={"Authorization": f"Bearer {token}"}
            )
            statuses.append(response.status_code)
            if response.status_code != 200:
                failures.append(response.get_data(as_text=True)[:300])

    def write(times: int) -> None:
        for i in range(times):
            with database(world.app).transaction() as session:
                access(session, world.app).audit.append("test.write", actor=f"writer {i}")

    threads = [threading.Thread(target=use, args=(25,)) for _ in range(3)]
    threads.append(threading.Thread(target=write, args=(40,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and statuses == [200] * 75
    assert anchored(world) == newest(world)
    folder = settings(world.app).instance_dir
    assert not list(folder.glob(".audit-head-*"))  # no temporary left behind
    with database(world.app).sessions() as session:
        assert AuditLog(session, audit_anchor(world.app)).verify().intact
