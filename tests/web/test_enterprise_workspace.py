"""The enterprise workspace: API tokens made and revoked in the browser (the secret shown
once, never kept in the session), a grant's page with the quota left and the usage-report
form, through the same services and rules as the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.db import utcnow
from portal.models import Application, Dataset, Grant, User
from portal.services import access, database

from ..access.conftest import World
from ..access.conftest import world as world
from ..access.test_rights import application, grant
from .test_i18n import assert_english
from .test_i18n import english as english
from .test_workspace import BASE, csrf, post, signed_in

SECRET = re.compile(r'value="(qdp_[A-Za-z0-9_-]+)"')
TOKENS = "/workspace/tokens"


def make_token(
    client: FlaskClient, name: str, scopes: list[str], days: str = "30"
) -> tuple[int, str, dict[str, str]]:
    page = client.get(TOKENS, base_url=BASE).get_data(as_text=True)
    response = client.post(
        TOKENS,
        base_url=BASE,
        data={"csrf_token": csrf(page), "name": name, "scopes": scopes, "days": days},
        headers={"Referer": f"{BASE}{TOKENS}"},
    )
    return response.status_code, response.get_data(as_text=True), dict(response.headers)


def session_data(world: World, client: FlaskClient) -> str:
    cookie = client.get_cookie("session", domain="localhost")
    if cookie is None:
        return ""
    serializer = world.app.session_interface.get_signing_serializer(world.app)  # type: ignore[attr-defined]
    return repr(serializer.loads(cookie.value))


APPLY = {
    "dataset": "card-swipes",
    "purpose": "研究",
    "scenario": "客流分析",
    "term_days": 30,
    "quota_calls": 5,
    "commitment_accepted": True,
}


def test_a_token_made_in_the_workspace_is_shown_once_and_carries_its_scopes(
    world: World,
) -> None:
    enterprise = signed_in(world, "enterprise")
    form = enterprise.get(TOKENS, base_url=BASE).get_data(as_text=True)
    # the role's scopes are offered, no others; each checkbox has its label
    assert 'value="catalog:read"' in form and 'value="applications"' in form
    assert 'value="audit:read"' not in form and 'value="catalog:manage"' not in form
    assert '<label for="scope-1">' in form and 'id="scope-1"' in form

    status, page, headers = make_token(
        enterprise, "读目录", ["catalog:read", "applications:read", "tokens"]
    )
    assert status == 200
    found = SECRET.search(page)
    assert found, page[:1000]
    secret = found.group(1)
    assert page.count(secret) == 1 and headers["Cache-Control"] == "no-store"
    # never again: not on the next page, not in the (signed, readable) session cookie
    again = enterprise.get(TOKENS, base_url=BASE).get_data(as_text=True)
    assert secret not in again and secret[:12] in again and "读目录" in again
    assert secret not in session_data(world, enterprise)
    # it works against the API, within its scopes only
    assert world.call("GET", "/api/v1/grants", token=secret).status_code == 200
    assert world.call("GET", "/api/v1/tokens", token=secret).get_json()["tokens"]
    body = {**APPLY, "resources": world.resources["card-swipes"]}
    refused = world.call("POST", "/api/v1/applications", token=secret, json=body)
    assert refused.status_code == 403  # no "applications" scope on this token

    status, page, _ = make_token(enterprise, "申请用", ["catalog:read", "applications"], "7")
    applying = SECRET.search(page)
    assert status == 200 and applying
    made = world.call("POST", "/api/v1/applications", token=applying.group(1), json=body)
    assert made.status_code == 201, made.get_json()
    assert applying.group(1) not in session_data(world, enterprise)


def test_a_scope_the_role_may_not_hold_is_a_field_error(world: World) -> None:
    enterprise = signed_in(world, "enterprise")
    status, page, _ = make_token(enterprise, "越权", ["catalog:read", "audit:read"])
    assert status == 422 and not SECRET.search(page)
    errors = re.search(r'<ul class="field-errors" id="scopes-errors">(.*?)</ul>', page, re.S)
    assert errors and "audit:read" in errors.group(1) and "不能授予的范围" in errors.group(1)
    assert 'value="越权"' in page  # what was typed stays
    # in English, the same refusal in English, next to the field
    enterprise.set_cookie("lang", "en", domain="localhost")
    status, page, _ = make_token(enterprise, "", ["reviews"], "999")
    assert status == 422
    assert "Scopes you cannot grant: reviews." in page
    assert 'id="name-errors"' in page and 'id="days-errors"' in page
    assert "Expiry is 1–366 days." in page
    # a grant that is not one's own cannot be put on a token either
    ids = grant(world)
    other = signed_in(world, "other_enterprise")
    status, page, _ = make_token(other, "别人的授权", [f"grant:{ids['grant']}"])
    assert status == 422 and f"grant:{ids['grant']}" in page


def revoke_form(page: str, name: str) -> str:
    row = re.search(rf"<tr[^>]*><td>{re.escape(name)}</td>.*?</tr>", page, re.S)
    assert row, page[:2000]
    action = re.search(r'action="(/workspace/tokens/\d+/revoke)"', row.group(0))
    assert action
    return action.group(1)


def test_a_revoked_token_stops_working_at_once(world: World) -> None:
    enterprise = signed_in(world, "enterprise")
    _, page, _ = make_token(enterprise, "pipeline", ["catalog:read", "applications:read"])
    found = SECRET.search(page)
    assert found
    secret = found.group(1)
    assert world.call("GET", "/api/v1/grants", token=secret).status_code == 200
    listing = enterprise.get(TOKENS, base_url=BASE).get_data(as_text=True)
    action = revoke_form(listing, "pipeline")
    # a POST without the CSRF token is refused, and changes nothing
    assert enterprise.post(action, base_url=BASE).status_code == 400
    assert world.call("GET", "/api/v1/grants", token=secret).status_code == 200
    # another enterprise cannot revoke it: as if it did not exist
    other = signed_in(world, "other_enterprise")
    other_page = other.get(TOKENS, base_url=BASE).get_data(as_text=True)
    done = other.post(
        action,
        base_url=BASE,
        data={"csrf_token": csrf(other_page)},
        headers={"Referer": f"{BASE}{TOKENS}"},
    )
    assert done.status_code == 404
    done = enterprise.post(
        action,
        base_url=BASE,
        data={"csrf_token": csrf(listing)},
        headers={"Referer": f"{BASE}{TOKENS}"},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(TOKENS)
    after = enterprise.get(TOKENS, base_url=BASE).get_data(as_text=True)
    assert "令牌已撤销" in after
    row = re.search(r"<tr[^>]*><td>pipeline</td>.*?</tr>", after, re.S)
    assert row and "已撤销" in row.group(0) and "/revoke" not in row.group(0)
    assert world.call("GET", "/api/v1/grants", token=secret).status_code == 401


def remaining(page: str) -> str:
    found = re.search(r'<dd id="remaining-calls">([^<]*)</dd>', page)
    assert found, page[:2000]
    return found.group(1).strip()


def test_a_grant_page_shows_the_quota_left_and_takes_usage_reports(world: World) -> None:
    ids = grant(world)
    number, resource = ids["grant"], ids["resource"]
    path = f"/workspace/grants/{number}"
    enterprise = signed_in(world, "enterprise")
    desk = enterprise.get("/workspace", base_url=BASE).get_data(as_text=True)
    assert f'href="{path}"' in desk and "5 / 5" in desk and "线路表" in desk
    page = enterprise.get(path, base_url=BASE).get_data(as_text=True)
    assert remaining(page) == "5 / 5" and "0 B" in page and "有效" in page
    assert "还没有提交报告" in page
    # a token for this grant, from the grant's page link, used for one call
    assert f'href="{TOKENS}?grant={number}"' in page
    offered = enterprise.get(f"{TOKENS}?grant={number}", base_url=BASE).get_data(as_text=True)
    assert re.search(rf'value="grant:{number}" checked', offered)
    _, made, _ = make_token(enterprise, "取数", [f"grant:{number}"])
    found = SECRET.search(made)
    assert found
    data = world.call(
        "GET", f"/api/v1/grants/{number}/resources/{resource}/data", token=found.group(1)
    )
    assert data.status_code == 200 and data.get_data()
    data.close()
    page = enterprise.get(path, base_url=BASE).get_data(as_text=True)
    assert remaining(page) == "4 / 5"
    assert re.search(r"<dd>\d+\.\d KB</dd>", page)  # the bytes sent, counted at the end
    assert "4 / 5" in enterprise.get("/workspace", base_url=BASE).get_data(as_text=True)

    # a report missing a required field: the error next to it, what was typed kept
    status, _, page = post(enterprise, path, {"usage": "", "results": "开通 2 条线路"})
    assert status == 422
    assert re.search(r'id="usage-errors"><li>此项必填', page)
    assert 'aria-describedby="usage-errors"' in page and "开通 2 条线路" in page
    status, location, _ = post(
        enterprise,
        path,
        {"usage": "定制公交规划", "results": "开通 2 条线路", "benefits": "日均 800 人次"},
    )
    assert status == 302 and location.endswith(path)
    page = enterprise.get(path, base_url=BASE).get_data(as_text=True)
    assert "利用情况报告已提交" in page
    assert "<td>定制公交规划</td><td>开通 2 条线路</td><td>日均 800 人次</td>" in page
    reports = world.call("GET", f"/api/v1/grants/{number}/reports", "enterprise").get_json()
    assert [r["usage"] for r in reports["reports"]] == ["定制公交规划"]

    # the department's officer reads it, without the holder's form; others see nothing
    officer = signed_in(world, "officer").get(path, base_url=BASE).get_data(as_text=True)
    assert "定制公交规划" in officer and 'name="usage"' not in officer
    assert signed_in(world, "other_enterprise").get(path, base_url=BASE).status_code == 404
    assert signed_in(world, "other_officer").get(path, base_url=BASE).status_code == 404
    too_large = enterprise.get("/workspace/grants/99999999999", base_url=BASE)
    assert too_large.status_code == 404  # not a database error


def test_grant_states_days_left_and_overdue_flags(world: World) -> None:
    ids = grant(world)
    late = application(world)["application"]
    with database(world.app).transaction() as session:
        found = session.get(Grant, ids["grant"])
        found.expires_at = utcnow() + timedelta(days=2, hours=3)
        found.report_due = utcnow() - timedelta(days=1)
        session.get(Application, late).formality_due = utcnow() - timedelta(days=1)
    enterprise = signed_in(world, "enterprise")
    desk = enterprise.get("/workspace", base_url=BASE).get_data(as_text=True)
    row = re.search(rf'<tr><td><a href="/workspace/grants/{ids["grant"]}">.*?</tr>', desk, re.S)
    assert row and "<td>3</td>" in row.group(0) and "报告逾期" in row.group(0)
    late_row = re.search(rf'<tr class="overdue"><td><a href="[^"]+/{late}">', desk)
    assert late_row and "已超期" in desk
    with database(world.app).transaction() as session:
        users = {u.email: u for u in session.scalars(select(User))}
        access(session, world.app).grants.revoke(
            users["officer@example.cn"], ids["grant"], "违反使用条件"
        )
    page = enterprise.get(f"/workspace/grants/{ids['grant']}", base_url=BASE)
    text = page.get_data(as_text=True)
    assert "已撤销" in text and "违反使用条件" in text and "调用数据" not in text
    # a revoked grant is no longer offered as a token scope
    tokens = enterprise.get(TOKENS, base_url=BASE).get_data(as_text=True)
    assert f'value="grant:{ids["grant"]}"' not in tokens


# -- in English: every string of the enterprise pages translated ---------------------------
@pytest.fixture
def english_grant(english: FlaskClient, app: Flask) -> Iterator[tuple[FlaskClient, int]]:
    """Ada's grant of bus-positions, approved by a department officer of qd-transport."""
    with database(app).transaction() as session:
        services = access(session, app)
        officer = services.accounts.create(
            {"email": "bob@example.cn", "password": "correct horse battery"},
            role="officer",
            organization="qd-transport",
            by="test",
        )
        authority = services.accounts.create(
            {"email": "eve@example.cn", "password": "correct horse battery"},
            role="authority",
            by="test",
        )
        ada = session.scalar(select(User).where(User.email == "ada@example.cn"))
        positions = session.scalar(select(Dataset).where(Dataset.name == "bus-positions"))
        assert ada is not None and positions is not None
        made = services.applications.submit(
            ada,
            {
                "dataset": "bus-positions",
                "resources": [r.id for r in positions.resources],
                "purpose": "Route planning",
                "scenario": "Custom buses",
                "term_days": 30,
                "quota_calls": 10,
                "commitment_accepted": True,
            },
        )
        services.applications.formality(authority, made.id, {"decision": "pass"})
        services.applications.decide(officer, made.id, {"decision": "approve"})
        number = session.scalar(select(Grant.id).where(Grant.application_id == made.id))
    signed = english.post(
        "/login",
        data={"email": "ada@example.cn", "password": "correct horse battery"},
        base_url=BASE,
    )
    assert signed.status_code == 302
    yield english, number


