"""Attacks on accounts, sessions, hosts and headers (issue 15, findings 11, 12, 18, 19, 20):
locking someone else out, telling which addresses have accounts, forged Host headers in
mailed links and exports, stale reset links and tokens, replayed session cookies, missing
security headers, and rate-limit buckets a client can choose."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import AnyConverter, IntegerConverter
from werkzeug.test import TestResponse

from portal import create_app, lifecycle
from portal.services import access, database

from ..web.test_accounts import BASE, EMAIL, PASSWORD, USCC, Browser, input_value, mails

NEW_PASSWORD = "another long passphrase"
OWNER_IP = "127.0.0.1"  # the test browser's: Flask-Login ties a session to it
STRANGER_IP = "203.0.113.66"
UNKNOWN = "nobody-here@example.cn"


def make_app(tmp_path: Path, database_url: str, **settings: Any) -> Flask:
    config = {
        "instance_path": str(tmp_path / "instance"),
        "database_url": database_url,
        "login_rate_limit": "100000/minute",  # the per-IP limit is not what is tested here
        "api_rate_limit": "",
        "api_ip_rate_limit": "",
        **settings,
    }
    app = create_app(config)
    app.config["TESTING"] = True
    lifecycle.initialize(app)
    return app


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = make_app(tmp_path, database_url)
    yield app
    database(app).dispose()


@pytest.fixture
def owner(app: Flask) -> Browser:
    browser = Browser(app)
    assert browser.register().status_code == 302
    return browser


def token_attempt(
    client: FlaskClient,
    password: str,
    *,
    ip: str,
    email: str = EMAIL,
    scopes: tuple[str, ...] = ("catalog:read",),
) -> TestResponse:
    return client.post(
        "/api/v1/tokens",
        json={"email": email, "password": password, "name": "t", "scopes": list(scopes)},
        environ_base={"REMOTE_ADDR": ip},
    )


def web_login(browser: Browser, *, ip: str, email: str = EMAIL, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = browser.get("/login").get_data(as_text=True)
    return browser.client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": input_value(page, "csrf_token")},
        base_url=BASE,
        headers={"Referer": BASE + "/login"},
        environ_base={"REMOTE_ADDR": ip},
    )


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", page)


# -- 11: throttling that nobody can turn into a lockout, and no account enumeration --------
def test_a_stranger_s_fifty_wrong_passwords_do_not_keep_the_owner_out(
    app: Flask, owner: Browser
) -> None:
    client = app.test_client()
    statuses = [
        token_attempt(client, "wrong guess!", ip=STRANGER_IP).status_code for _ in range(50)
    ]
    assert set(statuses) == {401, 429} and statuses[:5] == [401] * 5
    # the owner, elsewhere: in at once
    assert token_attempt(client, PASSWORD, ip=OWNER_IP).status_code == 201
    assert web_login(owner, ip=OWNER_IP).status_code == 302
    # from the stranger's address, even the right password waits (429, no sleeping)
    started = time.monotonic()
    delayed = token_attempt(client, PASSWORD, ip=STRANGER_IP)
    assert time.monotonic() - started < 2
    assert delayed.status_code == 429 and int(delayed.headers["Retry-After"]) >= 1
    assert delayed.content_type == "application/problem+json"


def test_the_bound_over_all_sources_yields_to_a_known_device_and_to_a_reset(
    app: Flask, owner: Browser
) -> None:
    assert web_login(owner, ip=OWNER_IP).status_code == 302  # this browser becomes known
    owner.post("/logout", {}, form_page="/account")
    client = app.test_client()
    # 100 wrong passwords from 25 addresses, 4 each: no source waits, but then the account
    statuses = [
        token_attempt(client, "wrong guess!", ip=f"192.0.2.{n}").status_code
        for n in range(26)
        for _ in range(4)
    ]
    assert statuses[:100] == [401] * 100 and statuses[100:] == [429] * 4
    stranger_browser = Browser(app)
    refused = web_login(stranger_browser, ip="198.51.100.99")  # right password, new device
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert web_login(owner, ip="198.51.100.99").status_code == 302  # the known device

    owner.post("/password/forgot", {"email": EMAIL})
    link = re.search(r"https://localhost(/password/reset/[\w-]+)", mails(app)[-1].get_content())
    assert link
    done = owner.post(link.group(1), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302
    fresh = Browser(app)  # after a reset the counts are forgotten
    assert web_login(fresh, ip="198.51.100.99", password=NEW_PASSWORD).status_code == 302


def test_sign_in_answers_the_same_for_known_and_unknown_addresses(
    app: Flask, owner: Browser
) -> None:
    client = app.test_client()
    known = token_attempt(client, "wrong guess!", ip="192.0.2.1")
    unknown = token_attempt(client, "wrong guess!", ip="192.0.2.2", email=UNKNOWN)
    assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json())
    # throttled alike too
    for ip, email in (("192.0.2.3", EMAIL), ("192.0.2.4", UNKNOWN)):
        answers = [token_attempt(client, "wrong!", ip=ip, email=email) for _ in range(6)]
        assert [a.status_code for a in answers] == [401] * 5 + [429]
    known_page = web_login(Browser(app), ip="192.0.2.5", password="wrong guess!")
    unknown_page = web_login(Browser(app), ip="192.0.2.6", email=UNKNOWN, password="wrong guess!")
    assert known_page.status_code == unknown_page.status_code == 401
    assert without_csrf(known_page.get_data(as_text=True)) == without_csrf(
        unknown_page.get_data(as_text=True).replace(UNKNOWN, EMAIL)
    )


def registration(email: str) -> dict[str, str]:
    return {
        "email": email,
        "password": "a long enough password",
        "enterprise_name": "青岛示例数据科技有限公司",
        "enterprise_uscc": USCC,
    }


def test_registration_answers_the_same_for_a_taken_address_and_mails_its_owner(
    app: Flask, owner: Browser
) -> None:
    client = app.test_client()
    taken = client.post("/api/v1/accounts", json=registration(EMAIL.upper()))
    new = client.post("/api/v1/accounts", json=registration("fresh@example.cn"))
    assert taken.status_code == new.status_code == 202
    assert {**taken.get_json(), "email": "-"} == {**new.get_json(), "email": "-"}
    web_taken = owner.register(email=EMAIL)
    web_new = owner.register(email="fresher@example.cn")
    assert (web_taken.status_code, web_taken.location) == (web_new.status_code, web_new.location)
    to_owner = [m for m in mails(app) if m["To"] == EMAIL]
    assert len(to_owner) == 2 and "/password/forgot" in to_owner[0].get_content()
    assert not [m for m in mails(app) if m["To"] != EMAIL]


@pytest.mark.real_hashing
def test_known_and_unknown_addresses_cost_the_same_order_of_time(
    app: Flask, owner: Browser
) -> None:
    client = app.test_client()

    def timed(call: Any) -> float:
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            call()
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    known = timed(lambda: token_attempt(client, "wrong!", ip="192.0.2.7"))
    unknown = timed(lambda: token_attempt(client, "wrong!", ip="192.0.2.8", email=UNKNOWN))
    taken = timed(lambda: client.post("/api/v1/accounts", json=registration(EMAIL)))
    counter = iter(range(100))
    fresh = timed(
        lambda: client.post("/api/v1/accounts", json=registration(f"n{next(counter)}@qd.cn"))
    )
    for a, b in ((known, unknown), (taken, fresh)):
        assert max(a, b) < 5 * min(a, b), (a, b)


# -- 12: reset links from a trusted address only; a reset ends everything else ---------------
def test_a_forged_host_gets_400_and_no_mail(app: Flask, owner: Browser) -> None:
    evil = "https://evil.example"
    form = owner.client.get("/password/forgot", base_url=evil)
    assert form.status_code == 400
    assert_secured(form, "a refused host")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]*)"', form.get_data(as_text=True))
    forged = owner.client.post(
        "/password/forgot",
        data={"email": EMAIL, "csrf_token": token.group(1) if token else ""},
        base_url=evil,
        headers={"Referer": evil + "/password/forgot"},
    )
    assert forged.status_code == 400
    assert not any("evil.example" in m.get_content() for m in mails(app))
    assert mails(app) == []


def test_with_no_trusted_host_the_link_uses_the_listening_address(
    tmp_path: Path, database_url: str
) -> None:
    app = make_app(
        tmp_path, database_url, trusted_hosts="", secure_cookies=False, host="127.0.0.1", port=5000
    )
    try:
        browser = Browser(app)
        assert browser.register().status_code == 302
        evil = "http://evil.example"
        page = browser.client.get("/password/forgot", base_url=evil).get_data(as_text=True)
        sent = browser.client.post(
            "/password/forgot",
            data={"email": EMAIL, "csrf_token": input_value(page, "csrf_token")},
            base_url=evil,
        )
        assert sent.status_code == 200
        [mail] = mails(app)
        assert "http://127.0.0.1:5000/password/reset/" in mail.get_content()
        assert "evil.example" not in mail.get_content()
    finally:
        database(app).dispose()


def reset_link(app: Flask, owner: Browser) -> str:
    owner.post("/password/forgot", {"email": EMAIL})
    found = re.search(r"https://localhost(/password/reset/[\w-]+)", mails(app)[-1].get_content())
    assert found
    return found.group(1)


def test_a_reset_revokes_tokens_and_every_other_link(app: Flask, owner: Browser) -> None:
    client = app.test_client()
    made = token_attempt(client, PASSWORD, ip=OWNER_IP, scopes=("tokens",))
    assert made.status_code == 201
    secret = made.get_json()["token"]
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tokens", headers=auth).status_code == 200
    first, second = reset_link(app, owner), reset_link(app, owner)
    done = owner.post(second, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert client.get("/api/v1/tokens", headers=auth).status_code == 401
    assert owner.get(first).status_code == 404  # the older link died with the reset
    with database(app).sessions() as session:
        assert not access(session, app).accounts.reset_usable(first[len("/password/reset/") :])


# -- 19: signing out ends the session, wherever its cookie went ------------------------------
def test_a_session_cookie_copied_before_sign_out_is_dead_after_it(
    app: Flask, owner: Browser
) -> None:
    assert web_login(owner, ip=OWNER_IP).status_code == 302
    cookie = owner.client.get_cookie("session", domain="localhost")
    assert cookie is not None and owner.signed_in_as() == EMAIL
    thief = Browser(app)
    thief.client.set_cookie("session", cookie.value, domain="localhost", secure=True)
    assert thief.signed_in_as() == EMAIL  # the copy works while the session lives
    assert owner.post("/logout", {}, form_page="/account").status_code == 302
    assert thief.signed_in_as() is None
    assert owner.signed_in_as() is None


def test_sign_out_everywhere_ends_every_session(app: Flask, owner: Browser) -> None:
    other = Browser(app)
    assert web_login(owner, ip=OWNER_IP).status_code == 302
    assert web_login(other, ip=OWNER_IP).status_code == 302
    assert owner.post("/logout/everywhere", {}, form_page="/account").status_code == 302
    assert other.signed_in_as() is None


# -- 18: security headers on every response --------------------------------------------------
def example_url(app: Flask, rule: Any) -> str:
    values: dict[str, Any] = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            values[name] = 1
        else:
            values[name] = "x"
    return app.url_map.bind("localhost").build(rule.endpoint, values, force_external=False)


def assert_secured(response: TestResponse, where: str) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert "default-src 'self'" in policy or "default-src 'none'" in policy, where
    assert "'unsafe-inline'" not in policy, where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "same-origin")
    assert headers.get("Strict-Transport-Security", "").startswith("max-age="), where


def test_every_route_answers_with_the_security_headers(app: Flask, owner: Browser) -> None:
    client = app.test_client()
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 40
    for rule in rules:
        url = example_url(app, rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, base_url=BASE)
            assert response.status_code < 500 or response.status_code == 503, (method, url)
            assert_secured(response, f"{method} {url}")
    home = client.get("/", base_url=BASE)
    assert (
        home.status_code == 200 and "default-src 'self'" in home.headers["Content-Security-Policy"]
    )
    assert_secured(client.get("/", base_url="https://evil.example"), "a refused host")
    assert_secured(client.get("/no/such/page", base_url=BASE), "a 404")


# -- 20: rate-limit buckets a client cannot choose, absolute URLs no Host can steer ----------
def test_made_up_tokens_share_their_address_s_budget(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, api_rate_limit="3/minute")
    try:
        client = app.test_client()
        statuses = [
            client.get(
                "/api/v1/zones", headers={"Authorization": f"Bearer qdp_made-up-{n}"}
            ).status_code
            for n in range(5)
        ]
        assert statuses[-1] == 429, statuses
    finally:
        database(app).dispose()


def test_forwarded_addresses_count_only_from_configured_proxies(
    tmp_path: Path, database_url: str
) -> None:
    def statuses(app: Flask, clients: list[str]) -> list[int]:
        client = app.test_client()
        return [
            client.post(
                "/api/v1/tokens",
                json={"email": UNKNOWN, "password": "x", "name": "t", "scopes": []},
                environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the proxy
                headers={"X-Forwarded-For": forwarded},
            ).status_code
            for forwarded in clients
        ]

    behind = make_app(tmp_path / "a", database_url, login_rate_limit="2/minute", trusted_proxies=1)
    try:
        # two clients behind one proxy: each has its own sign-in budget
        assert statuses(behind, ["203.0.113.1"] * 2 + ["203.0.113.2"]) == [401, 401, 401]
        assert statuses(behind, ["203.0.113.1"]) == [429]
    finally:
        database(behind).dispose()
    direct = make_app(tmp_path / "b", database_url, login_rate_limit="2/minute")
    try:
        # no proxy configured: a made-up X-Forwarded-For buys no fresh budget
        assert statuses(direct, ["203.0.113.1", "203.0.113.2", "203.0.113.3"])[-1] == 429
    finally:
        database(direct).dispose()


def test_exports_take_absolute_urls_from_the_configured_address(
    tmp_path: Path, database_url: str, app: Flask
) -> None:
    client = app.test_client()
    assert client.get("/catalog.jsonld", base_url="http://evil.example").status_code == 400
    assert (
        client.get("/api/3/action/status_show", base_url="http://evil.example").status_code == 400
    )
    public = make_app(tmp_path / "p", database_url, public_url="https://data.qingdao.gov.cn")
    try:
        body = public.test_client().get("/api/3/action/status_show").get_json()
        assert body["help"].startswith("https://data.qingdao.gov.cn/api/3/action/help_show")
        assert body["result"]["site_url"] == "https://data.qingdao.gov.cn"
    finally:
        database(public).dispose()
    anywhere = make_app(tmp_path / "q", database_url, trusted_hosts="", port=5000)
    try:
        page = anywhere.test_client().get("/catalog.ttl", base_url="http://evil.example")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "evil.example" not in text and "http://127.0.0.1:5000/" in text
    finally:
        database(anywhere).dispose()
