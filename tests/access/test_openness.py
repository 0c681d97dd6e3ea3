"""Changing data's openness (either way) or lowering its grade waits for the platform
authority (issue 15: a widening applied at once let anonymous users download a 重要
dataset); other edits, and a stricter grade, apply at once.
Grade and openness changes are audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.models import AuditEntry
from portal.services import catalog, database

from .conftest import World


def document(world: World, name: str) -> dict[str, Any]:
    with database(world.app).sessions() as session:
        return catalog(session, "test", world.app).datasets.document(name)


def current(world: World, name: str) -> tuple[str, str]:
    found = document(world, name)
    return found["open_type"], found["grade"]


def audited(world: World, action: str) -> list[AuditEntry]:
    with database(world.app).sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_downgrade_waits_for_the_authority_then_applies(world: World) -> None:
    less_open = {
        **document(world, "bus-lines"),
        "open_type": "conditional",
        "grade": "general2",
        "open_condition": "须签署数据使用协议",
    }
    no_reason = world.call("PUT", "/api/v1/datasets/bus-lines", "officer", json=less_open)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]
    held = world.call(
        "PUT", "/api/v1/datasets/bus-lines?reason=含个人出行轨迹", "officer", json=less_open
    )
    assert held.status_code == 202
    request = held.get_json()
    assert (request["from"], request["to"], request["state"]) == (
        "unconditional",
        "conditional",
        "pending",
    )
    assert current(world, "bus-lines") == ("unconditional", "general1")  # nothing applied yet
    queue = world.call("GET", "/api/v1/openness-requests", "authority").get_json()["requests"]
    assert [r["id"] for r in queue] == [request["id"]]
    # the department cannot approve its own downgrade
    mine = world.call(
        "POST",
        f"/api/v1/openness-requests/{request['id']}/decision",
        "officer",
        json={"decision": "approve"},
    )
    assert mine.status_code == 403
    approved = world.call(
        "POST",
        f"/api/v1/openness-requests/{request['id']}/decision",
        "authority",
        json={"decision": "approve"},
    )
    assert approved.status_code == 200 and approved.get_json()["state"] == "approved"
    assert current(world, "bus-lines") == ("conditional", "general2")
    change = audited(world, "dataset.classification")
    assert change and change[-1].detail["open_type"] == ["unconditional", "conditional"]
    assert audited(world, "openness.request") and audited(world, "openness.approved")


def test_a_rejected_downgrade_changes_nothing(world: World) -> None:
    closed = {**document(world, "card-swipes"), "open_type": "closed", "grade": "general4"}
    closed.pop("open_condition", None)
    held = world.call(
        "PUT", "/api/v1/datasets/card-swipes?reason=暂停开放", "officer", json=closed
    ).get_json()
    rejected = world.call(
        "POST",
        f"/api/v1/openness-requests/{held['id']}/decision",
        "authority",
        json={"decision": "reject", "reason": "无法律依据"},
    )
    assert rejected.get_json()["state"] == "rejected"
    assert current(world, "card-swipes") == ("conditional", "general2")


def test_more_open_waits_too_and_other_edits_apply_at_once(world: World) -> None:
    more_open = {
        **document(world, "card-swipes"),
        "open_type": "unconditional",
        "grade": "general1",
    }
    more_open.pop("open_condition", None)
    response = world.call("PUT", "/api/v1/datasets/card-swipes", "officer", json=more_open)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["to"] == "unconditional"
    assert current(world, "card-swipes") == ("conditional", "general2")
    retitled = {**document(world, "card-swipes"), "title": "刷卡记录（新）"}
    response = world.call("PUT", "/api/v1/datasets/card-swipes", "officer", json=retitled)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["title"] == "刷卡记录（新）"
    # another department's officer may not touch it
    other = world.call("PUT", "/api/v1/datasets/card-swipes", "other_officer", json=more_open)
    assert other.status_code == 403
