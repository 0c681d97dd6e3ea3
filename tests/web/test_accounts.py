"""The account pages: enterprise registration, sign-in and sign-out, password reset by mail.

Every page is fetched over https (the session cookie is Secure) with CSRF protection on:
posts carry the token read from the rendered form, as a browser's would.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from collections.abc import Iterator
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from portal import create_app, lifecycle
from portal.mail import send_mail
from portal.models import AuditEntry, User
from portal.services import database
from portal.web.accounts import safe_next
from schemas.uscc import check_character

BASE = "https://localhost"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"
USCC = "11370200004012340B"  # valid (tests/factories.py)
BAD_USCC = USCC[:17] + ("A" if check_character(USCC[:17]) != "A" else "B")
EMAIL = "ada@example.cn"


def make_app(tmp_path: Path, database_url: str, **settings: Any) -> Flask:
    config = {
        "instance_path": str(tmp_path / "instance"),
        "database_url": database_url,
        "login_rate_limit": "1000/minute",
        **settings,
    }
    app = create_app(config)
    app.config["TESTING"] = True
    lifecycle.initialize(app)
    return app


@pytest.fixture
def web_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = make_app(tmp_path, database_url)  # secure_cookies stays on (the default)
    yield app
    database(app).dispose()


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs))


def inputs(page: str) -> list[dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(page)
    return parser.inputs


def input_value(page: str, name: str) -> str | None:
    for attrs in inputs(page):
        if attrs.get("name") == name:
            return attrs.get("value")
    raise AssertionError(f"no input {name!r} on the page")


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_errors(response: TestResponse, field: str) -> str:
    """The error list rendered next to `field`, as text ("" when there is none)."""
    found = re.search(
        rf'<ul class="field-errors" id="{field}-errors">(.*?)</ul>', text(response), re.S
    )
    return found.group(1) if found else ""


class Browser:
    """A test client on https that posts forms with the CSRF token of the page."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()

    def get(self, path: str) -> TestResponse:
        return self.client.get(path, base_url=BASE)

    def english(self) -> None:
        """Pages from now on in English (the cookie /lang/en sets)."""
        self.client.set_cookie("lang", "en", domain="localhost")

    def post(self, path: str, data: dict[str, Any], *, form_page: str | None = None):  # type: ignore[no-untyped-def]
        """Post `data` with the CSRF token of the form on `form_page` (default: `path`)."""
        page = self.get(form_page or path).get_data(as_text=True)
        data = {**data, "csrf_token": input_value(page, "csrf_token")}
        return self.post_raw(path, data, referrer=form_page or path)

    def post_raw(self, path: str, data: dict[str, Any], *, referrer: str = "/") -> TestResponse:
        # Over https Flask-WTF also wants a same-site Referer, as browsers send.
        headers = {"Referer": BASE + referrer}
        return self.client.post(path, data=data, base_url=BASE, headers=headers)

    def register(self, **changes: Any) -> TestResponse:
        data = {
            "email": EMAIL,
            "display_name": "Ada",
            "enterprise_name": "青岛海洋数据科技有限公司",
            "enterprise_uscc": USCC,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "accept_terms": "y",
        }
        data.update(changes)
        return self.post("/register", {k: v for k, v in data.items() if v is not None})

    def login(self, email: str = EMAIL, password: str = PASSWORD, **extra: str) -> TestResponse:
        return self.post("/login", {"email": email, "password": password, **extra})

    def signed_in_as(self) -> str | None:
        """The e-mail the account page shows, or None when it sends us to sign in."""
        response = self.get("/account")
        if response.status_code == 302:
            assert response.location.startswith("/login")
            return None
        assert response.status_code == 200
        found = re.search(
            r"<dt>(?:邮箱|E-mail)[^<]*(?:<small>[^<]*</small>)?</dt><dd>([^<]*)</dd>",
            text(response),
        )
        assert found
        return found.group(1)


@pytest.fixture
def browser(web_app: Flask) -> Browser:
    return Browser(web_app)


