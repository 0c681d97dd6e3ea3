"""The data officer's pages: the department's catalog with scores and grading suggestions,
the dataset form (the API's validation, its errors beside each input, rows of resources
and 信息项 included), and the harvest sources with their jobs and failed records.

Posted the browser's way: signed in, with the CSRF token read from the page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.catalog import Catalog
from portal.catalog.documents import dataset_document
from portal.harvest.sources import add_source
from portal.models import Dataset, HarvestRecord, OpennessRequest, Revision, User
from portal.services import access, database, policy

from ..access.conftest import OTHER_ORG, PASSWORD, World
from ..access.conftest import world as world
from ..factories import dataset
from .test_i18n import assert_english
from .test_i18n import english as english
from .test_workspace import BASE, csrf, post, signed_in


class FormValues(HTMLParser):
    """What a browser would send for the page's form `<form class="officer-form">`:
    text inputs, hidden inputs, checked boxes, selected options, textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._inside = False
        self._select: str | None = None
        self._first: str | None = None
        self._chosen = False
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._inside = "officer-form" in a.get("class", "")
        if not self._inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._first, self._chosen = a["name"], None, False
        elif tag == "option" and self._select is not None:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self.values.append((self._select, a.get("value", "")))
                self._chosen = True
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "select" and self._select is not None:
            if not self._chosen:
                self.values.append((self._select, self._first or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.values.append((self._textarea, self._text))
            self._textarea = None


def form_of(page: str) -> dict[str, Any]:
    parser = FormValues()
    parser.feed(page)
    out: dict[str, Any] = {}
    for name, value in parser.values:
        if name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = value
    return out


def errors_of(page: str, name: str) -> str:
    """The text of the error list beside input `name` ("" without one)."""
    found = re.search(
        rf'<ul class="field-errors" id="{re.escape(name)}-errors">(.*?)</ul>', page, re.S
    )
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))) if found else ""


def press(
    client: FlaskClient, action: str, data: dict[str, Any], page: str = "/workspace/catalog"
) -> tuple[int, str]:
    """Press a button of `page` that posts to `action` (the token read from that page)."""
    token = csrf(client.get(page, base_url=BASE).get_data(as_text=True))
    response = client.post(
        action,
        base_url=BASE,
        data={**data, "csrf_token": token},
        headers={"Referer": f"{BASE}{page}"},
    )
    return response.status_code, response.headers.get("Location", "")


def add(world: World, **changes: Any) -> None:
    with database(world.app).transaction() as session:
        Catalog(session, "test", policy(world.app)).datasets.create(dataset(**changes))


def stored(world: World, name: str) -> Dataset:
    with database(world.app).sessions() as session:
        found = session.scalar(select(Dataset).where(Dataset.name == name))
        assert found is not None
        session.expunge(found)
        return found


def document(world: World, name: str) -> dict[str, Any]:
    with database(world.app).sessions() as session:
        return dataset_document(Catalog(session, "t", policy(world.app)).datasets.get(name))


def revisions(world: World, name: str) -> int:
    ds = stored(world, name)
    with database(world.app).sessions() as session:
        return session.scalar(
            select(func.count()).select_from(Revision).where(Revision.entity_id == ds.id)
        )


# -- the department's catalog ------------------------------------------------------------------
def test_the_catalog_lists_the_department_s_datasets_with_scores(world: World) -> None:
    add(world, name="civil-aid", title="救助站名录", publisher=OTHER_ORG["name"])
    officer = signed_in(world, "officer")
    response = officer.get("/workspace/catalog", base_url=BASE)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("bus-lines", "card-swipes", "driver-records"):
        item = re.search(rf'<li id="ds-{name}">(.*?)</li>\s*(?:<li id=|</ol>)', page, re.S)
        assert item, name
        score = stored(world, name).quality_score
        assert score > 0 and f"<strong>{score}</strong>/100" in item.group(1)
    assert "有条件开放" in page and "一般数据2级" in page  # openness and grade, labelled
    assert "救助站名录" not in page  # another department's
    # withdrawn datasets are listed too
    with database(world.app).transaction() as session:
        Catalog(session, "test", policy(world.app)).datasets.withdraw("bus-lines")
    page = officer.get("/workspace/catalog", base_url=BASE).get_data(as_text=True)
    assert 'id="ds-bus-lines"' in page and "已撤回" in page
    assert (
        signed_in(world, "enterprise").get("/workspace/catalog", base_url=BASE).status_code == 403
    )


