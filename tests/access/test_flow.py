"""The whole flow of conditional access, through the API as an enterprise would drive it:
register → apply → formality review → partial approval → token → metered download →
quota exhausted (429) → revocation (403) — each step in the audit log, which verifies,
and fails to verify once a row is edited behind its back."""

from __future__ import annotations

from sqlalchemy import select, text

from portal.access import AuditLog
from portal.models import AuditEntry, Grant
from portal.services import access, database

from .conftest import World

USCC = "91370203MA3NPB0X1D"


def valid_uscc() -> str:
    from schemas.uscc import check_character

    return USCC[:17] + check_character(USCC[:17])


def actions(world: World) -> list[str]:
    with database(world.app).sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_whole_flow_is_metered_enforced_and_audited(world: World) -> None:
    # register an enterprise and get a token for applying
    registered = world.client.post(
        "/api/v1/accounts",
        json={
            "email": "data@haier-demo.cn",
            "password": "a long enough password",
            "enterprise_name": "青岛示例数据科技有限公司",
            "enterprise_uscc": valid_uscc(),
        },
    )
    assert registered.status_code == 202, registered.get_json()
    created = world.client.post(
        "/api/v1/tokens",
        json={
            "email": "data@haier-demo.cn",
            "password": "a long enough password",
            "name": "apply",
            "scopes": ["applications", "catalog:read"],
        },
    )
    assert created.status_code == 201
    applicant = created.get_json()["token"]
    swipes = world.resources["card-swipes"]

    # apply for both resources, 30 days, 10 calls
    applied = world.call(
        "POST",
        "/api/v1/applications",
        token=applicant,
        json={
            "dataset": "card-swipes",
            "resources": swipes,
            "purpose": "分析公交客流以优化定制公交线路",
            "scenario": "青易行 定制公交",
            "term_days": 30,
            "quota_calls": 10,
            "commitment_accepted": True,
        },
    )
    assert applied.status_code == 201, applied.get_json()
    application = applied.get_json()
    assert application["state"] == "submitted" and application["formality_due"]
    number = application["id"]

    # the department cannot skip the formality review; the authority passes it
    early = world.call(
        "POST",
        f"/api/v1/applications/{number}/decision",
        "officer",
        json={"decision": "approve"},
    )
    assert early.status_code == 409
    passed = world.call(
        "POST",
        f"/api/v1/applications/{number}/formality",
        "authority",
        json={"decision": "pass"},
    )
    assert passed.get_json()["state"] == "in_review"

    # partial approval: one resource, 10 days, 3 calls; asking for more than applied fails
    too_much = world.call(
        "POST",
        f"/api/v1/applications/{number}/decision",
        "officer",
        json={"decision": "approve", "quota_calls": 11},
    )
    assert too_much.status_code == 422 and "quota_calls" in too_much.get_json()["errors"]
    approved = world.call(
        "POST",
        f"/api/v1/applications/{number}/decision",
        "officer",
        json={"decision": "approve", "quota_calls": 3, "term_days": 10, "resources": swipes[:1]},
    )
    assert approved.get_json()["state"] == "approved"
    grants = world.call("GET", "/api/v1/grants", token=applicant).get_json()["grants"]
    assert len(grants) == 1
    grant = grants[0]
    assert grant["quota_calls"] == 3 and grant["resources"] == swipes[:1]

    # a token scoped to the grant downloads; the applying token does not
    path = f"/api/v1/grants/{grant['id']}/resources/{swipes[0]}/data"
    assert world.call("GET", path, token=applicant).status_code == 403
    created = world.client.post(
        "/api/v1/tokens",
        json={
            "email": "data@haier-demo.cn",
            "password": "a long enough password",
            "name": "use",
            "scopes": [f"grant:{grant['id']}"],
        },
    )
    user_token = created.get_json()["token"]
    not_granted = f"/api/v1/grants/{grant['id']}/resources/{swipes[1]}/data"
    assert world.call("GET", not_granted, token=user_token).status_code == 403
    sizes = []
    for _ in range(3):
        download = world.call("GET", path, token=user_token)
        assert download.status_code == 200
        assert download.data.startswith(b"card-swipes,")
        sizes.append(len(download.data))
    exhausted = world.call("GET", path, token=user_token)
    assert exhausted.status_code == 429
    assert "3" in exhausted.get_json()["detail"]
    metered = world.call("GET", f"/api/v1/grants/{grant['id']}", token=applicant).get_json()
    assert metered["used_calls"] == 3 and metered["used_bytes"] == sum(sizes)

    # revocation takes effect at once, with its reason
    revoked = world.call(
        "POST",
        f"/api/v1/grants/{grant['id']}/revoke",
        "officer",
        json={"reason": "超出约定用途"},
    )
    assert revoked.status_code == 200
    refused = world.call("GET", path, token=user_token)
    assert refused.status_code == 403 and "超出约定用途" in refused.get_json()["detail"]

    # every step is in the audit log, and the chain verifies
    logged = actions(world)
    for expected in (
        "account.register",
        "login",
        "token.create",
        "application.submit",
        "application.pass",
        "application.approve",
        "grant.create",
        "token.use",
        "data.serve",
        "grant.revoke",
    ):
        assert expected in logged, expected
    assert logged.count("data.serve") == 3
    with database(world.app).sessions() as session:
        assert AuditLog(session).verify().intact
        used = session.get(Grant, grant["id"])
        assert used is not None and used.used_calls == 3


def test_editing_one_audit_row_breaks_verification(world: World) -> None:
    with database(world.app).transaction() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id).limit(3)).all()[-1]
        target = entry.id
    engine = database(world.app).engine
    # The table refuses edits; someone with the database's keys drops the guard first.
    with engine.begin() as connection:
        try:
            connection.execute(
                text("UPDATE audit_entries SET actor = 'x' WHERE id = :i"), {"i": target}
            )
            raise AssertionError("the audit table accepted an UPDATE")
        except Exception as error:
            assert "append-only" in str(error)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        connection.execute(
            text("UPDATE audit_entries SET actor = 'user:999' WHERE id = :i"), {"i": target}
        )
    with database(world.app).sessions() as session:
        report = access(session, world.app).audit.verify()
    assert not report.intact
    assert f"entry #{target} was altered" in report.problems
