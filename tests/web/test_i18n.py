"""Chinese by default, English on request: every string of the pages is translated.

Two proofs. The catalogue: every message the templates and the code ask for has an
English translation, and the compiled `.mo` is the current `.po`. The pages: built from a
catalog whose data is all ASCII, an English page holds no CJK character at all (the
vocabulary labels come through the `label` filter, the service messages through `bi`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

import portal
from portal import services
from portal.catalog import Catalog
from portal.services import access, database
from tests import CHECKOUT

# The messages are extracted from the checkout's code; the compiled catalogue that pages
# use is the installed one.
PORTAL = CHECKOUT / "portal"
WEB = PORTAL / "web"
PO = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
INSTALLED_MO = Path(portal.__file__).parent / "web/translations/en/LC_MESSAGES/messages.mo"
BASE = "https://localhost"

# CJK ideographs, CJK punctuation (、。「」) and full-width forms (：（）).
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# The one Chinese word an English page may hold: the link back to Chinese, marked as such.
BACK_TO_CHINESE = re.compile(r'<a [^>]*lang="zh-CN"[^>]*>中文</a>')


# -- the catalogue ----------------------------------------------------------------------------
def extracted() -> set[str]:
    """The msgids the code and templates use, found as `pybabel extract` finds them."""
    with (WEB / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "_": None, "gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PORTAL), method_map, options_map, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def english_catalogue():  # type: ignore[no-untyped-def]
    with PO.open("rb") as po:
        return read_po(po, locale="en")


def test_every_message_has_an_english_translation() -> None:
    catalogue = english_catalogue()
    wanted = extracted()
    assert "搜索" in wanted and "青岛市公共数据开放平台" in wanted  # the extraction works
    missing, empty, fuzzy = [], [], []
    for msgid in sorted(wanted):
        message = catalogue.get(msgid)
        if message is None:
            missing.append(msgid)
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s.strip() for s in strings):
            empty.append(msgid)
        if message.fuzzy:
            fuzzy.append(msgid)
    assert not missing, f"not in {PO.name} (run pybabel update): {missing}"
    assert not empty, f"no English yet: {empty}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_no_translation_keeps_chinese() -> None:
    for message in english_catalogue():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id:
            assert not any(CJK.search(s) for s in strings if s), message.id


def translations(catalogue) -> dict:  # type: ignore[no-untyped-def]
    """msgid → translation of what a compiled catalogue holds (plurals as tuples)."""

    def plain(value):  # type: ignore[no-untyped-def]
        return tuple(value) if isinstance(value, list | tuple) else value

    return {
        plain(message.id): plain(message.string)
        for message in catalogue
        if message.id and message.string and not message.fuzzy
    }


def test_the_compiled_catalogue_is_the_current_one() -> None:
    """Compared message by message: the bytes depend on the Babel version that wrote them."""
    with INSTALLED_MO.open("rb") as mo:
        compiled = translations(read_mo(mo))
    current = translations(english_catalogue())
    assert len(current) > 100
    assert compiled == current, "run: pybabel compile -d portal/web/translations"


# -- an all-ASCII catalog, seen in English ------------------------------------------------------
ORG = {
    "name": "qd-transport",
    "title": "Qingdao Transport Bureau",
    "title_en": "Qingdao Transport Bureau",
    "uscc": "11370200004012340B",
    "description": "Roads, buses and taxis.",
    "contact_phone": "0532-85913507",
    "contact_email": "transport@example.cn",
}
ZONE = {
    "code": "transport",
    "title": "Transport zone",
    "title_en": "Transport zone",
    "description": "Transport data for operators.",
    "operator": "Qingdao Smart Transport Data Co.",
    "scenarios": [{"code": "check", "title": "Driver check", "description": "Yes or no."}],
}


def english_dataset(name: str, open_type: str, grade: str, **changes: object) -> dict:
    data: dict = {
        "name": name,
        "title": f"Dataset {name}",
        "title_en": f"Dataset {name}",
        "description": "Bus lines and stops of the city.",
        "publisher": "qd-transport",
        "domain": "transport",
        "industry": "G",
        "basic_category": "place",
        "zones": ["transport"],
        "open_type": open_type,
        "grade": grade,
        "update_frequency": "monthly",
        "processing_level": "raw",
        "formats": ["csv"],
        "keywords": ["bus", "lines"],
        "record_count": 1234,
        "issued": "2024-01-01",
        "modified": "2025-06-01",
        "license": "CC BY 4.0",
        "contact_email": "transport@example.cn",
        "resources": [
            {
                "name": "lines.csv",
                "kind": "file",
                "format": "csv",
                "url": "https://a.cn/l.csv",
                "size": 123456,
            },
        ],
        "fields": [{"name": "line_no", "title": "Line number", "grade": grade}],
    }
    data.update(changes)
    return data


@pytest.fixture
def english(app: Flask, catalog: Catalog) -> Iterator[FlaskClient]:
    catalog.organizations.create(ORG)
    catalog.zones.create(ZONE)
    catalog.datasets.create(english_dataset("bus-lines", "unconditional", "general1"))
    catalog.datasets.create(
        english_dataset(
            "bus-positions",
            "conditional",
            "general2",
            open_condition="Sign the data security commitment.",
            open_level="reviewed",
        )
    )
    catalog.datasets.create(
        english_dataset("drivers", "closed", "general4", metadata_public=True, zones=[])
    )
    catalog.session.commit()
    with database(app).transaction() as session:
        access(session, app).accounts.register_enterprise(
            {
                "email": "ada@example.cn",
                "password": "correct horse battery",
                "display_name": "Ada",
                "enterprise_name": "Ocean Data Ltd",
                "enterprise_uscc": ORG["uscc"],
            }
        )
    services.indexer(app).drain()
    app.config["WTF_CSRF_ENABLED"] = False  # the forms are tested in test_accounts.py
    client = app.test_client()
    client.set_cookie("lang", "en", domain="localhost")
    yield client


ENGLISH_PAGES = [
    "/",
    "/search",
    "/search?q=bus",
    "/search?q=bus&zones=transport&domain=transport&publisher=qd-transport"
    "&open_type=unconditional&open_type=conditional&grade=general1&formats=csv"
    "&update_frequency=monthly&quality_band=excellent&quality_band=good&sort=modified",
    "/search?q=nothing-matches-this",
    "/search?page=0",  # a bad parameter: the error, in English
    "/dataset/bus-lines",
    "/dataset/bus-positions",
    "/dataset/drivers",
    "/zone/transport",
    "/organization/qd-transport",
    "/login",
    "/register",
    "/password/forgot",
    "/password/reset/not-a-token",
]


def assert_english(page: str, path: str) -> None:
    assert '<html lang="en">' in page, path
    assert len(BACK_TO_CHINESE.findall(page)) == 1, path
    rest = BACK_TO_CHINESE.sub("", page)
    found = CJK.search(rest)
    assert found is None, f"{path}: {rest[max(0, found.start() - 150) : found.end() + 50]!r}"


@pytest.mark.parametrize("path", ENGLISH_PAGES)
def test_english_pages_hold_no_chinese(english: FlaskClient, path: str) -> None:
    response = english.get(path, base_url=BASE)
    assert response.status_code in (200, 400, 404), path
    assert_english(response.get_data(as_text=True), path)


def test_the_api_reference_frames_its_spec_in_english(english: FlaskClient) -> None:
    # The OpenAPI document's own title is bilingual (portal/api/openapi.py); the page
    # around it is translated.
    page = english.get("/api/v1/docs", base_url=BASE).get_data(as_text=True)
    assert '<html lang="en">' in page and "<caption>Parameters</caption>" in page
    assert "token required" in page and "需要令牌" not in page and "参数" not in page


def test_english_pages_of_a_signed_in_enterprise(english: FlaskClient) -> None:
    assert (
        english.post(
            "/login",
            data={"email": "ada@example.cn", "password": "correct horse battery"},
            base_url=BASE,
        ).status_code
        == 302
    )
    for path in ("/account", "/"):
        response = english.get(path, base_url=BASE)
        assert response.status_code == 200
        assert_english(response.get_data(as_text=True), path)
    sent = english.post("/password/forgot", data={"email": "x@example.cn"}, base_url=BASE)
    assert_english(sent.get_data(as_text=True), "/password/forgot (sent)")


def test_english_labels_come_from_the_vocabularies(english: FlaskClient) -> None:
    page = english.get("/dataset/bus-positions", base_url=BASE).get_data(as_text=True)
    for text in ("Open on approval", "General data, level 2", "Transport", "Monthly", "CSV"):
        assert text in page


# -- choosing the language ------------------------------------------------------------------
def test_chinese_is_the_default(app: Flask) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "搜索数据集" in page
    assert 'href="/lang/en?next=/"' in page and 'hreflang="en">English</a>' in page


def test_lang_in_the_url_wins_and_the_switch_keeps_the_page(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/search?q=bus&lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Search datasets" in page
    # The switch goes back to this page, without the `lang` that would override it.
    switch = re.search(r'<a href="([^"]+)" lang="zh-CN"', page)
    assert switch is not None
    assert switch.group(1) == "/lang/zh?next=/search?q%3Dbus"
    response = client.get(switch.group(1))
    assert response.status_code == 302 and response.location == "/search?q=bus"
    assert "lang=zh" in response.headers["Set-Cookie"]
    assert '<html lang="zh-CN">' in client.get("/search?q=bus").get_data(as_text=True)


def test_the_cookie_keeps_english_across_pages(app: Flask) -> None:
    client = app.test_client()
    client.get("/lang/en?next=/")
    for path in ("/", "/search", "/login"):
        assert '<html lang="en">' in client.get(path).get_data(as_text=True)
    assert client.get("/lang/en?next=https://evil.example/").location == "/"


# -- the platform authority's pages, in English -----------------------------------------------
AUTHORITY_PAGES = [
    "/workspace/openness",
    "/workspace/zones",
    "/workspace/zones/new",
    "/workspace/zones/transport/edit",
    "/workspace/grade-policy",
    "/workspace/audit",
    "/workspace/audit?action=openness.request&since=2000-01-01",
    "/workspace/audit?since=not-a-date",  # the field's error, in English
    "/workspace/audit/verify",
]
# (/workspace/vocabularies shows each term's Chinese label as data, marked lang="zh-CN":
# tests/web/test_authority.py checks that page.)


def test_english_pages_of_the_authority(app: Flask, english: FlaskClient) -> None:
    from sqlalchemy import select

    from portal.models import User

    with database(app).transaction() as session:
        accounts = access(session, app).accounts
        for role, org in (("authority", None), ("officer", ORG["name"])):
            accounts.create(
                {"email": f"{role}@example.cn", "password": "correct horse battery"},
                role=role,
                organization=org,
                by="test",
            )
    with database(app).transaction() as session:
        officer = session.scalars(select(User).where(User.email == "officer@example.cn")).one()
        document = Catalog(session, "test", services.policy(app)).datasets.document("bus-lines")
        less_open = {**document, "open_type": "conditional", "open_condition": "Sign first."}
        held = access(session, app).stewardship.update(
            officer, "bus-lines", less_open, reason="Holds personal trips."
        )
        request_id = held.id
    signed = english.post(
        "/login",
        data={"email": "authority@example.cn", "password": "correct horse battery"},
        base_url=BASE,
    )
    assert signed.status_code == 302
    for path in AUTHORITY_PAGES:
        response = english.get(path, base_url=BASE)
        assert response.status_code in (200, 422), path
        assert_english(response.get_data(as_text=True), path)
    refused = english.post(
        f"/workspace/openness/{request_id}", data={"decision": "reject"}, base_url=BASE
    )
    assert refused.status_code == 422
    assert_english(refused.get_data(as_text=True), "/workspace/openness (refused)")
    bad_zone = english.post("/workspace/zones/new", data={"code": "port"}, base_url=BASE)
    assert bad_zone.status_code == 422
    assert_english(bad_zone.get_data(as_text=True), "/workspace/zones/new (refused)")