def test_the_catalog_is_paged_by_fifty(world: World) -> None:
    with database(world.app).transaction() as session:
        datasets = Catalog(session, "test", policy(world.app)).datasets
        for i in range(50):
            datasets.create(dataset(name=f"stop-{i:02d}", title=f"站点 {i}"))
    officer = signed_in(world, "officer")
    first = officer.get("/workspace/catalog", base_url=BASE).get_data(as_text=True)
    second = officer.get("/workspace/catalog?page=2", base_url=BASE).get_data(as_text=True)
    assert first.count('<li id="ds-') == 50 and second.count('<li id="ds-') == 3
    assert 'rel="next"' in first and 'rel="prev"' in second
    names = set(re.findall(r'<li id="ds-([^"]+)"', first + second))
    assert len(names) == 53


def test_accepting_a_suggestion_changes_the_grade(world: World) -> None:
    # 出生日期 points at 一般数据2级; the dataset says 3级: accepting lowers the grade,
    # which waits for the authority (issue 15); approved, it applies
    add(
        world,
        name="residents",
        title="居民年龄结构",
        open_type="conditional",
        open_condition="须签署协议",
        grade="general3",
        fields=[{"name": "birth_date", "title": "出生日期"}],
    )
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/catalog", base_url=BASE).get_data(as_text=True)
    item = re.search(r'<li id="ds-residents">(.*?)</li>\s*(?:<li id=|</ol>)', page, re.S)
    assert item and "分级建议" in item.group(1) and "含个人基本属性" in item.group(1)
    assert "出生日期" in item.group(1)  # where the reason was found
    before = revisions(world, "residents")
    status, location = press(
        officer, "/workspace/catalog/residents/suggestion", {"decision": "accept"}
    )
    assert status == 302 and location.endswith("#ds-residents")
    assert stored(world, "residents").grade == "general3"  # until the authority approves
    done = officer.get(location, base_url=BASE).get_data(as_text=True)
    assert "已采纳分级建议" in done and "开放主管部门审批" in done
    with database(world.app).transaction() as session:
        [held] = session.scalars(select(OpennessRequest).where(OpennessRequest.state == "pending"))
        authority = session.get(User, world.users["authority"])
        access(session, world.app).stewardship.decide(authority, held.id, True)
    assert stored(world, "residents").grade == "general2"
    assert revisions(world, "residents") == before + 1
    after = officer.get(location, base_url=BASE).get_data(as_text=True)
    found = re.search(r'<li id="ds-residents">(.*?)</li>\s*(?:<li id=|</ol>)', after, re.S)
    assert found and "分级建议" not in found.group(1)  # nothing left to suggest


def test_accepting_a_downgrade_waits_for_the_authority(world: World) -> None:
    add(
        world,
        name="licences",
        title="驾驶证信息",
        fields=[{"name": "id_number", "title": "身份证号"}],
    )
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/catalog", base_url=BASE).get_data(as_text=True)
    assert "含身份证件号码" in page and "须经开放主管部门批准" in page
    status, location = press(
        officer, "/workspace/catalog/licences/suggestion", {"decision": "accept"}
    )
    assert status == 302
    ds = stored(world, "licences")
    assert (ds.grade, ds.open_type) == ("general1", "unconditional")  # unchanged until approved
    with database(world.app).sessions() as session:
        [held] = session.scalars(select(OpennessRequest).where(OpennessRequest.state == "pending"))
        assert (held.from_open_type, held.to_open_type) == ("unconditional", "closed")
        assert held.changes["grade"] == "general4" and "身份证件号码" in held.reason
    done = officer.get(location, base_url=BASE).get_data(as_text=True)
    assert "开放主管部门审批" in done and "待开放主管部门审批（#" in done
    # the authority approves: now it applies
    with database(world.app).transaction() as session:
        authority = session.get(User, world.users["authority"])
        access(session, world.app).stewardship.decide(authority, held.id, True)
    assert stored(world, "licences").open_type == "closed"


