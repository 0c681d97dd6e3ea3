"""Access in a real browser: an enterprise signs up and applies for a conditionally open
dataset from its page; the authority passes the formality review; the department's
officer approves less than asked; an officer uploads a spreadsheet catalog and sees the
dry run before anything is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.live]  # chromium against `portal serve`

PASSWORD = "a long enough password"
USCC = "91370200163562681"


def sign_in(page, portal, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{portal.url}/login")
    page.get_by_label(re.compile("邮箱")).fill(email)
    page.get_by_label(re.compile("密码")).fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.locator("header form button").click()
    page.wait_for_load_state()


def conditional_dataset(portal) -> str:  # type: ignore[no-untyped-def]
    import json
    import urllib.request

    url = f"{portal.url}/api/v1/search?open_type=conditional&publisher=qd-transport&size=1"
    with urllib.request.urlopen(url) as response:
        return json.loads(response.read())["results"][0]["name"]


def test_an_enterprise_applies_and_the_reviewers_decide(page, portal) -> None:  # type: ignore[no-untyped-def]
    from schemas.uscc import check_character

    for email, role, org in (
        ("authority@qd.gov.cn", "authority", None),
        ("officer@qd.gov.cn", "officer", "qd-transport"),
    ):
        extra = ["--org", org] if org else []
        done = portal.portal("user", "add", email, "--role", role, *extra, "--password", PASSWORD)
        assert done.returncode == 0, done.stderr
    # the enterprise signs up
    page.goto(f"{portal.url}/register")
    page.get_by_label(re.compile("^邮箱")).fill("data@example-enterprise.cn")
    page.get_by_label(re.compile("企业名称")).fill("青岛示例数据科技有限公司")
    page.get_by_label(re.compile("统一社会信用代码")).fill(USCC + check_character(USCC))
    page.get_by_label(re.compile("^密码")).fill(PASSWORD)
    page.get_by_label(re.compile("确认密码")).fill(PASSWORD)
    page.locator("input[type=checkbox]").check()
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    sign_in(page, portal, "data@example-enterprise.cn")
    # from the dataset page to the application form
    name = conditional_dataset(portal)
    page.goto(f"{portal.url}/dataset/{name}")
    page.get_by_role("link", name="申请数据").click()
    page.wait_for_load_state()
    page.get_by_label("用途").fill("分析客流，优化定制公交线路")
    page.get_by_label("应用场景").fill("定制公交")
    page.get_by_label(re.compile("期限")).fill("30")
    page.get_by_label(re.compile("调用次数")).fill("100")
    page.get_by_label(re.compile("安全承诺书")).check()
    page.shot("application-form")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_load_state()
    assert "/workspace/applications/" in page.url
    number = page.url.rsplit("/", 1)[1]
    assert "待形式审查" in page.locator("h1").inner_text()
    page.shot("submitted")
    sign_out(page)

    # the authority passes the formality review from its queue
    sign_in(page, portal, "authority@qd.gov.cn")
    page.goto(f"{portal.url}/workspace")
    page.get_by_role("link", name=number, exact=True).click()
    page.get_by_role("button", name="通过").click()
    page.wait_for_load_state()
    assert "实质审查中" in page.locator("h1").inner_text()
    sign_out(page)

    # the department approves fewer calls than asked
    sign_in(page, portal, "officer@qd.gov.cn")
    page.goto(f"{portal.url}/workspace")
    page.get_by_role("link", name=number, exact=True).click()
    page.get_by_label("批准调用次数").fill("40")
    page.shot("review")
    page.get_by_role("button", name="批准", exact=True).click()
    page.wait_for_load_state()
    assert "已批准" in page.locator("h1").inner_text()
    page.shot("approved")


def test_an_officer_sees_the_dry_run_of_a_spreadsheet_upload(  # type: ignore[no-untyped-def]
    page, portal, tmp_path: Path
) -> None:
    done = portal.portal(
        "user",
        "add",
        "officer2@qd.gov.cn",
        "--role",
        "officer",
        "--org",
        "qd-transport",
        "--password",
        PASSWORD,
    )
    assert done.returncode == 0, done.stderr
    catalog = tmp_path / "目录.csv"
    catalog.write_text(
        "数据目录名称,所属领域,开放属性,数据摘要\n"
        "出租车上客点,交通运输,无条件开放,全市出租车上客点位置。\n"
        "网约车订单,交通运输,有条件开放,缺少开放条件。\n",
        encoding="utf-8-sig",
    )
    sign_in(page, portal, "officer2@qd.gov.cn")
    page.goto(f"{portal.url}/workspace/catalog/upload")
    page.get_by_label("目录文件").set_input_files(str(catalog))
    page.get_by_role("button", name="试运行").click()
    page.wait_for_load_state()
    report = page.locator("section.report").inner_text()
    assert "dataset.added" in report and "row 3" in report
    page.shot("dry-run")
    page.goto(f"{portal.url}/search?q=出租车上客点")  # a dry run writes nothing
    assert re.sub(r"\D", "", page.locator("#results-title").inner_text()) == "0"
