"""Discovery in a real browser: search with two facets and a page change, the URL
carrying the state (back works); a dataset page in Chinese and in English."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.live]  # chromium against `portal serve`

CJK = re.compile(r"[\u4e00-\u9fff]")


def total(page) -> int:  # type: ignore[no-untyped-def]
    return int(re.sub(r"\D", "", page.locator("#results-title").inner_text()))


def test_search_with_two_facets_and_a_page_change(page, portal) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{portal.url}/search?q=数据&size=5")
    everything = total(page)
    assert everything > 10
    # tick the first value of two different facets, then apply
    fieldsets = page.locator("aside.facets fieldset")
    assert fieldsets.count() >= 2
    picked = []
    for index in (0, 1):
        box = fieldsets.nth(index).locator("input[type=checkbox]").first
        picked.append(box.get_attribute("name"))
        box.check()
    page.get_by_role("button", name=re.compile("应用筛选")).click()
    page.wait_for_load_state()
    query = parse_qs(urlparse(page.url).query)
    assert all(name in query for name in picked), page.url
    filtered = total(page)
    assert 0 < filtered <= everything
    assert page.locator("a.chip").count() >= 2  # the chosen filters, removable
    page.shot("two-facets")
    if filtered > 5:
        page.locator("nav.pager a[rel=next]").click()
        page.wait_for_load_state()
        assert parse_qs(urlparse(page.url).query).get("page") == ["2"]
        assert all(name in parse_qs(urlparse(page.url).query) for name in picked)
        page.shot("page-two")
        page.go_back()
        page.wait_for_load_state()
        assert "page=2" not in page.url and total(page) == filtered


def test_a_dataset_page_in_both_languages(page, portal) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{portal.url}/search?q=公交")
    page.locator("ol.datasets a").first.click()
    page.wait_for_load_state()
    assert "/dataset/" in page.url
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert CJK.search(page.locator("h1").first.inner_text())
    page.shot("zh")
    page.get_by_role("link", name=re.compile("English")).first.click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    labels = " ".join(page.locator("dt").all_inner_texts())
    assert labels and not CJK.search(labels), labels
    page.shot("en")