def test_a_suggestion_the_rules_refuse_says_why(world: World) -> None:
    # 出生日期 points at 一般数据2级 and 有条件开放, which needs a condition the dataset lacks
    add(world, name="ages", title="年龄分布", fields=[{"name": "birth", "title": "出生日期"}])
    officer = signed_in(world, "officer")
    status, location = press(officer, "/workspace/catalog/ages/suggestion", {"decision": "accept"})
    assert status == 302
    assert stored(world, "ages").grade == "general1"
    page = officer.get(location, base_url=BASE).get_data(as_text=True)
    assert "未能采纳分级建议" in page and "必须填写开放条件" in page
    with database(world.app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(OpennessRequest)) == 0


def test_keeping_the_values_set_records_only_that(world: World) -> None:
    add(world, name="plates", title="车辆号牌", fields=[{"name": "plate_no", "title": "号牌"}])
    before = (stored(world, "plates").content_hash, revisions(world, "plates"))
    officer = signed_in(world, "officer")
    status, location = press(officer, "/workspace/catalog/plates/suggestion", {"decision": "keep"})
    assert status == 302
    ds = stored(world, "plates")
    assert (ds.grade, ds.open_type) == ("general1", "unconditional")
    assert (ds.content_hash, revisions(world, "plates")) == before
    assert ds.suggestion["kept"]["grade"] == "general1"
    page = officer.get(location, base_url=BASE).get_data(as_text=True)
    item = re.search(r'<li id="ds-plates">(.*?)</li>\s*(?:<li id=|</ol>)', page, re.S)
    assert item and "分级建议" not in item.group(1)
    # another department's officer may not decide for it
    other = signed_in(world, "other_officer")
    status, _ = press(other, "/workspace/catalog/plates/suggestion", {"decision": "accept"})
    assert status == 403


def test_xss_in_a_title_is_escaped(world: World) -> None:
    add(world, name="evil", title='<script>alert("x")</script>')
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/catalog", base_url=BASE).get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    form = officer.get("/workspace/datasets/evil/edit", base_url=BASE).get_data(as_text=True)
    assert "<script>alert" not in form and "&lt;script&gt;" in form


# -- the dataset form --------------------------------------------------------------------------
def count(world: World) -> int:
    with database(world.app).sessions() as session:
        return session.scalar(select(func.count()).select_from(Dataset))


NEW = {
    "name": "taxi-stands",
    "title": "出租车候客站",
    "title_en": "Taxi stands",
    "description": "全市出租车候客站的位置。",
    "domain": "transport",
    "industry": "G",
    "zones": ["transport"],
    "grade": "general1",
    "open_type": "unconditional",
    "update_frequency": "monthly",
    "keywords": "出租车, 候客站、交通",
    "contact_phone": "0532-85913507",
    "contact_email": "taxi@example.cn",
    "resources-0-name": "候客站表",
    "resources-0-kind": "file",
    "resources-0-format": "csv",
    "resources-0-url": "https://a.cn/stands.csv",
    "resources-1-name": "",  # the blank row the form adds: ignored
    "resources-1-kind": "file",
    "resources-1-url": "",
    "fields-0-name": "stand_name",
    "fields-0-title": "站点名称",
    "fields-0-type": "string",
    "fields-0-grade": "general1",
    "fields-1-name": "seats",
    "fields-1-title": "车位数",
    "fields-1-type": "number",
    "fields-1-grade": "general1",
    "fields-1-sensitive": "y",
}


def test_a_bad_form_shows_each_error_beside_its_input_and_writes_nothing(world: World) -> None:
    officer = signed_in(world, "officer")
    before = count(world)
    bad = {**NEW, "title": "  ", "resources-0-url": "not a url", "fields-1-type": "colour"}
    status, _, page = post(officer, "/workspace/datasets/new", bad)
    assert status == 422
    assert count(world) == before
    assert "必填" in errors_of(page, "title")
    assert "不是有效的网址" in errors_of(page, "resources-0-url")
    assert "信息项类型" in errors_of(page, "fields-1-type")
    assert errors_of(page, "description") == "" and errors_of(page, "resources-0-name") == ""
    # tied to the inputs, which keep what was typed
    assert 'aria-describedby="resources-0-url-errors"' in page
    assert 'value="not a url"' in page and 'value="候客站表"' in page
    # a row that is gone from the document still has its errors on the right row
    bad = {**NEW, "resources-0-remove": "y", "resources-1-name": "接口", "resources-1-kind": "api"}
    status, _, page = post(officer, "/workspace/datasets/new", bad)
    assert status == 422 and "接口和链接类资源必须有网址" in errors_of(page, "resources-1-url")
    # cross-field rules too: grade and openness
    status, _, page = post(officer, "/workspace/datasets/new", {**NEW, "grade": "general4"})
    assert status == 422 and "不能设为开放属性" in errors_of(page, "open_type")
    assert count(world) == before