@pytest.fixture
def registered(browser: Browser) -> Browser:
    assert browser.register().status_code == 302
    return browser


def users(app: Flask) -> list[User]:
    with database(app).sessions() as session:
        return list(session.scalars(select(User)))


def audit(app: Flask, action: str) -> list[AuditEntry]:
    with database(app).sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def mails(app: Flask) -> list[EmailMessage]:
    folder = Path(app.instance_path) / "mail"
    files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
    return [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for f in files
    ]


# Registration.


def test_an_enterprise_registers_and_then_signs_in(browser: Browser) -> None:
    form = browser.get("/register")
    assert form.status_code == 200
    names = {attrs.get("name") for attrs in inputs(form.get_data(as_text=True))}
    assert {"email", "enterprise_uscc", "password", "password_confirm", "accept_terms"} <= names

    response = browser.register(email="  Ada@Example.CN ", enterprise_uscc=USCC.lower())
    assert response.status_code == 302 and response.location == "/login"
    [user] = users(browser.app)
    assert (user.email, user.role, user.enterprise_uscc) == (EMAIL, "enterprise", USCC)
    assert user.enterprise_name == "青岛海洋数据科技有限公司"
    assert "注册成功" in text(browser.get("/login"))
    assert audit(browser.app, "account.register")

    assert browser.signed_in_as() is None
    response = browser.login()
    assert response.status_code == 302 and response.location == "/account"
    page = text(browser.get("/account"))
    assert browser.signed_in_as() == EMAIL
    assert "企业用户" in page and "青岛海洋数据科技有限公司" in page and USCC in page


def test_invalid_uscc_and_short_password_show_bilingual_field_errors(browser: Browser) -> None:
    response = browser.register(
        enterprise_uscc=BAD_USCC, password="short", password_confirm="short"
    )
    assert response.status_code == 422
    assert "统一社会信用代码无效" in field_errors(response, "enterprise_uscc")
    assert "密码至少 10 个字符" in field_errors(response, "password")
    assert field_errors(response, "email") == ""
    assert users(browser.app) == []
    # What was typed stays in the form, except the passwords.
    page = response.get_data(as_text=True)
    assert input_value(page, "enterprise_uscc") == BAD_USCC
    assert not input_value(page, "password")
    # The same errors in English on an English page.
    browser.english()
    english = browser.register(enterprise_uscc=BAD_USCC, password="short", password_confirm="short")
    uscc = field_errors(english, "enterprise_uscc")
    assert "Not a valid unified social credit code" in uscc and "统一社会信用代码" not in uscc
    assert "Use at least 10 characters." in field_errors(english, "password")


def test_form_checks_are_bilingual_too(browser: Browser) -> None:
    response = browser.register(
        enterprise_name="  ", password_confirm="something else", accept_terms=None
    )
    assert response.status_code == 422
    assert "两次输入的密码不一致" in field_errors(response, "password_confirm")
    assert "请阅读并同意用户协议" in field_errors(response, "accept_terms")
    assert "请填写企业名称" in field_errors(response, "enterprise_name")
    browser.english()
    response = browser.register(
        enterprise_name="  ", password_confirm="something else", accept_terms=None
    )
    assert "The passwords do not match." in field_errors(response, "password_confirm")
    assert "Accept the terms of use" in field_errors(response, "accept_terms")
    assert "Enter the enterprise's name." in field_errors(response, "enterprise_name")
    assert users(browser.app) == []


def test_a_registered_email_is_answered_as_a_new_one_and_its_owner_mailed(
    registered: Browser,
) -> None:
    again = registered.register(email="ADA@example.cn", enterprise_uscc=USCC)
    new = registered.register(email="new@example.cn", enterprise_uscc=USCC)
    assert (again.status_code, again.location) == (new.status_code, new.location) == (302, "/login")
    assert len(users(registered.app)) == 2
    [mail] = mails(registered.app)  # to the owner, not to the visitor
    assert mail["To"] == EMAIL and "https://localhost/login" in mail.get_content()


# Signing in and out.


