"""Issue 15, the rules of who sees and does what: closed endpoints are not published
(finding 5), imports do not make departments (6), stored files live and die with their
resource (7), token scopes narrow reads and self-service writes (8), grade downgrades and
openness widenings wait for the authority (13), hidden datasets answer as absent ones (17).

Each test attacks through the routes users reach (the Flask test client), as the review
did against a portal on loopback."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from portal.catalog import Catalog
from portal.models import Grant
from portal.services import database, policy

from ..access import conftest as access_world
from ..access.conftest import World
from ..access.test_rights import application
from ..factories import dataset
from ..web.test_workspace import BASE, signed_in

world = access_world.world  # the fixture: a department's catalog and a user of each role

# -- finding 5: the upstream URLs of data that is not open --------------------------------
CONDITIONAL_URL = "http://10.20.30.40:8080/internal/card-feed.csv"
CORE_URL = "http://10.20.30.41/scada/water-network"
CLOSED_DATASETS = {
    "metro-card-feed": (
        "conditional",
        "general2",
        {"open_condition": "须签署协议"},
        CONDITIONAL_URL,
        "file",
    ),
    "water-network-feed": ("closed", "core", {}, CORE_URL, "api"),
}


@pytest.fixture
def closed_endpoints(world: World) -> World:
    """Two public catalog entries of qd-transport whose data is not open: a conditional
    file on an internal address, and the 核心 water-network feed."""
    with database(world.app).transaction() as session:
        catalog = Catalog(session, "test", policy(world.app))
        for name, (open_type, grade, extra, url, kind) in CLOSED_DATASETS.items():
            resource = {"name": f"{name} 数据", "kind": kind, "format": "csv", "url": url}
            catalog.datasets.create(
                dataset(
                    name=name,
                    title=f"测试 {name}",
                    open_type=open_type,
                    grade=grade,
                    metadata_public=True,
                    resources=[resource],
                    **extra,
                )
            )
        session.flush()
        for name in CLOSED_DATASETS:
            world.resources[name] = [r.id for r in catalog.datasets.get(name).resources]
    return world


def _routes(world: World) -> list[str]:
    card = world.resources["metro-card-feed"][0]
    water = world.resources["water-network-feed"][0]
    return [
        "/api/3/action/package_show?id=metro-card-feed",
        "/api/3/action/package_show?id=water-network-feed",
        f"/api/3/action/resource_show?id={card}",
        f"/api/3/action/resource_show?id={water}",
        "/api/3/action/package_search?q=测试&rows=100",
        "/api/3/action/current_package_list_with_resources?limit=100",
        "/api/v1/datasets/metro-card-feed",
        "/api/v1/datasets/water-network-feed",
        "/api/v1/datasets?limit=500",
        "/dataset/metro-card-feed.ttl",
        "/dataset/water-network-feed.jsonld",
        "/dataset/water-network-feed.rdf",
        "/catalog.ttl?page_size=500",
        "/catalog.jsonld?page_size=500",
        "/data.json",
    ]


def test_anonymous_callers_never_see_the_upstream_url_of_data_that_is_not_open(
    closed_endpoints: World,
) -> None:
    world = closed_endpoints
    for path in _routes(world):
        response = world.call("GET", path)
        assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
        body = response.get_data(as_text=True)
        assert "10.20.30.4" not in body, path
        assert "metro-card-feed" in body or "water-network-feed" in body, path
    page = world.client.get("/dataset/water-network-feed", base_url=BASE).get_data(as_text=True)
    assert "10.20.30.4" not in page
    # An enterprise's token, or another department's officer, sees what the public sees.
    for who in ("enterprise", "other_officer"):
        for path in _routes(world):
            assert "10.20.30.4" not in world.call("GET", path, who).get_data(as_text=True)
        other = signed_in(world, who).get("/dataset/metro-card-feed", base_url=BASE)
        assert "10.20.30.4" not in other.get_data(as_text=True)


def test_the_name_and_format_stay_public_and_a_portal_link_stands_in_for_the_url(
    closed_endpoints: World,
) -> None:
    world = closed_endpoints
    shown = world.call("GET", "/api/3/action/package_show?id=metro-card-feed").get_json()
    (resource,) = shown["result"]["resources"]
    assert resource["name"] == "metro-card-feed 数据" and resource["format"] == "CSV"
    assert resource["url"] == "http://localhost/dataset/metro-card-feed"
    document = world.call("GET", "/api/v1/datasets/water-network-feed").get_json()
    assert document["resources"][0]["url"] == "http://localhost/dataset/water-network-feed"
    # Open data keeps its upstream URL for everyone.
    open_one = world.call("GET", "/api/v1/datasets/bus-lines").get_json()
    assert open_one["resources"][0]["url"] == "https://a.cn/l.csv"


def test_the_publishing_officer_and_the_authority_see_the_upstream_url(
    closed_endpoints: World,
) -> None:
    world = closed_endpoints
    for who in ("officer", "authority"):
        for path in _routes(world):
            body = world.call("GET", path, who).get_data(as_text=True)
            if "metro-card-feed" in path or "package_search" in path or "catalog" in path:
                assert CONDITIONAL_URL in body, (who, path)
            if "water" in path:
                assert CORE_URL in body, (who, path)
        page = signed_in(world, who).get("/dataset/metro-card-feed", base_url=BASE)
        assert CONDITIONAL_URL in page.get_data(as_text=True), who
    data_json = world.call("GET", "/data.json", "officer").get_data(as_text=True)
    assert CONDITIONAL_URL in data_json and CORE_URL in data_json


# -- finding 8: scopes narrow reads and self-service writes -------------------------------
def _refused(response: Any, scope: str) -> None:
    assert response.status_code == 403, response.get_data(as_text=True)[:300]
    assert response.content_type == "application/problem+json"
    assert scope in response.get_json()["detail"]


def test_a_grant_token_and_a_catalog_read_token_read_nothing_of_applications_or_tokens(
    world: World,
) -> None:
    made = application(world, "approved")["application"]
    with database(world.app).sessions() as session:
        grant_id = session.scalar(select(Grant.id).where(Grant.application_id == made))
    for scopes in ([f"grant:{grant_id}"], ["catalog:read"]):
        token = world.token("enterprise", scopes, name="narrow")
        for path, scope in (
            ("/api/v1/applications", "applications:read"),
            (f"/api/v1/applications/{made}", "applications:read"),
            ("/api/v1/grants", "applications:read"),
            (f"/api/v1/grants/{grant_id}", "applications:read"),
            (f"/api/v1/grants/{grant_id}/reports", "applications:read"),
            ("/api/v1/tokens", "tokens"),
        ):
            _refused(world.call("GET", path, token=token), scope)
    # The grant's own token still fetches the data it was made for.
    token = world.token("enterprise", [f"grant:{grant_id}"], name="data")
    resource = world.resources["card-swipes"][0]
    served = world.call("GET", f"/api/v1/grants/{grant_id}/resources/{resource}/data", token=token)
    assert served.status_code == 200
    # A token with the read scope reads, and only reads.
    reader = world.token("enterprise", ["applications:read"], name="reader")
    assert world.call("GET", "/api/v1/applications", token=reader).status_code == 200
    assert world.call("GET", f"/api/v1/grants/{grant_id}", token=reader).status_code == 200
    withdraw = world.call("POST", f"/api/v1/applications/{made}/withdraw", token=reader)
    _refused(withdraw, "applications")


def test_a_catalog_read_token_cannot_revoke_another_token(world: World) -> None:
    victim = world.token("enterprise", ["catalog:read"], name="victim")
    attacker = world.token("enterprise", ["catalog:read"], name="attacker")
    listed = world.call("GET", "/api/v1/tokens", "enterprise").get_json()["tokens"]
    victim_id = next(t["id"] for t in listed if t["name"] == "victim")
    _refused(world.call("DELETE", f"/api/v1/tokens/{victim_id}", token=attacker), "tokens")
    assert world.call("GET", "/api/v1/datasets/bus-lines", token=victim).status_code == 200
    manager = world.token("enterprise", ["tokens"], name="manager")
    assert world.call("DELETE", f"/api/v1/tokens/{victim_id}", token=manager).status_code == 200
    assert world.call("GET", "/api/v1/datasets/bus-lines", token=victim).status_code == 401


@pytest.mark.parametrize("who", ["authority", "admin"])
def test_an_audit_token_of_the_authority_or_an_admin_cannot_touch_departments(
    world: World, who: str
) -> None:
    token = world.token(who, ["audit:read"], name="auditor")
    new = {"name": "qd-police-2", "title": "青岛市公安局"}
    for action, body in (
        ("organization_create", new),
        ("organization_update", {"id": "qd-transport", "title": "改名"}),
        ("organization_patch", {"id": "qd-transport", "title": "改名"}),
    ):
        response = world.call("POST", f"/api/3/action/{action}", token=token, json=body)
        assert response.status_code == 403, (action, response.get_json())
        assert "organizations:manage" in response.get_json()["error"]["message"]
    assert world.call("GET", "/api/3/action/organization_show?id=qd-police-2").status_code == 404
    manager = world.token(who, ["organizations:manage"], name="registry")
    made = world.call("POST", "/api/3/action/organization_create", token=manager, json=new)
    assert made.status_code == 200, made.get_json()
