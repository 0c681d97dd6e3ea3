"""One mapping of a CKAN package (harvesters/formats/ckan/), two routes: a harvest of
another portal's package (lenient: warnings) and package_create over our CKAN Action API
(strict: field errors). The same package must mean the same dataset on both."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from harvesters import Failed, Pipeline, SourceSettings, Validated
from harvesters.ckan import CkanHarvester
from harvesters.formats import ckan as formats
from harvesters.outbound import Reach
from portal import create_app, lifecycle
from portal.api import ckan_mapping
from portal.services import access, database, search_backend
from schemas import DatasetSchema
from tests.harvesters.ckan_double import CkanDouble

ORGANIZATION = {"id": "org-transport", "name": "qd-transport", "title": "青岛市交通运输局"}
RESOURCES: list[dict[str, Any]] = [
    {"name": "场站", "format": "CSV", "url": "https://data.example.cn/files/stations.csv"},
    # A format our vocabulary does not know, under a name already taken.
    {"name": "场站", "format": "GeoPackage", "url": "https://data.example.cn/files/s.gpkg"},
    {"name": "场站", "format": "WMS", "url": "https://maps.example.cn/wms"},  # a service
    # CKAN's legacy resource_type says a service whatever the format.
    {
        "name": "实时查询",
        "format": "JSON",
        "resource_type": "api",
        "url": "https://data.example.cn/api/stations",
    },
    {"name": "说明页", "format": "HTML", "url": "https://data.example.cn/stations"},
    # Our own packages state the kind.
    {"name": "接口文档", "kind": "api", "format": "PDF", "url": "https://data.example.cn/doc"},
]
# (name, kind, format) of each resource, on both routes.
EXPECTED_RESOURCES = [
    ("场站", "file", "csv"),
    ("场站 (GEOPACKAGE)", "file", "other"),
    ("场站 (WMS)", "api", "api"),
    ("实时查询", "api", "json"),
    ("说明页", "link", "link"),
    ("接口文档", "api", "pdf"),
]
PACKAGE: dict[str, Any] = {
    "id": "pkg-bus-stations",
    "name": "bus-stations-map",
    "title": "公交场站分布",
    "notes": "全市公交场站的位置与服务。",
    "state": "active",
    "private": False,
    "metadata_modified": "2024-03-01T08:00:00",
    "organization": ORGANIZATION,
    "owner_org": ORGANIZATION["id"],
    "domain": "transport",
    "open_type": "unconditional",
    "grade": "general1",
    "tags": [{"name": "公交"}, {"name": "场站"}],
    "extras": [
        {"key": "update_frequency", "value": "P1M"},  # an ISO 8601 duration
        {"key": "资源代码", "value": "306001000124"},  # a key of data/ckan.yaml
    ],
    "resources": RESOURCES,
}


def harvested(package: dict[str, Any]) -> tuple[Validated | Failed, tuple[dict, ...]]:
    """The package harvested from a CKAN portal, through the pipeline, and its warnings."""
    with CkanDouble.recorded() as double:
        double.packages, double.organizations = [copy.deepcopy(package)], [ORGANIZATION]
        records = list(
            CkanHarvester(
                double.url, prefix="qd", backoff=0, reach=Reach.allowing("127.0.0.1")
            ).records()
        )
    dataset = next(r for r in records if r.kind == "dataset")
    pipeline = Pipeline(source=SourceSettings())
    return next(iter(pipeline.process([dataset]))), dataset.warnings


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[tuple[FlaskClient, dict[str, str]]]:
    """Our CKAN API over the plan catalog, and the token of a transport officer."""
    app: Flask = create_app(
        {
            "instance_path": str(tmp_path / "instance"),
            "database_url": database_url,
            "index_interval": 0,
            "api_rate_limit": "",
            "api_ip_rate_limit": "",
        }
    )
    app.config["TESTING"] = True
    lifecycle.initialize(app)
    lifecycle.load_plan(app)
    with database(app).transaction() as session:
        services = access(session, app)
        officer = services.accounts.create(
            {"email": "officer@example.cn", "password": "a long password"},
            role="officer",
            organization="qd-transport",
            by="test",
        )
        token = services.tokens.create(officer, name="ckan", scopes=["catalog:manage"])[1]
    yield app.test_client(), {"Authorization": token}
    search_backend(app).close()
    database(app).dispose()


def create(api: tuple[FlaskClient, dict[str, str]], package: dict[str, Any]) -> Any:
    client, headers = api
    response = client.post("/api/3/action/package_create", json=package, headers=headers)
    assert response.status_code < 500, response.get_json()
    return response.status_code, response.get_json()


def resources_of(dataset: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(r["name"], r["kind"], (r.get("format") or "").lower() or None) for r in dataset]


# --- the same package, the same dataset -----------------------------------------------------


def test_a_package_means_the_same_dataset_harvested_and_created_over_the_api(api) -> None:  # type: ignore[no-untyped-def]
    result, warnings = harvested(PACKAGE)
    status, body = create(api, PACKAGE)

    assert isinstance(result, Validated), result
    assert status == 200 and body["success"], body
    created = body["result"]
    assert resources_of(result.data["resources"]) == EXPECTED_RESOURCES
    assert resources_of(created["resources"]) == EXPECTED_RESOURCES
    for key in ("update_frequency", "resource_code", "domain", "open_type", "grade"):
        assert result.data[key] == created[key], key
    assert created["update_frequency"] == "monthly" and created["resource_code"] == "306001000124"
    assert result.data["keywords"] == [t["name"] for t in created["tags"]] == ["公交", "场站"]
    # The unknown format is kept as other, and the harvest says so.
    assert any("'GeoPackage'" in w["en"] and "kept as other" in w["en"] for w in warnings)
    # The alias key is read as our field, not kept beside it as the dataset's own extra.
    assert "资源代码" not in {e["key"] for e in created["extras"]}


def test_the_api_refuses_what_the_harvest_warns_about_naming_every_field(api) -> None:  # type: ignore[no-untyped-def]
    odd = {
        **PACKAGE,
        "name": "bus-stations-odd",
        "tags": "公交",  # no list
        "extras": [{"key": "update_frequency", "value": "every blue moon"}, {"value": "no key"}],
        "zones": "[port",  # broken JSON
        "contact_email": "交通局办公室",
        "resources": [{"name": "r", "url": "not a url", "size": "12 MB"}],
    }
    status, body = create(api, odd)
    result, warnings = harvested(odd)

    assert status == 409 and body["error"]["__type"] == "Validation Error", body
    error = body["error"]
    # Shape errors of the mapping and the profile's own, in one answer.
    assert {"tags", "extras", "zones", "update_frequency", "maintainer_email"} <= set(error)
    assert {"url", "size"} <= set(error["resources"][0])
    assert all("(" in m for m in error["tags"] + error["update_frequency"])  # zh (en)
    # The harvest drops each such value with a warning and keeps the dataset.
    assert isinstance(result, Validated), result
    said = " | ".join(w["en"] for w in warnings)
    for what in ("tags", "extras", "update_frequency", "contact_email", "url", "resources.size"):
        assert what in said, what
    assert all(w["zh"] for w in warnings)
    assert "update_frequency" not in result.data and "contact_email" not in result.data


def test_repeated_resource_names_are_made_unique_over_the_api_too(api) -> None:  # type: ignore[no-untyped-def]
    twice = [{"name": "名录", "format": "CSV", "url": f"https://a.cn/{n}.csv"} for n in (1, 2)]
    status, body = create(api, {**PACKAGE, "name": "bus-stations-twice", "resources": twice})

    assert status == 200, body
    assert [r["name"] for r in body["result"]["resources"]] == ["名录", "名录 (CSV)"]
    result, _ = harvested({**PACKAGE, "resources": twice})
    assert [r["name"] for r in result.data["resources"]] == ["名录", "名录 (CSV)"]


# --- field lists come from the profile's schema ---------------------------------------------


def test_our_fields_are_the_profile_s_fields_without_a_ckan_core_key() -> None:
    profile = set(DatasetSchema().fields)
    ours = set(formats.OUR_FIELDS)
    assert ours | set(formats.CORE_KEYS) | formats.SAME_NAMED_CORE == profile
    assert not ours & set(formats.CORE_KEYS)
    assert set(formats.ALIASED) == {"landing_page", "license", "contact_email"}
    assert ckan_mapping.OUR_FIELDS is formats.OUR_FIELDS  # one list, exported by both
    kinds = {name: formats.field_kind(DatasetSchema().fields[name]) for name in ours}
    assert kinds["contact_phone"] == "contact" and kinds["grade"] == "term"
    assert kinds["zones"] == "terms" and kinds["issued"] == "date"


def test_strict_and_lenient_readings_differ_only_in_what_they_do_with_problems() -> None:
    package = {**PACKAGE, "open_type": "sometimes", "resources": [{"format": {"x": 1}}, 7]}
    strict = formats.read_package(package, strict=True)
    lenient = formats.read_package(package, strict=False)

    assert strict.data["open_type"] == "sometimes"  # passed on for the profile to name
    assert "open_type" not in lenient.data or lenient.data["open_type"] is None
    assert set(strict.errors) == {"resources"} and not lenient.errors
    assert any("open_type" in w["en"] for w in lenient.warnings)
    assert strict.data["resources"] == lenient.data["resources"]