def test_sign_in_sets_a_fresh_http_only_lax_secure_session_cookie(registered: Browser) -> None:
    with registered.client.session_transaction(base_url=BASE) as session:
        session["planted"] = "by someone else"  # a session fixed before sign-in
    response = registered.login()
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    flags = {part.strip().lower() for part in cookies[-1].split(";")}
    assert {"httponly", "samesite=lax", "secure"} <= flags
    with registered.client.session_transaction(base_url=BASE) as session:
        assert "planted" not in session
        user_id, _, secret = session.get("_user_id", "").partition(":")
        assert user_id == str(users(registered.app)[0].id) and len(secret) >= 32
    assert audit(registered.app, "login")


def test_a_wrong_password_is_refused_in_both_languages(registered: Browser) -> None:
    response = registered.login(password="not the password")
    assert response.status_code == 401
    assert "邮箱或密码错误" in text(response)
    assert registered.signed_in_as() is None
    [failed] = audit(registered.app, "login.failed")
    assert failed.ip == "127.0.0.1"
    # An unknown address gets the same words.
    assert "邮箱或密码错误" in text(registered.login(email="nobody@example.cn"))
    registered.english()
    assert "Wrong e-mail or password." in text(registered.login(email="nobody@example.cn"))


def test_five_wrong_passwords_make_this_source_wait(registered: Browser) -> None:
    for _ in range(5):
        assert registered.login(password="not the password").status_code == 401
    response = registered.login()  # the right password, too soon
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "登录尝试过于频繁" in text(response)
    assert registered.signed_in_as() is None
    assert len(audit(registered.app, "login.failed")) == 5
    assert not audit(registered.app, "login")
    registered.english()
    assert "Too many sign-in attempts" in text(registered.login())


