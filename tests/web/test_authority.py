"""The platform authority's workspace pages: openness downgrades decided through forms,
zones kept with the profile's validation, the vocabularies and grade policy shown as the
running portal has them, and the audit log searched, exported and verified — in both
languages, for the authority only."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from portal.access.audit import EXPORT_COLUMNS
from portal.models import AuditEntry, OpennessRequest, User, Zone
from portal.services import access, catalog, database

from ..access.conftest import World
from ..access.conftest import world as world
from .test_workspace import BASE, csrf, signed_in

PAGES = {
    "/workspace/openness": ("开放属性降级审批", "Openness downgrades"),
    "/workspace/zones": ("专区管理", "Zone management"),
    "/workspace/zones/new": ("新建专区", "New zone"),
    "/workspace/zones/transport/edit": ("编辑专区", "Edit zone"),
    "/workspace/vocabularies": ("受控词表", "Controlled vocabularies"),
    "/workspace/grade-policy": ("分级与开放策略", "Grades and openness policy"),
    "/workspace/audit": ("审计日志", "Audit log"),
    "/workspace/audit/verify": ("校验哈希链", "Verify the hash chain"),
}


def get(client: FlaskClient, path: str) -> tuple[int, str]:
    response = client.get(path, base_url=BASE)
    return response.status_code, response.get_data(as_text=True)


def submit(client: FlaskClient, page: str, action: str, data: dict) -> tuple[int, str, str]:  # type: ignore[type-arg]
    """Post `data` to `action` with the CSRF token of the form on `page`."""
    token = csrf(client.get(page, base_url=BASE).get_data(as_text=True))
    response = client.post(
        action,
        base_url=BASE,
        data={**data, "csrf_token": token},
        headers={"Referer": f"{BASE}{page}"},
    )
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_data(as_text=True),
    )


def downgrade(world: World, name: str = "bus-lines", reason: str = "含个人出行轨迹") -> int:
    """The department asks to make `name` conditional: a request for the authority."""
    with database(world.app).transaction() as session:
        document = catalog(session, "test", world.app).datasets.document(name)
        officer = session.get(User, world.users["officer"])
        held = access(session, world.app).stewardship.update(
            officer,
            name,
            {**document, "open_type": "conditional", "open_condition": "须签署数据使用协议"},
            reason=reason,
        )
        assert isinstance(held, OpennessRequest)
        return held.id


def openness_of(world: World, name: str) -> str:
    with database(world.app).sessions() as session:
        return catalog(session, "test", world.app).datasets.get(name).open_type


def request_state(world: World, request_id: int) -> str:
    with database(world.app).sessions() as session:
        found = session.get(OpennessRequest, request_id)
        assert found is not None
        return found.state


# -- every page, both languages, the authority only --------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_each_page_renders_for_the_authority_in_both_languages(world: World, path: str) -> None:
    authority = signed_in(world, "authority")
    chinese, english = PAGES[path]
    status, page = get(authority, path)
    assert status == 200 and '<html lang="zh-CN">' in page
    assert f"<h1>{chinese}" in page and 'name="csrf_token"' in page  # the sign-out form at least
    status, page = get(authority, f"{path}{'&' if '?' in path else '?'}lang=en")
    assert status == 200 and '<html lang="en">' in page
    assert f"<h1>{english}" in page and chinese not in page


def test_the_workspace_links_to_the_authority_pages(world: World) -> None:
    _, page = get(signed_in(world, "authority"), "/workspace")
    for path in ("/workspace/openness", "/workspace/zones", "/workspace/audit"):
        assert f'href="{path}"' in page
    _, officers = get(signed_in(world, "officer"), "/workspace")
    assert 'href="/workspace/audit"' not in officers


@pytest.mark.parametrize("who", ["officer", "enterprise", "operator"])
def test_others_are_refused(world: World, who: str) -> None:
    client = signed_in(world, who)
    for path in PAGES:
        assert get(client, path)[0] == 403, path
    assert get(client, "/workspace/audit.csv")[0] == 403
    # nor can they post (the token of a page they can see: the workspace's sign-out form)
    request_id = downgrade(world)
    status, _, _ = submit(
        client, "/workspace", f"/workspace/openness/{request_id}", {"decision": "approve"}
    )
    assert status == 403 and request_state(world, request_id) == "pending"
    status, _, _ = submit(
        client, "/workspace", "/workspace/zones/new", {"code": "port", "title": "港航专区"}
    )
    assert status == 403
    with database(world.app).sessions() as session:
        assert session.get(Zone, "port") is None


def test_audit_is_for_whoever_may_read_it_and_a_sign_in_comes_first(world: World) -> None:
    admin = signed_in(world, "admin")  # rights.py: audit.read is the authority's and admin's
    assert get(admin, "/workspace/audit")[0] == 200
    assert get(admin, "/workspace/audit.csv")[0] == 200
    assert get(admin, "/workspace/zones")[0] == 403
    anonymous = world.app.test_client()
    for path in [*PAGES, "/workspace/audit.csv"]:
        response = anonymous.get(path, base_url=BASE)
        assert response.status_code == 302 and "/login" in response.location, path


# -- openness downgrades -----------------------------------------------------------------------
def test_an_approved_downgrade_changes_the_datasets_openness(world: World) -> None:
    request_id = downgrade(world)
    authority = signed_in(world, "authority")
    _, page = get(authority, "/workspace/openness")
    assert f"#{request_id}" in page and "含个人出行轨迹" in page and "officer@example.cn" in page
    assert "无条件开放 → <strong>有条件开放</strong>" in page
    status, location, _ = submit(
        authority,
        "/workspace/openness",
        f"/workspace/openness/{request_id}",
        {"decision": "approve", "reason": ""},
    )
    assert status == 302 and location.endswith("/workspace/openness")
    assert openness_of(world, "bus-lines") == "conditional"
    assert request_state(world, request_id) == "approved"
    _, page = get(authority, "/workspace/openness")
    assert f"已批准第 {request_id} 号申请" in page and "没有待批准的降级。" in page
    # deciding it again: the service's refusal, shown at the top since it is no longer pending
    status, _, page = submit(
        authority,
        "/workspace/openness",
        f"/workspace/openness/{request_id}",
        {"decision": "reject", "reason": "再议"},
    )
    assert status == 409 and "该申请已处理" in page
    assert openness_of(world, "bus-lines") == "conditional"


def test_rejecting_needs_a_reason_shown_beside_the_field(world: World) -> None:
    request_id = downgrade(world)
    authority = signed_in(world, "authority")
    action = f"/workspace/openness/{request_id}"
    status, _, page = submit(
        authority, "/workspace/openness", action, {"decision": "reject", "reason": "  "}
    )
    assert status == 422
    assert re.search(rf'id="reason-{request_id}-errors"><li>驳回须说明理由</li>', page)
    assert request_state(world, request_id) == "pending"
    assert openness_of(world, "bus-lines") == "unconditional"
    authority.set_cookie("lang", "en", domain="localhost")
    status, _, page = submit(
        authority, "/workspace/openness", action, {"decision": "reject", "reason": ""}
    )
    assert status == 422 and "Give a reason to reject.</li>" in page
    assert "驳回须说明理由</li>" not in page
    status, _, _ = submit(
        authority, "/workspace/openness", action, {"decision": "reject", "reason": "无法律依据"}
    )
    assert status == 302 and request_state(world, request_id) == "rejected"
    assert openness_of(world, "bus-lines") == "unconditional"
    with database(world.app).sessions() as session:
        rejected = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "openness.rejected")
        ).one()
        assert rejected.detail["reason"] == "无法律依据"


def test_a_form_without_its_csrf_token_is_refused(world: World) -> None:
    request_id = downgrade(world)
    authority = signed_in(world, "authority")
    response = authority.post(
        f"/workspace/openness/{request_id}",
        base_url=BASE,
        data={"decision": "approve"},
        headers={"Referer": f"{BASE}/workspace/openness"},
    )
    assert response.status_code == 400 and request_state(world, request_id) == "pending"


# -- zones -------------------------------------------------------------------------------------
def test_zones_are_listed_with_their_dataset_counts(world: World) -> None:
    _, page = get(signed_in(world, "authority"), "/workspace/zones")
    row = re.search(r"<tr><td><code>transport</code>.*?</tr>", page, re.S)
    assert row and "交通专区" in row.group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', row.group(0)) == ["1", "3"]  # scenarios, sets


def test_a_zone_is_created_with_the_profiles_validation(world: World) -> None:
    authority = signed_in(world, "authority")
    new = "/workspace/zones/new"
    _, form = get(authority, new)
    # only the vocabulary's codes without a zone are offered
    assert 'value="elderly"' in form and 'value="transport"' not in form
    bad = {
        "code": "elderly",
        "title": "",
        "operator": "青岛康养数据公司",
        "scenarios-0-code": "Bad Code",
        "scenarios-0-title": "青易养",
    }
    status, _, page = submit(authority, new, new, bad)
    assert status == 422
    assert re.search(r'id="title-errors"><li>此项必填</li>', page)
    assert re.search(r'id="scenarios-0-code-errors"><li>场景标识只能包含', page)
    assert 'value="青岛康养数据公司"' in page and 'value="Bad Code"' in page  # kept as typed
    status, _, page = submit(authority, new, new, {"code": "atlantis", "title": "亚特兰蒂斯"})
    assert status == 422 and re.search(r'id="code-errors"><li>「atlantis」不是专区的取值', page)
    with database(world.app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Zone)) == 1
    good = {
        **bad,
        "title": "养老专区",
        "title_en": "Elderly care zone",
        "scenarios-0-code": "qing-yi-yang",
        "scenarios-3-code": "home-care",  # rows keep their order; blank ones are dropped
        "scenarios-3-title": "居家养老",
    }
    status, location, _ = submit(authority, new, new, good)
    assert status == 302 and location.endswith("/workspace/zones")
    _, listed = get(authority, "/workspace/zones")
    assert "专区「elderly」已保存" in listed and 'href="/workspace/zones/elderly/edit"' in listed
    status, page = get(authority, "/zone/elderly")
    assert status == 200 and "<h1>养老专区</h1>" in page and "青岛康养数据公司" in page
    assert page.index("青易养") < page.index("居家养老")
    with database(world.app).sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "zone.create")).one()
        assert entry.subject == "zone:elderly"


def test_a_zone_is_edited_and_its_scenarios_kept_or_removed(world: World) -> None:
    authority = signed_in(world, "authority")
    edit = "/workspace/zones/transport/edit"
    _, form = get(authority, edit)
    assert 'value="qing-yi-he"' in form and 'id="scenarios-2-code"' in form  # 1 row + 2 blank
    status, _, _ = submit(
        authority,
        edit,
        edit,
        {"title": "交通专区", "title_en": "Transport zone", "description": "交通出行数据"},
    )
    assert status == 302
    with database(world.app).sessions() as session:
        zone = catalog(session, "test", world.app).zones.get("transport")
        assert (zone.title_en, zone.description, zone.scenarios) == (
            "Transport zone",
            "交通出行数据",
            [],
        )
    same = {"title": "交通专区", "title_en": "Transport zone", "description": "交通出行数据"}
    assert submit(authority, edit, edit, same)[0] == 302  # saved again, unchanged
    with database(world.app).sessions() as session:
        updates = session.scalars(select(AuditEntry).where(AuditEntry.action == "zone.update"))
        assert [e.subject for e in updates] == ["zone:transport"]  # one change, one entry
    assert get(authority, "/workspace/zones/nowhere/edit")[0] == 404


def test_a_zone_title_is_escaped(world: World) -> None:
    authority = signed_in(world, "authority")
    edit = "/workspace/zones/transport/edit"
    attack = "<script>alert(1)</script>"
    status, _, _ = submit(
        authority, edit, edit, {"title": attack, "operator": '"><img src=x onerror=alert(2)>'}
    )
    assert status == 302
    for path in ("/workspace/zones", edit, "/zone/transport"):
        _, page = get(authority, path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert attack not in page and "<img src=x" not in page, path


# -- the profile -------------------------------------------------------------------------------
def test_the_vocabularies_are_shown_with_labels_and_aliases(world: World) -> None:
    authority = signed_in(world, "authority")
    _, page = get(authority, "/workspace/vocabularies")
    general4 = re.search(r"<tr><td><code>general4</code>.*?</tr>", page, re.S)
    assert general4
    row = general4.group(0)
    assert '<td lang="zh-CN">一般数据4级</td>' in row and "General data, level 4" in row
    assert '<span lang="zh-CN">一般4级</span>' in row and "<span>L4</span>" in row
    for name in ("zones", "open_types", "domains", "formats", "update_frequencies"):
        assert f'id="vocab-{name}"' in page
    _, english = get(authority, "/workspace/vocabularies?lang=en")
    # on the English page, Chinese appears only as data marked as such
    unmarked = re.sub(r'<(td|span) lang="zh-CN">[^<]*</\1>', "", english)
    unmarked = re.sub(r'<a [^>]*lang="zh-CN"[^>]*>中文</a>', "", unmarked)
    assert not re.search(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]", unmarked)


def test_the_grade_policy_is_the_running_one(world: World) -> None:
    authority = signed_in(world, "authority")
    _, page = get(authority, "/workspace/grade-policy")

    def allowed(grade: str, text: str) -> list[str]:
        row = re.search(rf"<tr><th scope=\"row\">[^<]*<code>{grade}</code>.*?</tr>", text, re.S)
        assert row, grade
        return re.findall(r'<td>(?:<span aria-hidden="true">✓ </span>)(\w+)</td>', row.group(0))

    assert allowed("general1", page) == ["允许", "允许", "允许"]
    assert allowed("general2", page) == ["允许", "允许"]  # conditional and closed
    assert allowed("core", page) == ["允许"]  # closed only
    assert "身份证号" in page  # what general4 means
    _, english = get(authority, "/workspace/grade-policy?lang=en")
    assert allowed("general3", english) == ["Allowed", "Allowed"]
    assert "ID numbers" in english


# -- the audit log -----------------------------------------------------------------------------
def log(world: World, count: int, action: str = "test.ping", subject: str = "thing:1") -> None:
    with database(world.app).transaction() as session:
        audit = access(session, world.app).audit
        for _ in range(count):
            audit.append(action, actor="user:999", subject=subject)


def rows_of(page: str) -> list[tuple[int, str]]:
    """(id, action) of the entries listed, in order."""
    return [
        (int(number), action)
        for number, action in re.findall(
            r'<tr><td class="num">(\d+)</td>.*?<td><code>([\w.]+)</code></td>', page, re.S
        )
    ]


def test_audit_filters_narrow_the_entries(world: World) -> None:
    authority = signed_in(world, "authority")  # a sign-in is audited too: first
    request_id = downgrade(world)
    log(world, 2, "test.ping", "thing:1")
    log(world, 1, "test.pong", "thing:2")
    _, everything = get(authority, "/workspace/audit")
    listed = rows_of(everything)
    assert len(listed) > 4 and listed == sorted(listed, reverse=True)  # newest first
    assert listed[0][1] == "test.pong"
    _, page = get(authority, "/workspace/audit?action=openness.request")
    assert [a for _, a in rows_of(page)] == ["openness.request"]
    assert f"&#34;request&#34;: {request_id}" in page or f'"request": {request_id}' in page
    assert "officer@example.cn" in page  # the actor's account, beside its id
    _, page = get(authority, "/workspace/audit?subject=thing:1")
    assert [a for _, a in rows_of(page)] == ["test.ping", "test.ping"]
    _, page = get(authority, "/workspace/audit?subject=thing:*&actor=user:999")
    assert [a for _, a in rows_of(page)] == ["test.pong", "test.ping", "test.ping"]
    _, page = get(authority, "/workspace/audit?actor=user:99")  # exact, not a prefix
    assert rows_of(page) == [] and "没有符合条件的记录。" in page
    today = datetime.now(UTC).date()
    _, page = get(authority, f"/workspace/audit?action=test.ping&since={today}&until={today}")
    assert len(rows_of(page)) == 2
    tomorrow = today + timedelta(days=1)
    _, page = get(authority, f"/workspace/audit?action=test.ping&since={tomorrow}")
    assert rows_of(page) == []
    _, page = get(authority, f"/workspace/audit?until={today - timedelta(days=1)}")
    assert rows_of(page) == []
    status, page = get(authority, "/workspace/audit?since=2025-13-01")
    assert status == 422 and re.search(r'id="since-errors"><li>日期格式应为 YYYY-MM-DD', page)
    status, page = get(authority, f"/workspace/audit?since={today}&until=2000-01-01&lang=en")
    assert status == 422 and "The end date is before the start." in page


def test_the_audit_log_is_paged_fifty_at_a_time(world: World) -> None:
    log(world, 60)
    authority = signed_in(world, "authority")
    _, first = get(authority, "/workspace/audit?action=test.ping")
    _, second = get(authority, "/workspace/audit?action=test.ping&page=2")
    one, two = rows_of(first), rows_of(second)
    assert (len(one), len(two)) == (50, 10)
    assert one[-1][0] > two[0][0]  # the newest on the first page
    assert "共 60 条记录，第 1 / 2 页" in first
    assert 'href="/workspace/audit?action=test.ping&amp;page=2" rel="next"' in first
    assert rows_of(get(authority, "/workspace/audit?action=test.ping&page=3")[1]) == []
    assert get(authority, "/workspace/audit?page=0")[0] == 422


def test_the_csv_export_holds_the_filtered_entries_only(world: World) -> None:
    downgrade(world)
    log(world, 3, "test.ping", "thing:1")
    log(world, 1, "test.pong", "thing:1")
    authority = signed_in(world, "authority")
    _, page = get(authority, "/workspace/audit?action=test.ping&subject=thing:1&page=1")
    link = re.search(r'<a href="([^"]+)" download>', page)
    assert link and "page=" not in link.group(1)
    response = authority.get(link.group(1).replace("&amp;", "&"), base_url=BASE)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="audit.csv"' in response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(table[0]) == EXPORT_COLUMNS
    assert [(r[3], r[4]) for r in table[1:]] == [("test.ping", "thing:1")] * 3
    ids = [int(r[0]) for r in table[1:]]
    assert ids == sorted(ids)  # chain order, as `portal audit export` writes it
    with database(world.app).sessions() as session:
        first = session.get(AuditEntry, ids[0])
        assert first is not None and table[1][-1] == first.hash
    everything = authority.get("/workspace/audit.csv", base_url=BASE).get_data(as_text=True)
    with database(world.app).sessions() as session:
        total = session.scalar(select(func.count()).select_from(AuditEntry))
    assert len(list(csv.reader(io.StringIO(everything)))) == total + 1


def test_verifying_the_chain_reports_intact_or_the_problems(world: World) -> None:
    log(world, 3)
    authority = signed_in(world, "authority")
    _, page = get(authority, "/workspace/audit/verify")
    assert "哈希链完整" in page and "哈希链已被破坏" not in page
    with database(world.app).sessions() as session:
        target = session.scalars(
            select(AuditEntry.id).where(AuditEntry.action == "test.ping")
        ).first()
    engine = database(world.app).engine
    with engine.begin() as connection:  # someone with the database's keys drops the guard
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        connection.execute(
            text("UPDATE audit_entries SET actor = 'user:1' WHERE id = :i"), {"i": target}
        )
    _, page = get(authority, "/workspace/audit/verify")
    assert "哈希链已被破坏" in page and f"第 {target} 条记录被改动过" in page
    _, page = get(authority, "/workspace/audit/verify?lang=en")
    assert "The hash chain is broken" in page and f"Entry #{target} was altered." in page
