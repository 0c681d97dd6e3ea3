"""REST v1 against its own OpenAPI document: schemathesis generates requests (valid and
invalid ones) from the document a live server serves and checks every answer — no server
error, the status documented, the body matching its schema. Also: the document, generated
from the routes, names every route and no other, is valid OpenAPI 3.1, and each view
documents itself; cursor paging walks the catalog exactly once, and ETags answer 304."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
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
from schemathesis.specs.openapi.definitions import OPENAPI_31  # the official meta-schema

from portal import create_app, lifecycle
from portal.api.documented import documentation
from portal.api.openapi import spec
from portal.services import access, database, indexer

from ..live import live_portal

TOKENS: dict[str, str] = {}
DOCUMENT_ITSELF = ("api.openapi_json", "api.docs")


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
            officer, name="fuzz", scopes=["catalog:read", "catalog:manage", "reviews", "tokens"]
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


def _served_operations(app: Flask) -> set[tuple[str, str]]:
    """(path, method) of every REST v1 route but the document's own, read from the URL
    map without the generator: `<int(min=1):grant_id>` → `{grant_id}`."""
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in DOCUMENT_ITSELF:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        served |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return served


def test_the_document_names_every_rest_route_and_no_other(plan_app: Flask) -> None:
    document = spec(plan_app)
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = _served_operations(plan_app)
    assert served - documented == set(), "routes the document leaves out"
    assert documented - served == set(), "operations no route serves"
    # And each documented path, filled in, reaches the view its operation names.
    urls = plan_app.url_map.bind("localhost")
    for path, operations in document["paths"].items():
        concrete = "/api/v1" + re.sub(r"\{[^}]+\}", "1", path)
        for method, operation in operations.items():
            endpoint, _arguments = urls.match(concrete, method.upper())
            named = operation["operationId"].removesuffix(f"_{method}")
            assert endpoint == f"api.{named}", (method, path)


def test_the_docs_page_marks_only_required_tokens(plan_app: Flask) -> None:
    page = plan_app.test_client().get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    articles = dict(re.findall(r'<article id="([^"]+)">(.*?)</article>', html, re.S))
    assert "需要令牌" in articles["post--datasets"]  # a token with catalog:manage
    assert "需要令牌" not in articles["get--search"]  # a token optional
    assert "需要令牌" not in articles["get--zones"]
    assert "string | null" in html and "&#39;null&#39;" not in html


def test_every_rest_view_documents_itself(plan_app: Flask) -> None:
    """What a route cannot say: a summary (the docstring), a tag, its answers, and what
    each path argument means."""
    wrong = []
    for endpoint, view in plan_app.view_functions.items():
        if not endpoint.startswith("api.") or endpoint in DOCUMENT_ITSELF:
            continue
        documented = documentation(view)
        if documented is None or not documented.tag or not documented.responses:
            wrong.append(f"{endpoint}: no @documented with a tag and its answers")
        if not (view.__doc__ or "").strip():
            wrong.append(f"{endpoint}: no docstring, so no summary")
    for path, operations in spec(plan_app)["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if not parameter.get("description"):
                    wrong.append(f"{method} {path}: {parameter['name']} is not described")
    assert not wrong, "\n".join(wrong)


def test_the_document_is_valid_openapi_3_1(plan_app: Flask) -> None:
    document = spec(plan_app)
    assert document["openapi"] == "3.1.0"
    validator = jsonschema.Draft202012Validator(OPENAPI_31)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, "\n".join(errors[:10])
    # The meta-schema leaves Schema Objects to JSON Schema 2020-12: check them there.
    for name, schema in document["components"]["schemas"].items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            raise AssertionError(f"{name}: {error.message}") from error
    references = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert references <= set(document["components"]["schemas"]), "a $ref to nothing"


def test_the_document_takes_path_argument_types_from_the_converters(plan_app: Flask) -> None:
    paths = spec(plan_app)["paths"]
    grant, resource = paths["/grants/{grant_id}/resources/{resource_id}/data"]["get"]["parameters"]
    assert grant["name"] == "grant_id" and grant["in"] == "path" and grant["required"]
    assert grant["schema"] == {"type": "integer", "minimum": 1, "maximum": 2147483647}
    assert resource["name"] == "resource_id" and resource["schema"] == {"type": "string"}
    organization = paths["/organizations/{name}"]["get"]["parameters"][0]
    assert organization["description"] == "Department name."  # the view's, not the shared
    queried = {p["name"]: p for p in paths["/datasets"]["get"]["parameters"]}
    assert queried["limit"]["in"] == "query"
    assert queried["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}


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