def test_posts_without_the_csrf_token_are_refused(registered: Browser) -> None:
    response = registered.post_raw("/login", {"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 400
    assert registered.signed_in_as() is None
    assert not audit(registered.app, "login") and not audit(registered.app, "login.failed")

    assert registered.post_raw("/register", {"email": "b@example.cn"}).status_code == 400
    assert len(users(registered.app)) == 1

    registered.login()
    assert registered.post_raw("/logout", {}).status_code == 400
    assert registered.signed_in_as() == EMAIL


def test_sign_out_takes_a_post_with_the_token(registered: Browser) -> None:
    registered.login()
    assert registered.get("/logout").status_code == 405
    assert registered.signed_in_as() == EMAIL

    response = registered.post("/logout", {}, form_page="/account")
    assert response.status_code == 302 and response.location == "/login"
    assert registered.signed_in_as() is None
    assert "您已退出登录" in text(registered.get("/login"))


def test_the_header_shows_who_is_signed_in(registered: Browser) -> None:
    anonymous = text(registered.get("/login"))
    assert 'href="/login"' in anonymous and 'href="/register"' in anonymous
    registered.login()
    page = text(registered.get("/password/forgot"))
    header = page.split("</header>")[0]
    assert "Ada" in header and 'action="/logout"' in header and 'href="/login"' not in header


def test_a_protected_page_sends_to_sign_in_and_back(registered: Browser) -> None:
    response = registered.get("/account")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Faccount"
    page = text(registered.get(response.location))
    assert "请先登录" in page
    assert input_value(page, "next") == "/account"
    registered.english()
    registered.get("/account")
    assert "Please sign in" in text(registered.get(response.location))
    response = registered.login(next="/account")
    assert response.location == "/account"
    assert registered.get("/account").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_never_leaves_the_site(registered: Browser, target: str) -> None:
    page = registered.get(f"/login?next={target}").get_data(as_text=True)
    assert input_value(page, "next") in ("", None)
    response = registered.login(next=target)
    assert response.status_code == 302 and response.location == "/account"


def test_next_on_the_site_is_followed(registered: Browser) -> None:
    response = registered.login(next="/search?q=公交&page=2")
    assert unquote(response.location) == "/search?q=公交&page=2"


def test_safe_next() -> None:
    assert safe_next("/dataset/bus-lines?x=1#top") == "/dataset/bus-lines?x=1#top"
    for bad in (None, "", "//a.cn", "/\\a.cn", "http://a.cn/", "a.cn", "/x\n", "///a.cn"):
        assert safe_next(bad) is None, bad


def test_sign_in_attempts_are_rate_limited(tmp_path: Path, database_url: str) -> None:
    app = make_app(tmp_path, database_url, login_rate_limit="3/minute")
    try:
        browser = Browser(app)
        page = browser.get("/login").get_data(as_text=True)
        token = input_value(page, "csrf_token")
        data = {"email": EMAIL, "password": "wrong password!", "csrf_token": token}
        statuses = [browser.post_raw("/login", data).status_code for _ in range(5)]
        assert statuses[0] == 401 and statuses[-1] == 429, statuses
    finally:
        database(app).dispose()


# Password reset.


def test_a_password_is_reset_with_a_mailed_one_time_link(registered: Browser) -> None:
    app = registered.app
    response = registered.post("/password/forgot", {"email": "Ada@example.cn"})
    assert response.status_code == 200
    assert "如果该邮箱已注册" in text(response)
    [mail] = mails(app)
    assert mail["To"] == EMAIL and "Reset your password" in mail["Subject"]
    body = mail.get_content()
    assert "1 小时" in body and "1 hour" in body
    found = re.search(r"https://localhost(/password/reset/[\w-]+)", body)
    assert found, body
    link = found.group(1)
    assert audit(app, "password.reset_requested")

    form = registered.get(link)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "same-origin"
    mismatch = registered.post(link, {"password": NEW_PASSWORD, "password_confirm": "x" * 12})
    assert mismatch.status_code == 422
    assert "两次输入的密码不一致" in field_errors(mismatch, "password_confirm")
    short = registered.post(link, {"password": "short", "password_confirm": "short"})
    assert "密码至少 10 个字符" in field_errors(short, "password")

    done = registered.post(link, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.location == "/login"
    assert audit(app, "password.reset")
    assert registered.login().status_code == 401  # the old password
    assert registered.login(password=NEW_PASSWORD).status_code == 302
    assert registered.signed_in_as() == EMAIL

    # The link works once.
    again = registered.get(link)
    assert again.status_code == 404
    assert "重置链接无效或已过期" in text(again)
    page = registered.client.get("/password/forgot", base_url=BASE).get_data(as_text=True)
    reuse = registered.post_raw(
        link,
        {
            "password": "third password here",
            "password_confirm": "third password here",
            "csrf_token": input_value(page, "csrf_token"),
        },
    )
    assert reuse.status_code == 422 and "重置链接无效或已过期" in text(reuse)
    assert len(audit(app, "password.reset")) == 1


def test_a_password_reset_ends_the_sessions_opened_before_it(registered: Browser) -> None:
    app = registered.app
    elsewhere = Browser(app)  # say, the browser of whoever stole the old password
    assert elsewhere.login().status_code == 302
    assert elsewhere.signed_in_as() == EMAIL
    registered.post("/password/forgot", {"email": EMAIL})
    link = re.search(r"https://localhost(/password/reset/[\w-]+)", mails(app)[0].get_content())
    assert link
    done = registered.post(
        link.group(1), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert elsewhere.signed_in_as() is None  # signed out by the reset
    assert registered.login(password=NEW_PASSWORD).status_code == 302
    assert registered.signed_in_as() == EMAIL  # a session opened afterwards holds


def test_forgot_answers_the_same_for_an_unknown_address(registered: Browser) -> None:
    unknown = registered.post("/password/forgot", {"email": "nobody@example.cn"})
    assert unknown.status_code == 200
    assert mails(registered.app) == []
    known = registered.post("/password/forgot", {"email": EMAIL})
    assert len(mails(registered.app)) == 1
    assert unknown.get_data() == known.get_data()


def test_forgot_answers_the_same_when_the_mail_cannot_go(
    registered: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_: Any) -> None:
        raise OSError("mail server down")

    monkeypatch.setattr("portal.web.accounts.send_mail", down)
    response = registered.post("/password/forgot", {"email": EMAIL})
    assert response.status_code == 200 and "如果该邮箱已注册" in text(response)


def test_an_unknown_reset_link_shows_no_form(browser: Browser) -> None:
    response = browser.get("/password/reset/not-a-token")
    assert response.status_code == 404
    assert "重置链接无效或已过期" in text(response)
    assert not any(a.get("type") == "password" for a in inputs(text(response)))


def test_audit_has_logins_failures_and_resets(registered: Browser) -> None:
    app = registered.app
    registered.login(password="wrong password!")
    registered.login()
    registered.post("/password/forgot", {"email": EMAIL})
    link = re.search(r"https://localhost(/password/reset/\S+)", mails(app)[0].get_content())
    assert link
    registered.post(link.group(1), {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    user_id = users(app)[0].id
    for action in ("login", "login.failed", "password.reset"):
        entries = audit(app, action)
        assert [e.subject for e in entries] == [f"user:{user_id}"], action
    with database(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) >= 4


def test_reset_mail_files_are_private(registered: Browser) -> None:
    registered.post("/password/forgot", {"email": EMAIL})
    [path] = (Path(registered.app.instance_path) / "mail").glob("*.eml")
    assert path.stat().st_mode & 0o077 == 0  # the file holds a live reset link


def test_mail_goes_over_smtp_with_starttls(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, ...]] = []

    class FakeSMTP:
        def __init__(self, host: str, port: int, timeout: float) -> None:
            calls.append(("connect", host, port))

        def __enter__(self) -> FakeSMTP:
            return self

        def __exit__(self, *_: object) -> None:
            calls.append(("quit",))

        def starttls(self, context: Any) -> None:
            calls.append(("starttls",))

        def login(self, user: str, password: str) -> None:
            calls.append(("login", user, password))

        def send_message(self, msg: EmailMessage) -> None:
            calls.append(("send", msg["From"], msg["To"], msg["Subject"], msg.get_content()))

    monkeypatch.setattr("portal.mail.smtplib.SMTP", FakeSMTP)
    app = make_app(
        tmp_path,
        database_url,
        smtp_url="smtp://robot%40qd.cn:p%3Aw@mail.example:2525",
        mail_from="门户 <noreply@data.qingdao.gov.cn>",
    )
    try:
        with app.app_context():
            send_mail("ada@example.cn", "重置密码 Reset", "正文 body\n")
    finally:
        database(app).dispose()
    assert calls == [
        ("connect", "mail.example", 2525),
        ("starttls",),
        ("login", "robot@qd.cn", "p:w"),
        (
            "send",
            "门户 <noreply@data.qingdao.gov.cn>",
            "ada@example.cn",
            "重置密码 Reset",
            "正文 body\n",
        ),
        ("quit",),
    ]
    assert not (Path(app.instance_path) / "mail").exists()


def test_reset_links_use_the_public_address_not_the_request_s_host(
    tmp_path: Path, database_url: str
) -> None:
    app = make_app(tmp_path, database_url, public_url="https://data.qingdao.gov.cn/")
    browser = Browser(app)
    assert browser.register().status_code == 302
    page = browser.client.get("/password/forgot", base_url=BASE).get_data(as_text=True)
    forged = browser.client.post(
        "/password/forgot",
        base_url="https://evil.example",
        data={"email": EMAIL, "csrf_token": input_value(page, "csrf_token")},
        headers={"Referer": "https://evil.example/password/forgot"},
    )
    assert forged.status_code in (200, 400)  # refused (CSRF referrer check) or answered
    browser.post("/password/forgot", {"email": EMAIL})
    bodies = [mail.get_content() for mail in mails(app)]
    assert bodies and all("https://data.qingdao.gov.cn/password/reset/" in b for b in bodies)
    assert not any("evil.example" in b for b in bodies)
    database(app).dispose()
