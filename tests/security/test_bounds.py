"""Bounds on what one request or one harvested file may cost: patterns that stay linear on
hostile text (issue 15, finding 3), spreadsheets that cannot declare a huge grid (4),
request bodies and list parameters held to a size (14), and hostile numbers, nesting and
uploads answered with a 4xx, never a 500, with no file left behind (16)."""

from __future__ import annotations

import importlib
import io
import pkgutil
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from marshmallow import ValidationError

from harvesters.cnportal import load_rules
from harvesters.outbound import Reach
from schemas.base import email_field, url_field

from ..access.conftest import World, world  # noqa: F401
from ..web.test_workspace import BASE, csrf, signed_in

PACKAGES = ("schemas", "harvesters", "portal")
BUDGET = 0.5  # seconds a pattern may take on one hostile text
HOSTILE_LENGTH = 50_000


# -- finding 3: every pattern linear on hostile text ----------------------------------------


def _module_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in info.name or info.name.endswith(("__main__", "wsgi")):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, re.Pattern):
                    yield f"{info.name}.{name}", value


def _every_pattern() -> dict[str, re.Pattern[str]]:
    found = dict(_module_patterns())
    rules = load_rules()  # the Chinese-portal harvester's patterns live in its YAML
    for name in ("single_value", "list_item", "keyword_separators", "condition_in_description"):
        found[f"cnportal.yaml.{name}"] = getattr(rules, name)
    return found


PATTERNS = _every_pattern()


