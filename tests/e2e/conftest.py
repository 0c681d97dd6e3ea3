"""Browser tests: Debian's chromium driven by Playwright against a live portal.

Each test keeps screenshots in `test-artifacts/` (or $PORTAL_ARTIFACTS). Any error in the
page's console or an uncaught script error fails the test. Without /usr/bin/chromium the
tests skip — unless PORTAL_REQUIRE_BROWSER is set (CI), where that is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..live import LivePortal, live_portal

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("PORTAL_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("PORTAL_REQUIRE_BROWSER"):
            pytest.fail("PORTAL_REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
        pytest.skip("no /usr/bin/chromium: browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePortal]:
    """The plan catalog, served (search index built on start)."""
    with live_portal(tmp_path_factory.mktemp("e2e")) as live:
        yield live


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.shots = []  # type: ignore[attr-defined]
    # A test that submits a bad form on purpose names the status it expects: the browser
    # logs the page's own 4xx as a console error.
    page.expected_statuses = set()  # type: ignore[attr-defined]

    def shot(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        page.shots.append(path)  # type: ignore[attr-defined]
        return path

    page.shot = shot  # type: ignore[attr-defined]
    yield page
    context.close()
    expected = {
        f"console error: Failed to load resource: the server responded with a status of {n} "
        for n in page.expected_statuses  # type: ignore[attr-defined]
    }
    problems = [p for p in problems if not any(p.startswith(e) for e in expected)]
    assert not problems, "\n".join(problems)
