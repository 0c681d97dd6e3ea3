"""Accessibility in the browser: axe-core (the engine behind Lighthouse's checks, bundled
by axe-playwright-python, no network) finds no WCAG 2.1 A/AA violation — labels,
contrast, names of controls, landmarks, language — on the public pages in both languages
and on each role's workspace pages; and the main paths work with the keyboard alone."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.live]  # chromium against `portal serve`

PASSWORD = "a long enough password"
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in found
    ]


def some_dataset(portal, open_type: str) -> str:  # type: ignore[no-untyped-def]
    url = f"{portal.url}/api/v1/search?open_type={open_type}&size=1"
    with urllib.request.urlopen(url) as response:
        return json.loads(response.read())["results"][0]["name"]


def sign_in(page, portal, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{portal.url}/login")
    page.get_by_label(re.compile("邮箱")).fill(email)
    page.get_by_label(re.compile("密码")).fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()


def assert_accessible(page, paths: list[str], portal) -> None:  # type: ignore[no-untyped-def]
    problems = {}
    for path in paths:
        page.goto(f"{portal.url}{path}")
        page.wait_for_load_state()
        found = violations(page)
        if found:
            problems[path] = found
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def test_public_pages_pass_axe_in_both_languages(page, portal) -> None:  # type: ignore[no-untyped-def]
    paths = [
        "/",
        "/search?q=公交",
        "/search?open_type=conditional&domain=transport&page=2",
        "/search?q=zzzz-nothing",
        f"/dataset/{some_dataset(portal, 'unconditional')}",
        f"/dataset/{some_dataset(portal, 'conditional')}",
        f"/dataset/{some_dataset(portal, 'closed')}",
        "/zone/transport",
        "/organization/qd-transport",
        "/login",
        "/register",
        "/password/forgot",
        "/api/v1/docs",
    ]
    assert_accessible(page, paths, portal)
    page.goto(f"{portal.url}/lang/en?next=/")
    assert_accessible(page, paths[:9], portal)
    page.shot("english-home")


def test_workspace_pages_pass_axe_for_each_role(page, portal) -> None:  # type: ignore[no-untyped-def]
    for email, role, org in (
        ("a11y-authority@qd.gov.cn", "authority", None),
        ("a11y-officer@qd.gov.cn", "officer", "qd-transport"),
    ):
        extra = ["--org", org] if org else []
        done = portal.portal("user", "add", email, "--role", role, *extra, "--password", PASSWORD)
        assert done.returncode == 0, done.stderr
    sign_in(page, portal, "a11y-officer@qd.gov.cn")
    conditional = some_dataset(portal, "conditional")
    assert_accessible(
        page,
        [
            "/workspace",
            "/workspace/catalog",
            "/workspace/datasets/new",
            "/workspace/harvest",
            "/workspace/catalog/upload",
            "/workspace/tokens",
            "/account",
        ],
        portal,
    )
    page.goto(f"{portal.url}/workspace/datasets/new")
    page.expected_statuses.add(422)
    page.locator("form button[type=submit]").last.click()  # errors beside the fields
    page.wait_for_load_state()
    assert violations(page) == []
    page.shot("officer-form-errors")
    page.locator("header form button").click()
    page.wait_for_load_state()
    sign_in(page, portal, "a11y-authority@qd.gov.cn")
    assert_accessible(
        page,
        [
            "/workspace",
            "/workspace/openness",
            "/workspace/zones",
            "/workspace/zones/transport/edit",
            "/workspace/vocabularies",
            "/workspace/grade-policy",
            "/workspace/audit",
            "/workspace/audit/verify",
            f"/dataset/{conditional}",
        ],
        portal,
    )


def test_searching_and_opening_a_result_with_the_keyboard_alone(page, portal) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{portal.url}/")
    page.keyboard.press("Tab")  # the first stop is the skip link
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(30):  # on to the search box
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "search":
            break
    else:
        pytest.fail("the search box cannot be reached with Tab")
    page.keyboard.type("公交")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))
    for _ in range(60):  # on to the first result's link
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement.getAttribute('href') || ''")
        if href.startswith("/dataset/"):
            break
    else:
        pytest.fail("no result link reachable with Tab")
    outline = page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle + ' '"
        " + getComputedStyle(document.activeElement).boxShadow"
    )
    assert outline.split()[0] != "none" or "rgb" in outline, "focus is not visible"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dataset/"))
    page.shot("opened-by-keyboard")