def test_adding_a_row_keeps_what_was_typed(world: World) -> None:
    officer = signed_in(world, "officer")
    status, _, page = post(officer, "/workspace/datasets/new", {**NEW, "add": "resources"})
    assert status == 200 and count(world) == 3
    assert 'id="resources-2-name"' in page and 'id="resources-3-name"' not in page
    assert 'value="出租车候客站"' in page and 'value="https://a.cn/stands.csv"' in page
    assert '<label for="resources-2-url">' in page


def test_a_good_form_registers_the_dataset_for_the_department(world: World) -> None:
    officer = signed_in(world, "officer")
    status, location, _ = post(officer, "/workspace/datasets/new", NEW)
    assert status == 302 and location.endswith("/dataset/taxi-stands")
    landed = officer.get("/dataset/taxi-stands", base_url=BASE).get_data(as_text=True)
    assert 'class="flash flash-success" role="status">数据集已登记' in landed  # said there
    public = world.app.test_client().get("/dataset/taxi-stands", base_url=BASE)
    assert public.status_code == 200 and "出租车候客站" in public.get_data(as_text=True)
    doc = document(world, "taxi-stands")
    assert doc["publisher"] == "qd-transport"  # the officer's department
    assert doc["keywords"] == ["出租车", "候客站", "交通"]
    assert [r["name"] for r in doc["resources"]] == ["候客站表"]
    assert [(f["name"], f["type"], f["sensitive"]) for f in doc["fields"]] == [
        ("stand_name", "string", False),
        ("seats", "number", True),
    ]
    # a name that is taken is said beside the name
    status, _, page = post(officer, "/workspace/datasets/new", NEW)
    assert status == 409 and "已被使用" in errors_of(page, "name")
    # only officers register datasets
    enterprise = signed_in(world, "enterprise")
    assert enterprise.get("/workspace/datasets/new", base_url=BASE).status_code == 403


def test_editing_round_trips_the_values(world: World) -> None:
    officer = signed_in(world, "officer")
    status, _, _ = post(officer, "/workspace/datasets/new", NEW)
    assert status == 302
    before, revs = document(world, "taxi-stands"), revisions(world, "taxi-stands")
    page = officer.get("/workspace/datasets/taxi-stands/edit", base_url=BASE)
    assert page.status_code == 200
    sent = form_of(page.get_data(as_text=True))
    assert sent["title"] == "出租车候客站" and sent["zones"] == "transport"
    assert sent["resources-0-url"] == "https://a.cn/stands.csv"
    assert sent["fields-1-sensitive"] == "y" and sent["fields-1-type"] == "number"
    # sent back untouched: nothing changes, not even a revision
    status, location, _ = post(officer, "/workspace/datasets/taxi-stands/edit", sent)
    assert status == 302 and location.endswith("/dataset/taxi-stands")
    assert document(world, "taxi-stands") == before
    assert revisions(world, "taxi-stands") == revs
    # a change to the title, a removed 信息项 and a new resource: just those
    changed = {
        **sent,
        "title": "出租车候客站（2025）",
        "fields-0-remove": "y",
        "resources-1-name": "接口",
        "resources-1-kind": "api",
        "resources-1-format": "api",
        "resources-1-url": "https://a.cn/api/stands",
    }
    status, _, _ = post(officer, "/workspace/datasets/taxi-stands/edit", changed)
    assert status == 302
    after = document(world, "taxi-stands")
    assert after["title"] == "出租车候客站（2025）"
    assert [f["name"] for f in after["fields"]] == ["seats"]
    assert [r["name"] for r in after["resources"]] == ["候客站表", "接口"]
    assert after["resources"][0]["id"] == before["resources"][0]["id"]  # grants keep pointing
    same = {k: v for k, v in after.items() if k not in ("title", "fields", "resources")}
    assert same == {k: v for k, v in before.items() if k not in ("title", "fields", "resources")}


