"""REST v1 against its own OpenAPI document: schemathesis generates requests (valid and
invalid ones) from the document a live server serves and checks every answer — no server
error, the status documented, the body matching its schema. Also: the document covers
every route, cursor paging walks the catalog exactly once, and ETags answer 304."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from portal import create_app, lifecycle
from portal.api.openapi import PATHS
from portal.services import access, database, indexer

from ..live import live_portal

TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def plan_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder: Path = tmp_path_factory.mktemp("openapi")
    app = create_app(
        {
            "instance_path": str(folder),
            "api_rate_limit": "",
            "api_ip_rate_limit": "",
            "secure_cookies": False,
        }
    )
    lifecycle.initialize(app)
    lifecycle.load_plan(app)
    indexer(app).drain()
    with database(app).transaction() as session:
        services = access(session, app)
        officer = services.accounts.create(
            {"email": "officer@qd.gov.cn", "password": "a long password"},
            role="officer",
            organization="qd-bigdata",
            by="test",
        )
        _row, TOKENS["officer"] = services.tokens.create(
            officer, name="fuzz", scopes=["catalog:read", "catalog:manage", "reviews"]
        )
    yield app
    database(app).dispose()


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The document as a live server serves it: requests go over HTTP to `portal serve`."""
    with live_portal(tmp_path_factory.mktemp("live")) as live:
        added = live.portal(
            "user",
            "add",
            "officer@qd.gov.cn",
            "--role",
            "officer",
            "--org",
            "qd-bigdata",
            "--password",
            "a long password",
        )
        assert added.returncode == 0, added.stderr
        TOKENS["live"] = live.token(
            "officer@qd.gov.cn", "a long password", ["catalog:read", "catalog:manage", "reviews"]
        )
        yield schemathesis.openapi.from_url(f"{live.url}/api/v1/openapi.json")


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.mark.live
@pytest.mark.fuzz
def test_every_operation_answers_as_documented(api_schema) -> None:  # type: ignore[no-untyped-def]
    # Driven by hand rather than by schemathesis' pytest plugin, which does not run on
    # pytest 9: one hypothesis run per operation, valid and invalid inputs alike.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKENS['live']}"}, checks=CHECKS
            )

        try:
            run()
        except Exception as error:
            raise AssertionError(f"{operation.label}: {error}") from error


def test_the_document_covers_every_v1_route(plan_app: Flask) -> None:
    documented = {
        (path.replace("{", "<").replace("}", ">"), method.upper())
        for path, operations in PATHS.items()
        for method in operations
    }
    served = set()
    for rule in plan_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in (
            "api.openapi_json",
            "api.docs",
        ):
            continue
        path = re.sub(r"<[^:>]+:", "<", rule.rule.removeprefix("/api/v1"))  # no converters
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert served == documented
    page = plan_app.test_client().get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/applications" in page.get_data(as_text=True)


def test_cursor_paging_walks_every_dataset_once_and_etags_revalidate(plan_app: Flask) -> None:
    client = plan_app.test_client()
    seen: list[str] = []
    url = "/api/v1/datasets?limit=7"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        body = response.get_json()
        seen += [d["name"] for d in body["datasets"]]
        url = None
        if body["next_cursor"]:
            assert 'rel="next"' in response.headers["Link"]
            url = f"/api/v1/datasets?limit=7&cursor={body['next_cursor']}"
    assert len(seen) == len(set(seen)) > 50 and seen == sorted(seen)
    assert client.get("/api/v1/datasets?cursor=not-a-cursor").status_code == 422
    first = client.get(f"/api/v1/datasets/{seen[0]}")
    tag = first.headers["ETag"]
    again = client.get(f"/api/v1/datasets/{seen[0]}", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    other = client.get(f"/api/v1/datasets/{seen[1]}", headers={"If-None-Match": tag})
    assert other.status_code == 200