def _hostile_texts() -> Iterator[str]:
    runs = ["a", "1", " ", "\t", "@", ".", "-", "a.", "1 ", "a@", "(", "\\", '"', "年", "a-1"]
    heads = ["", "1", "a@", "2020", "a(", "x:", "申请条件："]
    tails = ["", "!", " x", "@", ")", "\n"]
    for run in runs:
        body = run * (HOSTILE_LENGTH // len(run))
        for head in heads:
            for tail in tails:
                yield head + body + tail


def test_the_pattern_list_is_not_empty() -> None:
    assert len(PATTERNS) > 30
    assert "portal.access.accounts.EMAIL" not in PATTERNS  # the quadratic one is gone


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_pattern_is_fast_on_long_hostile_text(name: str) -> None:
    pattern = PATTERNS[name]
    for text in _hostile_texts():
        if isinstance(pattern.pattern, bytes):  # a pattern of bytes (XML prologs) reads bytes
            text = text.encode("utf-8", "surrogatepass")
        for run in (pattern.match, pattern.search):
            started = time.perf_counter()
            run(text)
            spent = time.perf_counter() - started
            assert spent < BUDGET, f"{name}.{run.__name__} took {spent:.2f}s on {text[:12]!r}…"


@pytest.mark.parametrize("make_field", [email_field, url_field])
def test_profile_text_fields_refuse_long_text_before_their_patterns(make_field) -> None:  # type: ignore[no-untyped-def]
    field = make_field()
    for text in ("a@" + "a." * 40_000 + " ", "http://" + "a." * 40_000 + "/ x"):
        started = time.perf_counter()
        with pytest.raises(ValidationError) as refused:
            field.deserialize(text)
        assert time.perf_counter() - started < BUDGET
        assert "characters" in str(refused.value)


def test_signing_up_with_a_huge_email_is_refused_at_once(world: World) -> None:  # noqa: F811
    for email in ("a@" + "a." * 32_000 + " ", "a" * 65_536, "@" * 65_536):
        started = time.perf_counter()
        response = world.client.post(
            "/api/v1/accounts",
            json={
                "email": email,
                "password": "long enough password",
                "enterprise_name": "某公司",
                "enterprise_uscc": "91370200163562681G",
            },
        )
        assert time.perf_counter() - started < 2.0
        assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
        assert "email" in response.get_json()["errors"]


# -- finding 4: a workbook cannot declare a huge grid -----------------------------------------


def _bomb(path: Path, far_cells: tuple[str, ...]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "数据目录"
    sheet.append(["数据目录名称", "所属领域", "开放属性", "数据摘要", "更新频率"])
    sheet.append(["出租车上客点", "交通运输", "无条件开放", "全市出租车上客点位置。", "每月"])
    for cell in far_cells:
        sheet[cell] = "x"
    workbook.save(path)
    return path


BOMBS = [("XFD1",), ("XFD1", "XFD100000"), ("A1048576",)]


@pytest.mark.parametrize("far_cells", BOMBS)
def test_a_dimension_bomb_is_refused_quickly_in_bounded_memory(
    tmp_path: Path, far_cells: tuple[str, ...]
) -> None:
    import tracemalloc

    from harvesters import load_harvester
    from harvesters.base import HarvestSourceError

    path = _bomb(tmp_path / "bomb.xlsx", far_cells)
    assert path.stat().st_size < 20_000
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(HarvestSourceError) as refused:
            list(load_harvester("spreadsheet", str(path), reach=Reach(local_files=True)).records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 10
    assert peak < 64 * 1024**2
    text = str(refused.value)
    assert "bomb.xlsx" in text and ("columns" in text or "rows" in text)
    assert "列" in text or "行" in text


def test_a_zip_bomb_workbook_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    from harvesters import load_harvester
    from harvesters.base import HarvestSourceError

    path = _bomb(tmp_path / "zipped.xlsx", ())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (80 * 1024**2))
    started = time.perf_counter()
    with pytest.raises(HarvestSourceError, match=r"uncompressed|expands"):
        list(load_harvester("spreadsheet", str(path), reach=Reach(local_files=True)).records())
    assert time.perf_counter() - started < 5


def _upload(world: World, name: str, content: bytes):  # type: ignore[no-untyped-def]  # noqa: F811
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/catalog/upload", base_url=BASE).get_data(as_text=True)
    return officer.post(
        "/workspace/catalog/upload",
        base_url=BASE,
        data={"csrf_token": csrf(page), "catalog": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        headers={"Referer": f"{BASE}/workspace/catalog/upload"},
    )


def _leftovers(world: World) -> list[Path]:  # noqa: F811
    from portal.services import settings

    folder = settings(world.app).instance_dir / "uploads"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_dimension_bomb_uploaded_for_a_dry_run_is_a_clean_4xx(
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    bomb = _bomb(tmp_path / "bomb.xlsx", ("XFD1", "A1048576")).read_bytes()
    started = time.perf_counter()
    response = _upload(world, "目录.xlsx", bomb)
    assert time.perf_counter() - started < 10
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert "columns" in response.get_data(as_text=True)
    assert _leftovers(world) == []  # a failed upload leaves nothing


# -- finding 16: non-catalog uploads, leftovers -------------------------------------------------


@pytest.mark.parametrize(
    "name, content",
    [
        ("目录.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40),
        ("目录.xlsx", b"PK\x03\x04 not really a zip"),
        ("目录.csv", bytes(range(256)) * 40),
        ("目录.csv", b""),
    ],
)
def test_a_file_that_is_no_catalog_is_a_4xx_and_is_not_kept(
    world: World,  # noqa: F811
    name: str,
    content: bytes,
) -> None:
    response = _upload(world, name, content)
    assert 400 <= response.status_code < 500 or response.status_code == 200
    assert response.status_code != 500
    if response.status_code != 200:
        assert _leftovers(world) == []


def test_a_dry_run_upload_is_removed_on_commit_and_stale_ones_are_swept(
    world: World,  # noqa: F811
) -> None:
    import os
    import re as regex

    csv = (
        "数据目录名称,所属领域,开放属性,数据摘要,更新频率\n"
        "出租车上客点,交通运输,无条件开放,摘要。,每月\n"
    )
    response = _upload(world, "目录.csv", csv.encode())
    assert response.status_code == 200
    [kept] = _leftovers(world)  # kept for the commit
    old = time.time() - 3 * 24 * 3600
    os.utime(kept, (old, old))
    again = _upload(world, "目录.csv", csv.encode())  # the next upload sweeps stale ones
    assert again.status_code == 200
    assert kept not in _leftovers(world) and len(_leftovers(world)) == 1
    report = again.get_data(as_text=True)
    commit = regex.search(r'action="(/workspace/catalog/upload/[^"]+/commit)"', report)
    assert commit
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/catalog/upload", base_url=BASE).get_data(as_text=True)
    done = officer.post(
        commit.group(1),
        base_url=BASE,
        data={"csrf_token": csrf(page)},
        headers={"Referer": f"{BASE}/workspace/catalog/upload"},
    )
    assert done.status_code == 200
    assert _leftovers(world) == []


# -- finding 14: request bodies and list parameters held to a size ---------------------------


@pytest.fixture
def small_cap(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    from portal import create_app, lifecycle
    from portal.services import database

    app = create_app(
        {
            "instance_path": str(tmp_path / "instance"),
            "database_url": database_url,
            "max_request_bytes": 64 * 1024,
            "api_rate_limit": "",
            "api_ip_rate_limit": "",
        }
    )
    app.config["TESTING"] = True
    lifecycle.initialize(app)
    yield app
    database(app).dispose()


class _Endless(io.RawIOBase):
    """A body that would go on for 30 MB; counts what the server read of it."""

    def __init__(self, size: int) -> None:
        self.left, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.left)
        buffer[:n] = b"x" * n
        self.left -= n
        self.read_bytes += n
        return n


THIRTY_MB = 30 * 1024**2


def _post_raw(app: Flask, path: str, body: _Endless, headers: dict[str, str]) -> tuple[int, str]:
    """A POST through the WSGI interface itself, the body a stream that is never seeked."""
    from werkzeug.test import create_environ, run_wsgi_app

    environ = create_environ(path, method="POST", base_url=BASE)
    environ["wsgi.input"] = body
    environ.pop("CONTENT_LENGTH", None)
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{key}"] = value
    if headers.get("Transfer-Encoding") == "chunked":
        environ["wsgi.input_terminated"] = True  # as a server that decodes chunks says
    _chunks, status, response_headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    return int(status.split()[0]), response_headers.get("Content-Type", "")


@pytest.mark.parametrize("path", ["/api/v1/accounts", "/api/3/action/package_create", "/login"])
def test_a_body_over_the_cap_is_refused_before_it_is_read(small_cap: Flask, path: str) -> None:
    body = _Endless(THIRTY_MB)
    status, media_type = _post_raw(
        small_cap,
        path,
        body,
        {"Content-Length": str(THIRTY_MB), "Content-Type": "application/json"},
    )
    assert status == 413
    assert body.read_bytes <= 64 * 1024  # refused on its length, not read
    if path == "/api/v1/accounts":
        assert media_type == "application/problem+json"


@pytest.mark.parametrize("path", ["/api/v1/accounts", "/api/3/action/package_create"])
def test_a_chunked_body_is_stopped_at_the_cap(small_cap: Flask, path: str) -> None:
    body = _Endless(THIRTY_MB)
    status, _ = _post_raw(
        small_cap,
        path,
        body,
        {"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
    )
    assert status == 413
    assert body.read_bytes < 1024**2


def test_uploads_have_their_own_larger_limit(small_cap: Flask) -> None:
    from portal.services import settings

    assert settings(small_cap).max_upload_bytes > 64 * 1024
    url_map = {rule.endpoint for rule in small_cap.url_map.iter_rules()}
    assert {"api.upload_file", "web.upload_catalog"} <= url_map


CKAN_SEARCH = "/api/3/action/package_search"


@pytest.mark.parametrize(
    "query",
    [
        {"facet.field": ",".join(f"tags{i}" for i in range(5000))},
        {"facet.field": '["' + "x" * 5000 + '"]'},
        {"fq": "tags:" + " OR tags:".join(["x"] * 5000)},
        {"q": "a " * 20_000},
        {"sort": ", ".join(["name asc"] * 2000)},
        {"fq_list": ",".join(["tags:x"] * 500)},
    ],
)
def test_ckan_list_and_text_parameters_are_bounded(world: World, query: dict) -> None:  # noqa: F811
    started = time.perf_counter()
    response = world.client.get(CKAN_SEARCH, query_string=query)
    assert time.perf_counter() - started < 2
    assert response.status_code == 409 or response.status_code == 400, response.get_json()
    assert response.get_json()["success"] is False


# -- finding 16: hostile numbers and nesting --------------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "path", ["/api/3/action/package_create", "/api/3/action/package_search", "/api/action/x"]
)
def test_deeply_nested_json_is_a_400_on_the_ckan_api(world: World, path: str) -> None:  # noqa: F811
    for body in (DEEP, '{"name": ' + DEEP + "}", '{"a":' * 50_000 + "1" + "}" * 50_000):
        response = world.call(
            "POST", path, who="officer", data=body, content_type="application/json"
        )
        assert response.status_code == 400, response.get_data(as_text=True)[:200]


def test_deeply_nested_json_is_a_400_on_the_rest_api(world: World) -> None:  # noqa: F811
    for path in ("/api/v1/accounts", "/api/v1/tokens", "/api/v1/datasets"):
        response = world.call(
            "POST", path, who="officer", data=DEEP, content_type="application/json"
        )
        assert response.status_code in (400, 422), (path, response.get_data(as_text=True)[:200])


HUGE = [str(2**63), str(2**64 + 1), "9" * 30, "-1", str(-(2**63) - 1), "1e3", "abc", "0x10"]


@pytest.mark.parametrize("value", HUGE)
def test_hostile_paging_numbers_are_a_400_with_the_field_named(world: World, value: str) -> None:  # noqa: F811
    for path, name in (
        (CKAN_SEARCH, "start"),
        (CKAN_SEARCH, "rows"),
        ("/api/3/action/package_list", "offset"),
        ("/api/3/action/package_list", "limit"),
        ("/api/3/action/organization_list", "offset"),
        ("/api/3/action/group_list", "offset"),
    ):
        response = world.client.get(path, query_string={name: value})
        assert response.status_code in (400, 409), (path, name, response.status_code)
        assert name in response.get_json()["error"], response.get_json()
    for path, name in (("/api/v1/search", "page"), ("/api/v1/search", "size")):
        response = world.client.get(path, query_string={name: value})
        assert response.status_code == 400, (path, name, response.status_code)
        assert name in response.get_data(as_text=True)
    for path in ("/search", "/workspace/catalog"):
        response = world.client.get(path, query_string={"page": value}, base_url=BASE)
        assert response.status_code in (200, 302, 400, 404), (path, response.status_code)
