"""Hostile requests: malformed and oversized ones to every endpoint (never a 5xx), script
payloads in every text the pages show (always escaped), SQL and query-syntax injection
(inert), and path traversal on files (refused, nothing written outside the file store)."""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask, got_request_exception
from sqlalchemy import func, select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from portal import create_app, lifecycle
from portal.access import FileStore
from portal.catalog import Catalog, Invalid
from portal.models import Dataset, User
from portal.services import access, database, indexer, policy, search_backend, settings
from schemas.uscc import check_character

from ..access.conftest import ENTERPRISE_USCC, PASSWORD, ROLES, World, world  # noqa: F401
from ..factories import ORG, dataset

# -- malformed and oversized requests -----------------------------------------------------

ODD_SEGMENTS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "..",
    "%00",
    "a%00b",
    "x" * 3000,
    "99999999999999999999999",
    "-1",
    "0",
    "青岛公交",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%ff%fe",
    "'%20OR%201=1%20--",
]
ODD_QUERIES = [
    "q=%ff%fe&page=-1&limit=99999999999999999999&cursor=%ff&size=0&sort=%00&next=%ff",
    "q=%00&domain='%20OR%201=1--&publisher=%00&zones=..&grade=x&since=2024-13-45&lang=%ff"
    "&action=%ff&subject=%00&format=x&open_type=%5B%5D&page=99999999999999999999",
    "q=" + "%E9%9D%92" * 2000 + "&limit=abc&cursor=" + "A" * 5000 + "&q=x&q=y",
]
FIVE_MB = b"x" * (5 * 1024 * 1024)
JUNK_FIELDS = {
    "email": 1,
    "password": ["x"],
    "name": {"zh": 1},
    "scopes": "all",
    "days": 10**20,
    "dataset": ["bus-lines"],
    "resources": [None, 5, {"a": 1}],
    "purpose": 7,
    "scenario": None,
    "term_days": "abc",
    "quota_calls": -(10**30),
    "commitment_accepted": "yes",
    "decision": {"approve": True},
    "reason": ["x"] * 3,
    "usage": 3.5,
    "results": False,
    "title": 7,
    "open_type": [],
    "grade": 10**40,
    "_reason": {"x": 1},
    "record_count": 10**30,
    "api_count": 2**40,
    "issued": "2024-13-45",
}
BODIES: list[dict[str, Any]] = [
    {},
    {"data": b'{"email": ', "content_type": "application/json"},
    {"data": b"[1, 2, 3]", "content_type": "application/json"},
    {"data": b"null", "content_type": "application/json"},
    {"data": json.dumps(JUNK_FIELDS), "content_type": "application/json"},
    {"data": b"\xff\xfe\xfa{}", "content_type": "application/json"},
    {"data": b"[" * 100_000 + b"]" * 100_000, "content_type": "application/json"},
    {"data": b"a=1&b=%ff&email=%00", "content_type": "application/x-www-form-urlencoded"},
    {"data": b"--x\r\nbroken", "content_type": "multipart/form-data; boundary=x"},
    {"data": b"<xml/>", "content_type": "text/plain; charset=klingon"},
    {"data": FIVE_MB, "content_type": "application/json"},
]


def fill(rule: Rule, value: str) -> str:
    """The rule's path with every parameter `value` (a choice of an `any` converter kept)."""

    def one(match: re.Match[str]) -> str:
        converter = match.group(1) or ""
        if converter.startswith("any("):
            return converter[4:].split(",")[0].strip()
        return value

    return re.sub(r"<(?:([^:<>]+):)?[^<>]+>", one, rule.rule)


