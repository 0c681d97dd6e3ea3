"""The workspace pages: an enterprise applies through the form, the authority passes the
formality review, the department approves less than asked — all in the browser's way
(forms with CSRF tokens, signed-in sessions), with the same rules as the API."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.models import Dataset
from portal.services import database

from ..access.conftest import PASSWORD, World
from ..access.conftest import world as world

BASE = "https://localhost"


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert found, page[:500]
    return found.group(1)


def signed_in(world: World, who: str) -> FlaskClient:
    client = world.app.test_client()
    form = client.get("/login", base_url=BASE).get_data(as_text=True)
    done = client.post(
        "/login",
        base_url=BASE,
        data={"email": f"{who}@example.cn", "password": PASSWORD, "csrf_token": csrf(form)},
        headers={"Referer": f"{BASE}/login"},
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    return client


def post(client: FlaskClient, path: str, data: dict) -> tuple[int, str, str]:  # type: ignore[type-arg]
    page = client.get(path, base_url=BASE).get_data(as_text=True)
    response = client.post(
        path,
        base_url=BASE,
        data={**data, "csrf_token": csrf(page)},
        headers={"Referer": f"{BASE}{path}"},
    )
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_data(as_text=True),
    )


def test_apply_review_and_follow_in_the_workspace(world: World) -> None:
    enterprise = signed_in(world, "enterprise")
    swipes = world.resources["card-swipes"]
    # a bad form keeps what was typed and says what is wrong, in Chinese by default
    status, _, page = post(
        enterprise, "/apply/card-swipes", {"purpose": "研究", "resources": swipes}
    )
    assert status == 422
    assert "公共数据安全承诺书" in page and "研究" in page
    status, location, _ = post(
        enterprise,
        "/apply/card-swipes",
        {
            "resources": swipes,
            "purpose": "客流分析",
            "scenario": "定制公交",
            "term_days": "30",
            "quota_calls": "100",
            "commitment_accepted": "y",
        },
    )
    assert status == 302 and "/workspace/applications/" in location
    number = int(location.rsplit("/", 1)[1])
    mine = enterprise.get("/workspace", base_url=BASE).get_data(as_text=True)
    assert "待形式审查" in mine and f">{number}<" in mine

    authority = signed_in(world, "authority")
    queue = authority.get("/workspace", base_url=BASE).get_data(as_text=True)
    assert f">{number}<" in queue
    path = f"/workspace/applications/{number}"
    status, _, page = post(authority, path, {"step": "formality", "decision": "return"})
    assert status == 422 and "理由" in page  # returning needs a reason
    status, _, _ = post(authority, path, {"step": "formality", "decision": "pass"})
    assert status == 302

    officer = signed_in(world, "officer")
    status, _, _ = post(
        officer,
        path,
        {
            "step": "decision",
            "decision": "approve",
            "term_days": "10",
            "quota_calls": "7",
            "resources": swipes[:1],
        },
    )
    assert status == 302
    followed = enterprise.get("/workspace?lang=en", base_url=BASE).get_data(as_text=True)
    assert "Approved" in followed and "7 / 7" in followed
    # another department's officer cannot even see it
    other = signed_in(world, "other_officer")
    assert other.get(path, base_url=BASE).status_code == 404


def test_the_workspace_needs_a_sign_in(world: World) -> None:
    client = world.app.test_client()
    response = client.get("/workspace", base_url=BASE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/apply/card-swipes", base_url=BASE).status_code == 302


CATALOG_CSV = (
    "数据目录名称,所属领域,开放属性,数据摘要,更新频率\n"
    "出租车上客点,交通运输,无条件开放,全市出租车上客点位置。,每月\n"
    "网约车订单,交通运输,有条件开放,缺少开放条件的一行。,每天\n"
)


def test_a_department_uploads_its_catalog_dry_run_first(world: World) -> None:
    import io

    officer = signed_in(world, "officer")
    page = officer.get("/workspace/catalog/upload", base_url=BASE).get_data(as_text=True)
    response = officer.post(
        "/workspace/catalog/upload",
        base_url=BASE,
        data={
            "csrf_token": csrf(page),
            "catalog": (io.BytesIO(CATALOG_CSV.encode("gb18030")), "目录.csv"),
        },
        content_type="multipart/form-data",
        headers={"Referer": f"{BASE}/workspace/catalog/upload"},
    )
    report = response.get_data(as_text=True)
    assert response.status_code == 200, report[:500]
    assert "dataset.added" in report and "row 3" in report  # the bad row, located
    with database(world.app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 3  # nothing new
    commit = re.search(r'action="(/workspace/catalog/upload/[^"]+/commit)"', report)
    assert commit
    done = officer.post(
        commit.group(1),
        base_url=BASE,
        data={"csrf_token": csrf(report)},
        headers={"Referer": f"{BASE}/workspace/catalog/upload"},
    )
    assert done.status_code == 200
    with database(world.app).sessions() as session:
        titles = set(session.scalars(select(Dataset.title)))
    assert "出租车上客点" in titles and "网约车订单" not in titles
    # an enterprise cannot upload a department's catalog
    enterprise = signed_in(world, "enterprise")
    assert enterprise.get("/workspace/catalog/upload", base_url=BASE).status_code == 403