def test_a_less_open_edit_needs_a_reason_and_waits(world: World) -> None:
    officer = signed_in(world, "officer")
    sent = form_of(
        officer.get("/workspace/datasets/bus-lines/edit", base_url=BASE).get_data(as_text=True)
    )
    wanted = {**sent, "open_type": "conditional", "open_condition": "须实名"}
    status, _, page = post(officer, "/workspace/datasets/bus-lines/edit", wanted)
    assert status == 422 and "理由" in errors_of(page, "reason")
    status, location, _ = post(
        officer, "/workspace/datasets/bus-lines/edit", {**wanted, "reason": "含商业信息"}
    )
    assert status == 302 and "/workspace/catalog" in location
    assert stored(world, "bus-lines").open_type == "unconditional"
    page = officer.get(location, base_url=BASE).get_data(as_text=True)
    assert "已提交开放主管部门审批" in page


def test_only_the_department_s_officers_edit(world: World) -> None:
    for who in ("other_officer", "authority", "enterprise"):
        client = signed_in(world, who)
        assert client.get("/workspace/datasets/bus-lines/edit", base_url=BASE).status_code == 403
    other = signed_in(world, "other_officer")
    status, _ = press(other, "/workspace/datasets/bus-lines/edit", {"title": "被改了"})
    assert status == 403
    assert stored(world, "bus-lines").title == "青岛市公交线路信息"
    officer = signed_in(world, "officer")
    assert officer.get("/workspace/datasets/nothing/edit", base_url=BASE).status_code == 404


def test_the_workspace_links_to_the_officer_s_pages(world: World) -> None:
    page = signed_in(world, "officer").get("/workspace", base_url=BASE).get_data(as_text=True)
    for path in ("/workspace/catalog", "/workspace/datasets/new", "/workspace/harvest"):
        assert f'href="{path}"' in page


# -- harvest sources ---------------------------------------------------------------------------
def plan_source(path: Path, publisher: str = "qd-transport", **extra: Any) -> Path:
    good = {
        "name": "ferry-lines",
        "title": "轮渡航线",
        "description": "轮渡航线与码头。",
        "domain": "transport",
        "open_type": "unconditional",
        "publisher": publisher,
        "resources": [{"name": "CSV", "kind": "file", "format": "csv", "url": "https://a.cn/f"}],
        **extra,
    }
    bad = {
        **good,
        "name": "ferry-tickets",
        "title": "船票",
        "open_type": "无条件",
        "grade": "核心数据",
    }
    path.write_text(yaml.safe_dump({"datasets": [good, bad]}, allow_unicode=True), "utf-8")
    return path


def register(app: Flask, name: str, path: Path, publisher: str | None) -> None:
    with database(app).transaction() as session:
        add_source(
            session,
            name=name,
            type="plan",
            url=str(path),
            publisher=publisher,
            local_files_allowed=True,
        )