def normal_path(rule: Rule, resource: str) -> str:
    """The rule's path with plausible values: the parameters that name things name ours."""
    values = {
        "name": "bus-lines",
        "code": "transport",
        "resource_id": resource,
        "filename": "portal.js",
        "token": "x" * 43,
    }

    def one(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "", match.group(2)
        if converter.startswith("any("):
            return converter[4:].split(",")[0].strip()
        if converter.startswith("int"):
            return "1"
        return values.get(name, "x")

    return re.sub(r"<(?:([^:<>]+):)?([^<>]+)>", one, rule.rule)


class Failures:
    """Every answer of 500 or more, with the exception that caused it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.found: list[str] = []
        self.last_error: BaseException | None = None
        got_request_exception.connect(self._record, app)

    def _record(self, _sender: Any, exception: BaseException, **_: Any) -> None:
        self.last_error = exception

    def check(self, response: TestResponse, method: str, path: str, note: str) -> None:
        if response.status_code >= 500:
            error = self.last_error
            self.found.append(
                f"{method} {path[:120]} [{note}] → {response.status_code}"
                + (f": {type(error).__name__}: {str(error)[:200]}" if error else "")
            )
        self.last_error = None

    def summary(self) -> list[str]:
        """One line per endpoint and error, with how often it came."""
        seen: dict[str, int] = {}
        for line in self.found:
            key = re.sub(r"\?\S*| \[[^]]*\]", "", line)
            seen[key] = seen.get(key, 0) + 1
        return [f"{n}× {key}" for key, n in seen.items()]

    def close(self) -> None:
        got_request_exception.disconnect(self._record, self.app)


def test_malformed_and_oversized_requests_never_get_a_5xx(world: World) -> None:  # noqa: F811
    app = world.app
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)  # a 500 is an answer here
    indexer(app).drain()  # a search index to answer from: a 503 is a failure too
    failures = Failures(app)
    who = itertools.cycle([None, "garbage", *ROLES])
    resource = world.resources["bus-lines"][0]
    rules = list(app.url_map.iter_rules())
    sent = 0

    def send(method: str, path: str, note: str, **kwargs: Any) -> None:
        nonlocal sent
        caller = next(who)
        headers = dict(kwargs.pop("headers", {}))
        if caller == "garbage":
            headers["Authorization"] = "Bearer ' OR 1=1 --" + "\x7f" * 10
        elif caller is not None:
            headers["Authorization"] = f"Bearer {world.tokens[caller]}"
        response = world.client.open(path, method=method, headers=headers, **kwargs)
        failures.check(response, method, path, f"{note}, {caller}")
        response.close()
        sent += 1

    try:
        for rule in rules:
            methods = sorted((rule.methods or set()) - {"OPTIONS"})
            for value in ODD_SEGMENTS:
                path = fill(rule, value)
                for method in methods:
                    send(method, path, "odd path")
            path = normal_path(rule, resource)
            send("PATCH", path, "unsupported method")
            for method in methods:
                if method in ("GET", "HEAD"):
                    for query in ODD_QUERIES:
                        send(method, f"{path}?{query}", "odd query")
                    continue
                for number, body in enumerate(BODIES):
                    send(method, path, f"body {number}", **body)
                    send(method, path + "?" + ODD_QUERIES[0], f"body {number} + query", **body)
    finally:
        failures.close()
    search_backend(app).close()
    assert sent > 1000
    assert not failures.found, "\n".join(failures.summary())


HUGE = 10**30


def test_well_formed_requests_with_extreme_values_are_refused_not_crashed(
    world: World,  # noqa: F811
) -> None:
    """Bodies that parse and pass the first checks, with numbers no column holds, ids that
    are taken and scopes no grant has: a 4xx naming the field, never a 500."""
    stored = world.call("GET", "/api/v1/datasets/bus-lines").get_json()
    mine = {k: v for k, v in stored.items() if k not in ("state", "quality", "suggestion")}
    fresh = {  # the same content for a new dataset: its resources without ids
        **mine,
        "name": "bus-lines-copy",
        "resources": [{k: v for k, v in r.items() if k != "id"} for r in mine["resources"]],
    }
    huge = {"record_count": HUGE, "api_count": 2**40, "file_count": 2**31}
    resources = [dict(fresh["resources"][0], size=HUGE, record_count=HUGE)]
    login = {"email": "officer@example.cn", "password": PASSWORD, "name": "t"}
    application = {
        "dataset": "card-swipes",
        "resources": world.resources["card-swipes"],
        "purpose": "研究",
        "scenario": "客流",
        "term_days": 30,
        "quota_calls": 5,
        "commitment_accepted": True,
    }
    tokens, datasets, applications = "/api/v1/tokens", "/api/v1/datasets", "/api/v1/applications"
    cases: list[tuple[str, str, str | None, dict[str, Any], set[str]]] = [
        ("POST", tokens, None, {**login, "scopes": ["grant:" + "9" * 30]}, {"scopes"}),
        ("POST", tokens, None, {**login, "scopes": ["catalog:read"], "days": HUGE}, {"days"}),
        ("POST", tokens, None, {**login, "scopes": ["catalog:read"], "days": 1.5}, {"days"}),
        ("POST", datasets, "officer", {**fresh, **huge}, set(huge)),
        ("POST", datasets, "officer", {**fresh, "resources": resources}, {"resources"}),
        ("PUT", f"{datasets}/bus-lines", "officer", {**mine, **huge}, set(huge)),
        ("POST", datasets, "officer", {**mine, "name": "bus-lines-2"}, {"resources"}),  # ids
        ("POST", applications, "enterprise", {**application, "quota_calls": HUGE}, {"quota_calls"}),
        ("POST", applications, "enterprise", {**application, "term_days": HUGE}, {"term_days"}),
        (
            "POST",
            applications,
            "enterprise",
            {**application, "resources": ["x" * 65]},
            {"resources"},
        ),
    ]
    for method, path, who, body, fields in cases:
        response = world.call(method, path, who, json=body)
        assert 400 <= response.status_code < 500, (path, fields, response.status_code)
        errors = response.get_json().get("errors") or {}
        assert fields <= set(errors), (path, fields, errors)
    for path in ("/api/v1/audit?limit=" + "9" * 30, "/api/v1/grants/" + "9" * 30):
        assert 400 <= world.call("GET", path, "authority").status_code < 500, path
    assert world.call("POST", datasets, "officer", json=fresh).status_code == 201  # control
    with database(world.app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 4


# -- script payloads ----------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
SVG = "'><svg onload=alert(1)>"
PAYLOAD = f"{SCRIPT}{IMG}{SVG}javascript:alert(1)"  # 82 characters: fits every text field
SHORT = f"{SCRIPT}{IMG}"
USCC = ENTERPRISE_USCC[:17] + check_character(ENTERPRISE_USCC[:17])
HOSTILE_URL = 'https://a.cn/x"onmouseover="alert(1)'  # passes the URL check: quotes allowed


class Markup(HTMLParser):
    """What a browser would run: inline script text, event-handler attributes, and
    javascript: links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith(("javascript:", "data:text/html")):
                self.problems.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and "alert(" in data:
            self.problems.append(f"script: {data[:80]!r}")


def assert_inert(response: TestResponse, where: str) -> str:
    assert response.status_code < 500, where
    page = response.get_data(as_text=True)
    for raw in (SCRIPT, "<img src=x", "<svg onload", 'href="javascript:', 'onmouseover="alert'):
        assert raw not in page, f"{where}: {raw!r} unescaped"
    parser = Markup()
    parser.feed(page)
    assert not parser.problems, f"{where}: {parser.problems}"
    return page


@pytest.fixture
def hostile(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """A catalog whose every text holds script payloads, and accounts whose names do."""
    app = create_app(
        {
            "instance_path": str(tmp_path / "instance"),
            "database_url": database_url,
            "login_rate_limit": "1000/minute",
        }
    )
    app.config["TESTING"] = True
    lifecycle.initialize(app)
    with database(app).transaction() as session:
        catalog = Catalog(session, "test", policy(app))
        catalog.organizations.create(
            {**ORG, "title": PAYLOAD, "title_en": PAYLOAD, "description": PAYLOAD}
        )
        catalog.zones.create(
            {
                "code": "transport",
                "title": PAYLOAD,
                "title_en": PAYLOAD,
                "description": PAYLOAD,
                "operator": PAYLOAD,
                "scenarios": [{"code": "qing-yi-he", "title": PAYLOAD, "description": PAYLOAD}],
            }
        )
        texts = {
            "title": PAYLOAD,
            "title_en": PAYLOAD,
            "description": f"{PAYLOAD}\n\n[x](javascript:alert(1)) {PAYLOAD}",
            "keywords": [PAYLOAD, SHORT, "公交"],
            "license": PAYLOAD,
            "share_condition": PAYLOAD,
            "landing_page": HOSTILE_URL,
            "extras": {PAYLOAD: PAYLOAD, "source": HOSTILE_URL},
            "resources": [
                {
                    "name": PAYLOAD,
                    "description": PAYLOAD,
                    "kind": "api",
                    "format": "api",
                    "url": HOSTILE_URL,
                    "media_type": SHORT,
                },
                {"name": SHORT, "kind": "file", "format": "csv", "url": HOSTILE_URL},
            ],
            "fields": [{"name": PAYLOAD, "title": PAYLOAD, "description": PAYLOAD}],
        }
        catalog.datasets.create(dataset(name="open-one", **texts))
        catalog.datasets.create(
            dataset(
                name="asked-one",
                open_type="conditional",
                grade="general2",
                open_condition=PAYLOAD,
                **texts,
            )
        )
        catalog.datasets.update("open-one", dataset(name="open-one", **texts, record_count=7))
        session.flush()
        services = access(session, app)
        for role, org in (("authority", None), ("officer", ORG["name"])):
            services.accounts.create(
                {"email": f"{role}@example.cn", "password": PASSWORD, "display_name": PAYLOAD},
                role=role,
                organization=org,
                by="test",
            )
        enterprise = services.accounts.register_enterprise(
            {
                "email": "enterprise@example.cn",
                "password": PASSWORD,
                "display_name": PAYLOAD,
                "enterprise_name": PAYLOAD,
                "enterprise_uscc": USCC,
            }
        )
        resources = [r.id for r in catalog.datasets.get("asked-one").resources]
        services.applications.submit(
            enterprise,
            {
                "dataset": "asked-one",
                "resources": resources,
                "purpose": PAYLOAD,
                "scenario": PAYLOAD,
                "term_days": 30,
                "quota_calls": 5,
                "commitment_accepted": True,
            },
        )
    indexer(app).drain()
    yield app
    search_backend(app).close()
    database(app).dispose()


PUBLIC_PAGES = [
    "/",
    "/?lang=en",
    "/search",
    "/search?q=alert",
    "/search?q=script&lang=en",
    f"/search?q={quote(PAYLOAD)}",
    f"/search?q={quote(SCRIPT)}&domain={quote(IMG)}&sort={quote(SVG)}",
    "/dataset/open-one",
    "/dataset/open-one?lang=en",
    "/dataset/asked-one",
    "/dataset/asked-one?lang=en",
    f"/dataset/{quote(SCRIPT, safe='')}",
    "/zone/transport",
    "/zone/transport?lang=en",
    "/organization/qd-transport",
    "/organization/qd-transport?lang=en",
    f"/organization/{quote(SCRIPT, safe='')}",
    f"/login?next={quote('javascript:alert(1)')}",
    f"/login?next={quote(IMG)}",
    "/register",
    "/password/forgot",
    f"/password/reset/{quote(SCRIPT, safe='')}",
    "/apply/asked-one",
]


def test_payloads_are_escaped_on_every_public_page(hostile: Flask) -> None:
    client = hostile.test_client()
    seen = 0
    for path in PUBLIC_PAGES:
        response = client.get(path, base_url="https://localhost")
        if response.status_code in (301, 302, 303):
            assert not response.location.lower().startswith("javascript:")
            continue
        page = assert_inert(response, path)
        seen += "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert seen >= 10  # the payloads are on the pages, escaped, not missing
    found = client.get("/api/v1/search?q=script").get_json()["results"]
    assert len(found) == 2
    for item in found:  # the highlighted HTML fragments the API hands out
        for fragment in item["highlight"].values():
            assert SCRIPT not in fragment and "<img" not in fragment
            assert "&lt;" in fragment or not fragment
    language = client.get(f"/lang/en?next={quote('javascript:alert(1)')}")
    assert not (language.location or "").lower().startswith("javascript:")


class Browser:
    """Signs in through the form, as a browser would (CSRF token, Referer, https)."""

    BASE = "https://localhost"

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()

    def get(self, path: str) -> TestResponse:
        return self.client.get(path, base_url=self.BASE)

    def login(self, email: str) -> None:
        page = self.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, "no CSRF token on the sign-in form"
        response = self.client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
            base_url=self.BASE,
            headers={"Referer": self.BASE + "/login"},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_payloads_are_escaped_on_account_and_workspace_pages(hostile: Flask) -> None:
    with database(hostile).sessions() as session:
        users = {u.role: u for u in session.scalars(select(User))}
        assert all(u.display_name == PAYLOAD for u in users.values())
    for role in ("enterprise", "officer", "authority"):
        browser = Browser(hostile)
        browser.login(f"{role}@example.cn")
        for path in ("/account", "/workspace", "/workspace/applications/1", "/apply/asked-one"):
            response = browser.get(path)
            if response.status_code in (302, 303):
                continue
            assert_inert(response, f"{role} {path}")


# -- SQL and query-syntax injection -------------------------------------------------------

INJECTIONS = [
    "' OR 1=1 --",
    '"; DROP TABLE datasets; --',
    "'; DELETE FROM datasets WHERE '1'='1",
    "1; SELECT * FROM users",
    "title:*",
    "*:*",
    "*",
    "?",
    "AND OR NOT ((",
    ")) OR ((",
    "\\",
    '"unbalanced',
    "'unbalanced",
    "title:公交 AND grade:core",
    "scopes:authority",
    "+scopes:org\\:qd-transport",
    "name:/.*/",
    "[* TO *]",
    "{!lucene}*:*",
    "公交~2",
    "公交^100",
    "_exists_:title",
    "%",
    "_",
    "\x00",
    "公" * 500,
]


@pytest.fixture
def searchable(app: Flask, seeded: Catalog) -> Iterator[Flask]:
    seeded.datasets.create(dataset())
    seeded.datasets.create(
        dataset(name="metro", title="地铁线路", open_type="closed", grade="general4")
    )
    seeded.session.commit()
    indexer(app).drain()
    yield app
    search_backend(app).close()


def test_injection_in_search_and_filters_is_inert(searchable: Flask) -> None:
    client = searchable.test_client()
    with database(searchable).sessions() as session:
        before = sorted(session.scalars(select(Dataset.name)))
    for text in INJECTIONS:
        for path, params in (
            ("/api/v1/search", {"q": text}),
            ("/api/v1/suggest", {"q": text[:100]}),
            ("/search", {"q": text}),
            ("/api/v1/datasets", {"publisher": text, "zone": text}),
            ("/api/v1/search", {"domain": text, "publisher": text, "zones": text}),
            ("/api/v1/search", {"grade": text, "open_type": text, "formats": text, "sort": text}),
            ("/api/v1/search", {"page": text, "size": text, "since": text}),
            ("/search", {"domain": text, "publisher": text, "sort": text}),
        ):
            response = client.get(path, query_string=params)
            where = f"{path} {params}"
            assert response.status_code in (200, 400, 422), where
            if response.status_code != 200 and path.startswith("/api/"):
                assert response.content_type == "application/problem+json", where
                assert set(response.get_json()["errors"]) <= {*params, "_"}, where
            if response.status_code == 200 and path == "/api/v1/search":
                body = response.get_json()
                names = {r["name"] for r in body["results"]}
                assert "metro" not in names, where  # closed: never public, whatever the query
                if set(params) != {"q"}:
                    assert body["total"] == 0, where  # no filter value matches everything
            if path == "/api/v1/datasets" and response.status_code == 200:
                assert response.get_json()["datasets"] == [], where
    with database(searchable).sessions() as session:
        assert sorted(session.scalars(select(Dataset.name))) == before
        assert session.scalar(select(func.count()).select_from(User)) == 0
    assert client.get("/api/v1/search?q=公交").get_json()["total"] == 1


# -- path traversal -----------------------------------------------------------------------


def files_outside_store(root: Path, store: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and store not in p.parents}


def test_path_traversal_on_files_is_refused(
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    store_root = settings(world.app).instance_dir / "files"
    outside = {p: p.stat().st_mtime_ns for p in files_outside_store(tmp_path, store_root)}
    stored = {p: p.read_bytes() for p in store_root.rglob("*") if p.is_file()}
    escapes = [
        "..%2F..%2Fetc%2Fpasswd",
        "..%2f..%2fx",
        "%2e%2e%2f%2e%2e%2fx",
        "..",
        ".",
        "%2e%2e",
        "..%5C..%5Cx",
        "x%00",
        "../../x",
    ]
    for escape in escapes:
        for method, path, who in (
            ("GET", f"/api/v1/datasets/bus-lines/resources/{escape}/data", None),
            ("GET", f"/api/v1/grants/1/resources/{escape}/data", "enterprise"),
            ("PUT", f"/api/v1/datasets/bus-lines/resources/{escape}/file", "officer"),
            ("PUT", f"/api/v1/datasets/{escape}/resources/{escape}/file", "admin"),
            ("GET", f"/static/{escape}/portal.db", None),
        ):
            response = world.call(method, path, who, data=b"owned\n")
            assert 400 <= response.status_code < 500, (method, path, response.status_code)
            assert b"owned" not in response.data and b"root:" not in response.data
    # A resource id the catalog holds that is path-like still never becomes a path.
    with database(world.app).transaction() as session:
        catalog = Catalog(session, "test", policy(world.app))
        document = catalog.datasets.document("bus-lines")
        document["resources"].append(
            {"id": "..", "name": "上级", "kind": "file", "format": "csv", "url": "https://a.cn/x"}
        )
        catalog.datasets.update("bus-lines", document)
    uploaded = world.call(
        "PUT", "/api/v1/datasets/bus-lines/resources/../file", "officer", data=b"owned\n"
    )
    # Stored files are named by a random key kept on the resource (never by its id), so
    # the upload may be taken; what matters is where it lands (checked below).
    assert uploaded.status_code in (201, 404, 422), uploaded.status_code
    fetched = world.call("GET", "/api/v1/datasets/bus-lines/resources/../data")
    if uploaded.status_code == 201:  # that resource's own file, from the store, and no other
        assert fetched.status_code == 200 and fetched.data == b"owned\n"
    else:
        assert 400 <= fetched.status_code < 500
    after = files_outside_store(tmp_path, store_root)
    new = {p for p in after - set(outside) if not p.name.startswith("portal-")}
    assert not new, new  # nothing written outside <instance>/files (but the database)
    assert all(b"owned" not in p.read_bytes() for p in after if p.stat().st_size < 10_000_000)
    kept = {p: p.read_bytes() for p in store_root.rglob("*") if p.is_file()}
    assert {p: b for p, b in kept.items() if b != b"owned\n"} == stored  # nothing overwritten


@pytest.mark.parametrize(
    "resource_id", ["../x", "..", ".", "", "a/b", "a\\b", "x\x00", "/etc/passwd", "x" * 65, "é"]
)
def test_the_file_store_refuses_anything_but_an_id(tmp_path: Path, resource_id: str) -> None:
    store = FileStore(tmp_path / "files")
    with pytest.raises(Invalid):
        store.path(resource_id)
    with pytest.raises(Invalid):
        store.save(resource_id, io.BytesIO(b"owned"))
    assert not list(tmp_path.rglob("*owned*")) and not (tmp_path / "x").exists()
