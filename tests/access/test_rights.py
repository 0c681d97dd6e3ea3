"""The authorization matrix: every role against every API endpoint that changes or serves
data, from one table. Each case gets fresh objects (an application in the right state, a
grant …) so one allowed call cannot spoil the next."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from portal.models import ApiToken, Grant, OpennessRequest, User
from portal.services import access, database
from tests import CHECKOUT

from .conftest import ROLES, World

EVERYONE = (*ROLES, "anonymous")
Prepare = Callable[[World], dict[str, Any]]


def application(world: World, state: str = "submitted") -> dict[str, Any]:
    """An application of `enterprise` for card-swipes, moved to `state`."""
    with database(world.app).transaction() as session:
        services = access(session, world.app).applications
        users = {who: session.get(User, uid) for who, uid in world.users.items()}
        made = services.submit(
            users["enterprise"],
            {
                "dataset": "card-swipes",
                "resources": world.resources["card-swipes"],
                "purpose": "研究",
                "scenario": "客流分析",
                "term_days": 30,
                "quota_calls": 5,
                "commitment_accepted": True,
            },
        )
        if state in ("in_review", "approved"):
            services.formality(users["authority"], made.id, {"decision": "pass"})
        if state == "returned":
            services.formality(
                users["authority"], made.id, {"decision": "return", "reason": "缺材料"}
            )
        if state == "approved":
            services.decide(users["officer"], made.id, {"decision": "approve"})
        return {"application": made.id}


def grant(world: World) -> dict[str, Any]:
    ids = application(world, "approved")
    with database(world.app).sessions() as session:
        ids["grant"] = session.scalar(
            select(Grant.id).where(Grant.application_id == ids["application"])
        )
    ids["resource"] = world.resources["card-swipes"][0]
    return ids


def openness_request(world: World) -> dict[str, Any]:
    """The pending request to make bus-lines conditional (made once, then reused)."""
    with database(world.app).transaction() as session:
        pending = session.scalar(
            select(OpennessRequest.id).where(OpennessRequest.state == "pending")
        )
        if pending is not None:
            return {"request": pending}
        services = access(session, world.app)
        officer = session.get(User, world.users["officer"])
        document = services.stewardship._catalog(officer).datasets.document("bus-lines")
        changes = {"open_type": "conditional", "grade": "general2", "open_condition": "签协议"}
        made = services.stewardship.update(
            officer, "bus-lines", {**document, **changes}, reason="含敏感字段"
        )
        return {"request": made.id}


def own_token(world: World) -> dict[str, Any]:
    with database(world.app).sessions() as session:
        token_id = session.scalar(
            select(ApiToken.id).where(ApiToken.user_id == world.users["enterprise"])
        )
    return {"token": token_id}


def nothing(_world: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Case:
    label: str
    method: str
    path: str  # formatted with what `prepare` returns
    allowed: tuple[str, ...]
    prepare: Prepare = nothing
    body: Callable[[World, dict[str, Any]], Any] | None = None
    grant_token: bool = False  # the holder calls with a token scoped to the grant


def _apply_body(world: World, _ids: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset": "card-swipes",
        "resources": world.resources["card-swipes"][:1],
        "purpose": "研究客流",
        "scenario": "线路优化",
        "term_days": 10,
        "quota_calls": 5,
        "commitment_accepted": True,
    }


def _dataset_body(world: World, _ids: dict[str, Any]) -> dict[str, Any]:
    with database(world.app).sessions() as session:
        officer = session.get(User, world.users["officer"])
        document = (
            access(session, world.app)
            .stewardship._catalog(officer)
            .datasets.document("card-swipes")
        )
    return {**document, "description": "更新了说明。"}


def _new_dataset(_world: World, _ids: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": f"new-{uuid.uuid4().hex[:8]}",
        "title": "新数据集",
        "description": "说明。",
        "domain": "transport",
        "open_type": "unconditional",
        "grade": "general1",
        "resources": [{"name": "表", "kind": "file", "format": "csv", "url": "https://a.cn/x"}],
    }


OFFICERS = ("officer",)
REVIEWERS = ("authority", "officer")
CASES = (
    Case(
        "apply",
        "POST",
        "/api/v1/applications",
        ("enterprise", "other_enterprise", "operator"),
        body=_apply_body,
    ),
    Case(
        "read application",
        "GET",
        "/api/v1/applications/{application}",
        ("enterprise", *REVIEWERS),
        application,
    ),
    Case(
        "withdraw",
        "POST",
        "/api/v1/applications/{application}/withdraw",
        ("enterprise",),
        application,
    ),
    Case(
        "resubmit",
        "POST",
        "/api/v1/applications/{application}/resubmit",
        ("enterprise",),
        lambda w: application(w, "returned"),
        body=_apply_body,
    ),
    Case(
        "formality review",
        "POST",
        "/api/v1/applications/{application}/formality",
        ("authority",),
        application,
        body=lambda w, i: {"decision": "pass"},
    ),
    Case(
        "substantive review",
        "POST",
        "/api/v1/applications/{application}/decision",
        OFFICERS,
        lambda w: application(w, "in_review"),
        body=lambda w, i: {"decision": "approve", "quota_calls": 2},
    ),
    Case("read grant", "GET", "/api/v1/grants/{grant}", ("enterprise", *REVIEWERS), grant),
    Case(
        "revoke grant",
        "POST",
        "/api/v1/grants/{grant}/revoke",
        REVIEWERS,
        grant,
        body=lambda w, i: {"reason": "核查"},
    ),
    Case(
        "grant data",
        "GET",
        "/api/v1/grants/{grant}/resources/{resource}/data",
        ("enterprise",),
        grant,
        grant_token=True,
    ),
    Case(
        "file report",
        "POST",
        "/api/v1/grants/{grant}/reports",
        ("enterprise",),
        grant,
        body=lambda w, i: {"usage": "用于线路优化", "results": "新开两条线路"},
    ),
    Case(
        "read reports", "GET", "/api/v1/grants/{grant}/reports", ("enterprise", *REVIEWERS), grant
    ),
    Case(
        "overdue reports",
        "GET",
        "/api/v1/grants/overdue-reports",
        ("authority", "officer", "other_officer"),
    ),
    Case(
        "open data",
        "GET",
        "/api/v1/datasets/bus-lines/resources/{resource}/data",
        EVERYONE,
        lambda w: {"resource": w.resources["bus-lines"][0]},
    ),
    Case(
        "conditional data without grant",
        "GET",
        "/api/v1/datasets/card-swipes/resources/{resource}/data",
        (),
        lambda w: {"resource": w.resources["card-swipes"][0]},
    ),
    Case(
        "closed data",
        "GET",
        "/api/v1/datasets/driver-records/resources/{resource}/data",
        (),
        lambda w: {"resource": w.resources["driver-records"][0]},
    ),
    Case(
        "create dataset",
        "POST",
        "/api/v1/datasets",
        ("officer", "other_officer"),
        body=_new_dataset,
    ),
    Case("update dataset", "PUT", "/api/v1/datasets/card-swipes", OFFICERS, body=_dataset_body),
    Case(
        "upload file",
        "PUT",
        "/api/v1/datasets/card-swipes/resources/{resource}/file",
        OFFICERS,
        lambda w: {"resource": w.resources["card-swipes"][0]},
        body=lambda w, i: b"new,data\n",
    ),
    Case(
        "decide openness request",
        "POST",
        "/api/v1/openness-requests/{request}/decision",
        ("authority",),
        openness_request,
        body=lambda w, i: {"decision": "reject", "reason": "不符合规定"},
    ),
    Case("read audit log", "GET", "/api/v1/audit", ("authority", "admin")),
    Case("export audit log", "GET", "/api/v1/audit.csv", ("authority", "admin")),
    Case("revoke a token", "DELETE", "/api/v1/tokens/{token}", ("enterprise",), own_token),
)


def test_every_role_against_every_endpoint(world: World) -> None:
    wrong = []
    for case in CASES:
        for who in EVERYONE:
            ids = case.prepare(world)
            token = None
            if who != "anonymous":
                token = world.tokens[who]
                if case.grant_token and who == "enterprise":
                    token = world.token(who, [f"grant:{ids['grant']}"], name="use")
            kwargs: dict[str, Any] = {}
            if case.body is not None:
                payload = case.body(world, ids)
                kwargs["data" if isinstance(payload, bytes) else "json"] = payload
            response = world.call(case.method, case.path.format(**ids), token=token, **kwargs)
            text = response.get_data(as_text=True)  # read streams to the end
            response.close()
            allowed = who in case.allowed
            ok = 200 <= response.status_code < 300
            denied = response.status_code in (401, 403, 404)
            if (allowed and not ok) or (not allowed and not denied):
                wrong.append(f"{case.label} as {who}: {response.status_code} {text[:200]}")
            if who == "enterprise" and case.label == "revoke a token":
                world.tokens["enterprise"] = world.token(
                    "enterprise", ["applications", "catalog:read"]
                )
    assert not wrong, "\n".join(wrong)


def test_an_enterprise_cannot_reach_another_s_objects_by_guessing_ids(world: World) -> None:
    ids = grant(world)
    world.call(
        "POST",
        f"/api/v1/grants/{ids['grant']}/reports",
        "enterprise",
        json={"usage": "u", "results": "r"},
    )
    for path in (
        f"/api/v1/applications/{ids['application']}",
        f"/api/v1/grants/{ids['grant']}",
        f"/api/v1/grants/{ids['grant']}/reports",
        "/api/v1/applications/999999",
        "/api/v1/grants/999999",
    ):
        response = world.call("GET", path, "other_enterprise")
        # the same answer for another's object and for none at all: ids tell nothing
        assert response.status_code == 404, path
    mine = world.call("GET", "/api/v1/applications", "other_enterprise").get_json()
    assert mine["applications"] == []
    assert world.call("GET", "/api/v1/grants", "other_enterprise").get_json()["grants"] == []


def test_no_role_decision_outside_the_rights_and_visibility_modules() -> None:
    """Who may do what is access/rights.py, who may see what portal/visibility.py; a
    role compared anywhere else is a rule that other paths do not share."""
    allowed = {
        "portal/access/rights.py",
        "portal/visibility.py",
        "portal/access/accounts.py",  # checks a new account: a known role, an officer's department
    }
    comparison = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)|\brole\s*(==|!=)\s*[\"']")
    found = [
        f"{path.relative_to(CHECKOUT)}:{number}: {line.strip()}"
        for path in (CHECKOUT / "portal").rglob("*.py")
        if path.relative_to(CHECKOUT).as_posix() not in allowed
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if comparison.search(line)
    ]
    assert not found, "\n".join(found)