def test_the_harvest_pages_show_jobs_and_failed_records(world: World, tmp_path: Path) -> None:
    register(world.app, "ferries", plan_source(tmp_path / "ferries.yaml"), "qd-transport")
    register(
        world.app,
        "aid",
        plan_source(tmp_path / "aid.yaml", publisher=OTHER_ORG["name"], name="aid-stations"),
        OTHER_ORG["name"],
    )
    officer = signed_in(world, "officer")
    listing = officer.get("/workspace/harvest", base_url=BASE).get_data(as_text=True)
    assert 'href="/workspace/harvest/ferries"' in listing and "还没有运行过" in listing
    assert 'href="/workspace/harvest/aid"' not in listing
    # run now: the job, its counts and the failed record with its location and reason
    source = "/workspace/harvest/ferries"
    status, location = press(officer, f"{source}/run", {}, source)
    assert status == 302 and "job=" in location
    page = officer.get(location, base_url=BASE).get_data(as_text=True)
    assert "采集已完成" in page
    with database(world.app).sessions() as session:
        [failed] = session.scalars(select(HarvestRecord).where(HarvestRecord.outcome == "failed"))
    assert failed.location and html.escape(failed.location) in page
    assert "核心数据" in page and "<code>grade</code>" in page  # the reason, per field
    jobs = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    counts = re.findall(r'<td class="num">(\d+)</td>', jobs.group(1)) if jobs else []
    # added, updated, restored, unchanged, withdrawn, held, failed
    assert [int(n) for n in counts] == [1, 0, 0, 0, 0, 0, 1]
    assert stored(world, "ferry-lines").publisher_id  # harvested into the catalog
    listing = officer.get("/workspace/harvest", base_url=BASE).get_data(as_text=True)
    assert "已完成" in listing and 'href="/workspace/harvest/ferries"' in listing
    # a second run: newest job first, the first one still there
    press(officer, f"{source}/run", {}, source)
    page = officer.get("/workspace/harvest/ferries", base_url=BASE).get_data(as_text=True)
    numbers = [int(n) for n in re.findall(r"/workspace/harvest/ferries\?job=(\d+)", page)]
    assert len(numbers) == 2 and numbers[0] > numbers[1]
    # another department's source is not there for this officer; the authority sees all
    assert officer.get("/workspace/harvest/aid", base_url=BASE).status_code == 404
    authority = signed_in(world, "authority")
    listing = authority.get("/workspace/harvest", base_url=BASE).get_data(as_text=True)
    assert 'href="/workspace/harvest/aid"' in listing and "/workspace/harvest/ferries" in listing
    assert authority.get("/workspace/harvest/aid", base_url=BASE).status_code == 200
    enterprise = signed_in(world, "enterprise")
    assert enterprise.get("/workspace/harvest", base_url=BASE).status_code == 403


# -- in English ---------------------------------------------------------------------------------
@pytest.fixture
def english_officer(english: FlaskClient, app: Flask, tmp_path: Path) -> Iterator[FlaskClient]:
    """The all-ASCII catalog of test_i18n, an officer of its department signed in, and a
    harvest source with a failing record."""
    with database(app).transaction() as session:
        access(session, app).accounts.create(
            {"email": "officer@example.cn", "password": PASSWORD, "display_name": "Olga"},
            role="officer",
            organization="qd-transport",
            by="test",
        )
    source = tmp_path / "ascii.yaml"
    good = {
        "name": "ferry-lines",
        "title": "Ferry lines",
        "description": "Ferries.",
        "domain": "transport",
        "open_type": "unconditional",
        "publisher": "qd-transport",
    }
    bad = {**good, "name": "ferry-tickets", "title": "Tickets", "grade": "core"}
    source.write_text(yaml.safe_dump({"datasets": [good, bad]}), "utf-8")
    register(app, "ferries", source, "qd-transport")
    response = english.post(
        "/login",
        data={"email": "officer@example.cn", "password": PASSWORD},
        base_url=BASE,
    )
    assert response.status_code == 302
    yield english


def test_the_officer_s_pages_in_english(english_officer: FlaskClient) -> None:
    client = english_officer
    assert client.post("/workspace/harvest/ferries/run", base_url=BASE).status_code == 302
    for path in (
        "/workspace",
        "/workspace/catalog",
        "/workspace/datasets/new",
        "/workspace/datasets/bus-positions/edit",
        "/workspace/harvest",
        "/workspace/harvest/ferries",
    ):
        response = client.get(path, base_url=BASE)
        assert response.status_code == 200, path
        assert_english(response.get_data(as_text=True), path)
    page = client.get("/workspace/catalog", base_url=BASE).get_data(as_text=True)
    assert "Metadata quality" in page and "Open on approval" in page
    harvest = client.get("/workspace/harvest/ferries", base_url=BASE).get_data(as_text=True)
    assert "Rejected records" in harvest and "may not have open_type" in harvest
    bad = client.post(
        "/workspace/datasets/new",
        data={"name": "x", "resources-0-name": "a", "resources-0-kind": "api"},
        base_url=BASE,
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert_english(text, "/workspace/datasets/new (errors)")
    assert "An API or link resource needs a url." in errors_of(text, "resources-0-url")