def test_the_enterprise_pages_in_english_hold_no_chinese(
    english_grant: tuple[FlaskClient, int],
) -> None:
    client, number = english_grant
    for path in ("/workspace", TOKENS, f"/workspace/grants/{number}"):
        response = client.get(path, base_url=BASE)
        assert response.status_code == 200, path
        assert_english(response.get_data(as_text=True), path)
    made = client.post(
        TOKENS,
        data={"name": "etl", "scopes": ["catalog:read", f"grant:{number}"], "days": "30"},
        base_url=BASE,
    )
    page = made.get_data(as_text=True)
    assert made.status_code == 200 and SECRET.search(page) and "shown this once" in page
    assert_english(page, "token made")
    refused = client.post(TOKENS, data={"name": "x", "scopes": ["audit:read"]}, base_url=BASE)
    assert refused.status_code == 422
    assert_english(refused.get_data(as_text=True), "token refused")
    path = f"/workspace/grants/{number}"
    bad = client.post(path, data={"usage": "", "results": ""}, base_url=BASE)
    assert bad.status_code == 422 and "Missing data for required field." in bad.get_data(
        as_text=True
    )
    assert_english(bad.get_data(as_text=True), "report refused")
    filed = client.post(path, data={"usage": "Planning", "results": "Two lines"}, base_url=BASE)
    assert filed.status_code == 302
    page = client.get(path, base_url=BASE).get_data(as_text=True)
    assert "Usage report filed." in page and "<td>Planning</td>" in page
    assert_english(page, "report filed")
