"""The CKAN Action API v3 in process, over the plan catalog: envelope and errors, the read
actions, package_search's q/fq/facets/sort, the writes with their rights, and the
package ⇄ profile mapping (our fields both top-level and in extras)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal import create_app, lifecycle
from portal.access import rights
from portal.access.rights import ROLE_SCOPES
from portal.api.ckan_dispatch import ACTIONS as TABLE
from portal.api.ckan_mapping import OUR_FIELDS
from portal.models import AuditEntry, Dataset, OpennessRequest
from portal.services import access, database, indexer, search_backend

PASSWORD = "a long password"
PEOPLE = {
    # who: (role, department, scopes)
    "transport": ("officer", "qd-transport", ["catalog:manage", "catalog:read"]),
    "civil": ("officer", "qd-civil-affairs", ["catalog:manage", "catalog:read"]),
    "reader": ("officer", "qd-transport", ["catalog:read"]),
    "authority": ("authority", None, ["catalog:read", "organizations:manage"]),
    "admin": ("admin", None, ["catalog:read", "organizations:manage"]),
}
PUBLIC_DATASETS = 69  # of the plan's 73: four closed ones keep their entry private
PRIVATE = "low-income-population-monitoring"  # qd-civil-affairs, closed, entry not public


@dataclass
class World:
    app: Flask
    client: FlaskClient
    tokens: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        name: str,
        who: str | None = None,
        /,
        *,
        get: dict[str, Any] | None = None,
        **body: Any,
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": self.tokens[who]} if who else {}
        path = f"/api/3/action/{name}"
        if get is not None:
            response = self.client.get(path, query_string=get, headers=headers)
        else:
            response = self.client.post(path, json=body, headers=headers)
        return response.status_code, response.get_json()

    def ok(self, name: str, who: str | None = None, /, **kwargs: Any) -> Any:
        status, body = self.call(name, who, **kwargs)
        assert status == 200 and body["success"], body
        return body["result"]

    def error(self, name: str, who: str | None = None, /, **kwargs: Any) -> tuple[int, dict]:
        status, body = self.call(name, who, **kwargs)
        assert body["success"] is False and body["help"].endswith(f"name={name}"), body
        return status, body["error"]

    def index(self) -> None:
        indexer(self.app).drain()


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    app = create_app(
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
    indexer(app).drain()
    w = World(app, app.test_client())
    with database(app).transaction() as session:
        services = access(session, app)
        for who, (role, organization, scopes) in PEOPLE.items():
            user = services.accounts.create(
                {"email": f"{who}@example.cn", "password": PASSWORD},
                role=role,
                organization=organization,
                by="test",
            )
            w.tokens[who] = services.tokens.create(user, name="ckan", scopes=scopes)[1]
    yield w
    search_backend(app).close()
    database(app).dispose()


def names(result: dict[str, Any]) -> list[str]:
    return [p["name"] for p in result["results"]]


# -- envelope, parameters, errors -------------------------------------------------------------
def test_both_paths_get_and_post_answer_in_ckan_s_envelope(world: World) -> None:
    for path in ("/api/3/action/package_show", "/api/action/package_show"):
        body = world.client.get(f"{path}?id=bus-lines").get_json()
        assert body["success"] is True and body["result"]["name"] == "bus-lines"
        assert body["help"].endswith("/api/3/action/help_show?name=package_show")
    by_json = world.client.post("/api/3/action/package_show", json={"id": "bus-lines"})
    by_form = world.client.post("/api/3/action/package_show", data={"id": "bus-lines"})
    assert by_json.get_json()["result"] == by_form.get_json()["result"]
    assert world.client.get("/api/3").get_json() == {"version": 3}
    assert world.ok("status_show", get={})["ckan_version"].startswith("2.")


ERRORS: list[tuple[str, str, bytes | None, int, str]] = [
    ("get", "/api/3/action/no_such_action", None, 400, "Bad Request"),
    ("get", "/api/3/action/package_create", None, 400, "Bad Request"),  # writes: POST
    ("post", "/api/3/action/package_show", b"{not json", 400, "Bad Request"),
    ("post", "/api/3/action/package_show", b"[1, 2]", 400, "Bad Request"),
    ("post", "/api/3/action/package_show", b"\xff\xfe", 400, "Bad Request"),
    ("post", "/api/3/action/package_show", b'{"id": "nope"}', 404, "Not Found Error"),
    ("post", "/api/3/action/package_show", b"{}", 409, "Validation Error"),
    ("post", "/api/3/action/package_show", b'{"id": ["a"]}', 409, "Validation Error"),
    ("get", "/api/3/action/package_search?rows=ten", None, 409, "Validation Error"),
    ("get", "/api/3/action/package_search?start=-1", None, 409, "Validation Error"),
    ("get", "/api/3/action/package_search?fq=-tags:公交", None, 400, "Search Query Error"),
    ("get", "/api/3/action/package_search?fq=nosuchfield:x", None, 400, "Search Query Error"),
    ("get", "/api/3/action/package_search?sort=colour%20asc", None, 400, "Search Query Error"),
    ("get", "/api/3/action/package_search?q=a%20OR%20b", None, 400, "Search Query Error"),
    (
        "get",
        "/api/3/action/package_search?fq=metadata_modified:[x%20TO%20*]",
        None,
        400,
        "Search Query Error",
    ),
    ("get", "/api/3/action/package_search?facet.field=[bad", None, 409, "Validation Error"),
    ("get", "/api/3/action/organization_show?id=nope", None, 404, "Not Found Error"),
    ("get", "/api/3/action/group_show?id=nope", None, 404, "Not Found Error"),
    ("get", "/api/3/action/resource_show?id=nope", None, 404, "Not Found Error"),
    ("post", "/api/3/action/package_create", b"{}", 403, "Authorization Error"),
    ("get", "/api/3/action/package_show?id=a%00b", None, 400, "Bad Request"),
    ("post", "/api/3/action/package_search", b'{"q": "\\u0000"}', 400, "Bad Request"),
]


def test_errors_have_ckan_s_types_and_statuses(world: World) -> None:
    for method, path, body, status, kind in ERRORS:
        if method == "get":
            response = world.client.get(path)
        else:
            response = world.client.post(path, data=body, content_type="application/json")
        payload = response.get_json()
        assert response.status_code == status, (path, body, payload)
        assert payload["success"] is False and payload["error"]["__type"] == kind
        assert payload["error"]["message"]


def test_a_bad_token_is_refused_and_x_ckan_api_key_and_bearer_work(world: World) -> None:
    response = world.client.get(
        "/api/3/action/package_show?id=bus-lines", headers={"Authorization": "qdp_nonsense"}
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["__type"] == "Authorization Error"
    token = world.tokens["civil"]
    for headers in ({"X-CKAN-API-Key": token}, {"Authorization": f"Bearer {token}"}):
        response = world.client.get(f"/api/3/action/package_show?id={PRIVATE}", headers=headers)
        assert response.status_code == 200, response.get_json()


MALFORMED: list[Any] = [
    {"name": 5, "title": ["x"], "notes": {"a": 1}},
    {"name": "x-y", "tags": "公交", "groups": "transport", "extras": "nope"},
    {"name": "x-y", "tags": [1, None, {"name": None}], "extras": [{"value": "no key"}, 3]},
    {"name": "x-y", "resources": [None, 5, {"url": ["x"], "size": "big", "format": {}}]},
    {"name": "x-y", "extras": [{"key": "zones", "value": "[bad json"}], "fields": "x"},
    {"name": "x-y", "zones": 7, "formats": {"a": 1}, "private": ["x"], "owner_org": 5},
    {"name": "x-y", "organization": ["a"], "resources": {"a": 1}, "issued": "yesterday"},
    {"id": {"a": 1}, "package_id": [], "q": ["a", "b"], "rows": "1e9", "sort": 5},
    {"fq": ["tags:公交", "groups:(transport OR port)"], "facet.field": "groups,tags"},
    {"q": 'title:"unclosed', "fq": "organization:(a AND b)", "facet.limit": "x"},
    {"q": "\\", "fq": "metadata_modified:[2024-01-01 TO 2023-01-01]"},
    {"id": "bus-lines", "resources": [{"id": "x" * 100, "name": "n", "url": "ftp://a.cn/x"}]},
    {"all_fields": "maybe", "limit": "-5", "offset": "x", "include_datasets": {"a": 1}},
]
ACTIONS = [
    "package_show",
    "package_search",
    "package_list",
    "package_create",
    "package_update",
    "package_patch",
    "package_delete",
    "resource_show",
    "resource_create",
    "resource_update",
    "resource_patch",
    "organization_list",
    "organization_show",
    "organization_create",
    "organization_update",
    "group_list",
    "group_show",
    "tag_list",
    "current_package_list_with_resources",
]


def test_bad_input_never_makes_a_500(world: World) -> None:
    for action in ACTIONS:
        for who in (None, "transport", "authority"):
            for body in MALFORMED:
                status, payload = world.call(action, who, **body)
                assert status < 500, (action, who, body, payload)
                assert payload["success"] is (status == 200), payload
    with database(world.app).sessions() as session:
        assert access(session, world.app).audit.verify().intact


# -- reads --------------------------------------------------------------------------------------
def test_package_list_and_show_by_id_or_name(world: World) -> None:
    listed = world.ok("package_list", get={})
    assert len(listed) == PUBLIC_DATASETS and listed == sorted(listed) and PRIVATE not in listed
    assert world.ok("package_list", get={"limit": 2, "offset": 1}) == listed[1:3]
    package = world.ok("package_show", get={"id": "bus-lines"})
    assert world.ok("package_show", get={"id": package["id"]}) == package
    assert package["organization"]["name"] == "qd-transport" == package["organization"]["name"]
    assert package["owner_org"] == package["organization"]["id"]
    assert [g["name"] for g in package["groups"]] == ["transport"]
    assert package["groups"][0]["title"] == "交通专区"
    assert {t["name"] for t in package["tags"]} == {"公交", "线路", "首末班", "票价"}
    assert package["notes"].startswith("全市常规公交线路")
    assert package["private"] is False and package["state"] == "active"
    resource = package["resources"][0]
    assert resource["format"] == "CSV" and resource["url"].endswith("/bus-lines.csv")
    assert resource["size"] == 120832 and resource["package_id"] == package["id"]


def test_our_fields_travel_top_level_and_in_extras(world: World) -> None:
    package = world.ok("package_show", get={"id": "bus-lines"})
    extras = {e["key"]: e["value"] for e in package["extras"]}
    assert package["grade"] == extras["grade"] == "general1"
    assert package["open_type"] == extras["open_type"] == "unconditional"
    assert package["zones"] == ["transport"] and json.loads(extras["zones"]) == ["transport"]
    assert package["record_count"] == 1012 and extras["record_count"] == "1012"
    assert package["operable"] is True and extras["operable"] == "true"
    assert package["issued"] == extras["issued"] == "2022-03-15"
    assert json.loads(extras["fields"]) == package["fields"] and len(package["fields"]) == 9
    assert all(isinstance(e["value"], str) for e in package["extras"])
    assert set(OUR_FIELDS) >= set(extras)


def test_private_entries_show_to_their_department_and_the_authority_only(world: World) -> None:
    status, error = world.error("package_show", get={"id": PRIVATE})
    assert status == 404 and error["__type"] == "Not Found Error"
    assert world.error("package_show", "transport", get={"id": PRIVATE})[0] == 404
    assert world.ok("package_show", "civil", get={"id": PRIVATE})["private"] is True
    assert world.ok("package_show", "authority", get={"id": PRIVATE})["private"] is True
    search = {"fq": "organization:qd-civil-affairs", "rows": 100}
    assert PRIVATE not in names(world.ok("package_search", "civil", get=search))
    private = world.ok("package_search", "civil", get={**search, "include_private": "true"})
    assert PRIVATE in names(private)
    other = world.ok("package_search", "transport", get={**search, "include_private": "true"})
    assert PRIVATE not in names(other)


def test_organizations_groups_tags_licenses_resources(world: World) -> None:
    organizations = world.ok("organization_list", get={})
    assert "qd-transport" in organizations and len(organizations) == len(set(organizations))
    pages = [
        world.ok("organization_list", get={"all_fields": "true", "limit": 7, "offset": start})
        for start in range(0, len(organizations) + 7, 7)
    ]
    assert [o["name"] for page in pages for o in page] == organizations
    assert len(world.ok("organization_list", get={"all_fields": 1, "limit": 100})) <= 25
    transport = world.ok("organization_show", get={"id": "qd-transport", "include_datasets": 1})
    assert transport["title"] == "青岛市交通运输局" and transport["is_organization"] is True
    assert transport["uscc"] == {e["key"]: e["value"] for e in transport["extras"]}["uscc"]
    assert transport["package_count"] == len(transport["packages"]) > 10
    by_count = world.ok("organization_list", get={"sort": "package_count desc"})
    assert by_count[0] == "qd-transport"
    assert sorted(world.ok("group_list", get={})) == ["elderly", "port", "rural", "transport"]
    port = world.ok("group_show", get={"id": "port", "include_datasets": "true"})
    assert port["title"] == "港航专区" and port["operator"] and port["scenarios"]
    assert port["package_count"] == len(port["packages"])
    assert all("port" in p.get("zones", []) for p in port["packages"])
    assert "公交" in world.ok("tag_list", get={})
    assert world.ok("tag_list", get={"query": "公交"}) == ["公交"]
    assert world.ok("license_list", get={}) == []  # the plan names no licenses
    package = world.ok("package_show", get={"id": "bus-stops"})
    second = package["resources"][1]
    assert world.ok("resource_show", get={"id": second["id"]}) == second
    recent = world.ok("current_package_list_with_resources", get={"limit": 3})
    assert len(recent) == 3 and all("resources" in p for p in recent)


# -- package_search ---------------------------------------------------------------------------
def search(world: World, who: str | None = None, **args: Any) -> dict[str, Any]:
    return world.ok("package_search", who, get=args)


def test_q_finds_chinese_words_through_the_index(world: World) -> None:
    found = search(world, q="公交", rows=50)
    assert found["count"] == 3 and names(found)[0].startswith("bus-")
    assert search(world, q="公交 实时")["count"] == 1
    assert search(world, q="*:*")["count"] == PUBLIC_DATASETS
    assert search(world, q="name:bus-lines")["count"] == 1
    assert search(world, q="title:公交 organization:qd-transport")["count"] == 3


def test_words_answer_the_same_with_facets_and_in_pages(world: World) -> None:
    for q in ("公交", "数据", "线路", "实时 公交"):
        quick = search(world, q=q, rows=1000)
        general = search(world, q=q, rows=1000, **{"facet.field": '["groups"]'})
        assert quick["count"] == general["count"] and quick["count"] > 0, q
        assert names(quick) == names(general), q
        assert quick["results"] == general["results"], q
        pages = [names(search(world, q=q, rows=2, start=s)) for s in range(0, 8, 2)]
        assert [n for page in pages for n in page] == names(general)[:8], q
    title = world.ok("package_show", "authority", get={"id": PRIVATE})["title"]
    shown = search(world, "civil", q=title, include_private="true", rows=1000)
    assert PRIVATE in names(shown)  # the viewer's own department's private entry
    assert PRIVATE not in names(search(world, q=title, rows=1000))
    assert PRIVATE not in names(search(world, "transport", q=title, include_private="true"))


FILTERS: list[tuple[str, Any]] = [
    ("organization:qd-transport", lambda p: p["organization"]["name"] == "qd-transport"),
    ("groups:port", lambda p: "port" in p.get("zones", [])),
    ("groups:港航专区", lambda p: "port" in p.get("zones", [])),
    ("tags:公交", lambda p: "公交" in {t["name"] for t in p["tags"]}),
    ('res_format:"CSV"', lambda p: "CSV" in {r["format"] for r in p["resources"]}),
    ("open_type:conditional", lambda p: p["open_type"] == "conditional"),
    ("open_type:有条件开放", lambda p: p["open_type"] == "conditional"),
    ("grade:general2", lambda p: p["grade"] == "general2"),
    ("domain:transport", lambda p: p["domain"] == "transport"),
    ("update_frequency:realtime", lambda p: p["update_frequency"] == "realtime"),
    (
        "+organization:qd-transport +groups:port",
        lambda p: p["organization"]["name"] == "qd-transport" and "port" in p.get("zones", []),
    ),
    (
        "groups:port AND open_type:unconditional",
        lambda p: "port" in p.get("zones", []) and p["open_type"] == "unconditional",
    ),
    ("groups:(port OR rural)", lambda p: {"port", "rural"} & set(p.get("zones", []))),
    ("groups:port OR groups:rural", lambda p: {"port", "rural"} & set(p.get("zones", []))),
    ("capacity:public", lambda p: not p["private"]),
    ("metadata_modified:[2000-01-01T00:00:00Z TO *]", lambda p: True),
    ("issued:[2024-01-01 TO *]", lambda p: p["issued"] >= "2024-01-01"),
]


def test_fq_filters(world: World) -> None:
    everything = search(world, rows=1000)
    for fq, check in FILTERS:
        found = search(world, fq=fq, rows=1000)
        assert found["count"] == len(found["results"]) > 0, fq
        assert all(check(p) for p in found["results"]), (fq, names(found))
        expected = [p["name"] for p in everything["results"] if check(p)]
        assert sorted(names(found)) == sorted(expected), fq


def test_filters_that_match_nothing_and_dataset_type(world: World) -> None:
    assert search(world, fq="organization:no-such-department")["count"] == 0
    assert search(world, fq="open_type:maybe")["count"] == 0
    assert search(world, fq="dataset_type:harvest")["count"] == 0
    assert search(world, fq="+dataset_type:dataset +state:active")["count"] == PUBLIC_DATASETS
    assert search(world, fq="metadata_modified:[* TO 2000-01-01T00:00:00Z]")["count"] == 0


def test_facets_count_the_whole_result(world: World) -> None:
    fields = ["organization", "groups", "tags", "res_format", "license_id", "open_type", "grade"]
    found = search(world, fq="groups:transport", rows=1, **{"facet.field": json.dumps(fields)})
    facets = found["facets"]
    assert facets["groups"]["transport"] == found["count"] > 10
    assert sum(facets["open_type"].values()) == found["count"]
    assert facets["organization"]["qd-transport"] > facets["organization"]["qd-public-security"]
    assert "CSV" in facets["res_format"] and facets["tags"]["公交"] == 3
    items = found["search_facets"]["organization"]["items"]
    transport = next(i for i in items if i["name"] == "qd-transport")
    assert transport["display_name"] == "青岛市交通运输局"
    open_types = {
        i["name"]: i["display_name"] for i in found["search_facets"]["open_type"]["items"]
    }
    assert open_types["conditional"] == "有条件开放"
    limited = search(world, **{"facet.field": '["tags"]', "facet.limit": 2})
    assert len(limited["facets"]["tags"]) == 2
    with_words = search(world, q="公交", **{"facet.field": '["organization"]'})
    assert with_words["facets"]["organization"] == {"qd-transport": 3}


SORTED: list[tuple[str, Any, bool]] = [
    ("name asc", lambda p: p["name"], False),
    ("name desc", lambda p: p["name"], True),
    ("title_string asc", lambda p: p["title"], False),
    ("metadata_modified desc", lambda p: p["metadata_modified"], True),
    ("metadata_created asc", lambda p: p["metadata_created"], False),
]


def test_sorts_and_pages_never_overlap(world: World) -> None:
    for sort, key, reverse in SORTED:
        everything = search(world, sort=sort, rows=1000)["results"]
        keys = [key(p) for p in everything]
        assert keys == sorted(keys, reverse=reverse), sort
        pages = [search(world, sort=sort, rows=10, start=s)["results"] for s in range(0, 70, 10)]
        assert [p["name"] for page in pages for p in page] == [p["name"] for p in everything]
        with_words = [key(p) for p in search(world, q="数据", sort=sort, rows=1000)["results"]]
        assert len(with_words) > 5 and with_words == sorted(with_words, reverse=reverse), sort


def test_score_sort_puts_title_matches_first(world: World) -> None:
    found = search(world, q="公交", sort="score desc, metadata_modified desc")
    assert found["sort"] == "score desc, metadata_modified desc"
    assert names(found)[0] in ("bus-lines", "bus-stops")
    assert search(world, rows=5000)["count"] == len(search(world, rows=5000)["results"])
    assert len(search(world, rows=5000)["results"]) == PUBLIC_DATASETS  # rows capped at 1000


# -- writes -------------------------------------------------------------------------------------
def package(world: World, name: str) -> dict[str, Any]:
    return world.ok("package_show", "transport", get={"id": name})


def test_package_create_round_trips_a_package_and_needs_the_department_s_officer(
    world: World,
) -> None:
    source = package(world, "bus-lines")
    copy = {**source, "name": "bus-lines-copy", "id": None}
    assert world.error("package_create", **copy)[0] == 403  # no token
    assert world.error("package_create", "reader", **copy)[0] == 403  # no catalog:manage
    assert world.error("package_create", "civil", **copy)[0] == 403  # another department
    assert world.error("package_create", "authority", **copy)[0] == 403  # not an officer
    created = world.ok("package_create", "transport", **copy)
    assert strip(created) == strip(source)
    assert {r["id"] for r in created["resources"]}.isdisjoint(  # ids in use stay theirs
        r["id"] for r in source["resources"]
    )
    status, error = world.error("package_create", "transport", **copy)
    assert status == 409 and error["__type"] == "Validation Error" and "name" in error
    without_org = {k: v for k, v in copy.items() if k not in ("owner_org", "organization")}
    made = world.ok("package_create", "transport", **{**without_org, "name": "bus-lines-3"})
    assert made["organization"]["name"] == "qd-transport"  # the officer's department


def test_a_search_finds_what_was_written_just_before(world: World) -> None:
    """No drain in between: package_search brings the index up to the writes first."""
    copy = {**package(world, "bus-lines"), "name": "bus-lines-fresh", "id": None}
    world.ok("package_create", "transport", **copy)
    assert names(search(world, fq="name:bus-lines-fresh")) == ["bus-lines-fresh"]
    assert "bus-lines-fresh" in names(search(world, q="公交", rows=1000))
    world.ok("package_patch", "transport", id="bus-lines-fresh", title="渡轮航线")
    assert names(search(world, q="渡轮")) == ["bus-lines-fresh"]
    world.ok("package_delete", "transport", id="bus-lines-fresh")
    assert search(world, fq="name:bus-lines-fresh")["count"] == 0


def strip(package: dict[str, Any]) -> dict[str, Any]:
    """What differs between two copies of a dataset by nature: ids and timestamps."""
    out = {k: v for k, v in package.items() if k not in ("id", "name", "metadata_created")}
    out.pop("metadata_modified", None)
    out["resources"] = [
        {k: v for k, v in r.items() if k not in ("id", "package_id")} for r in out["resources"]
    ]
    return out


def test_a_plain_ckan_client_keeping_only_extras_round_trips_our_fields(world: World) -> None:
    source = package(world, "bus-stops")
    plain = {k: v for k, v in source.items() if k not in OUR_FIELDS and k != "id"}
    assert not set(OUR_FIELDS) & set(plain)
    created = world.ok("package_create", "transport", **{**plain, "name": "bus-stops-plain"})
    assert strip(created) == strip(source)
    assert created["grade"] == source["grade"] and created["fields"] == source["fields"]


def test_validation_errors_name_ckan_s_keys(world: World) -> None:
    status, error = world.error(
        "package_create",
        "transport",
        name="Bad Name",
        title="标题",
        owner_org="qd-transport",
        grade="core",
        open_type="unconditional",
        domain="transport",
        resources=[{"name": "r", "url": "not a url"}],
    )
    assert status == 409 and error["__type"] == "Validation Error"
    assert {"name", "notes", "resources"} <= set(error)
    assert "url" in error["resources"][0]
    assert all(isinstance(m, str) for m in error["notes"])
    copy = {**package(world, "bus-lines"), "id": None, "name": "bus-lines-2", "grade": "core"}
    status, error = world.error("package_create", "transport", **copy)
    assert status == 409 and {"grade", "open_type"} <= set(error)  # the grade policy
    status, error = world.error("package_create", "transport", name="x-y", owner_org="nowhere")
    assert status == 409 and "owner_org" in error


def test_update_patch_and_top_level_wins(world: World) -> None:
    current = package(world, "bus-lines")
    extras = [
        e if e["key"] != "title_en" else {**e, "value": "Bus lines"} for e in current["extras"]
    ]
    kept = world.ok("package_update", "transport", **{**current, "extras": extras})
    assert kept["title_en"] == "Qingdao bus lines"  # the top-level key was present and wins
    bare = {k: v for k, v in current.items() if k != "title_en"}
    changed = world.ok("package_update", "transport", **{**bare, "extras": extras})
    assert changed["title_en"] == "Bus lines"
    patched = world.ok(
        "package_patch",
        "transport",
        id="bus-lines",
        extras=[{"key": "update_frequency", "value": "daily"}],
    )
    assert patched["update_frequency"] == "daily" and patched["title_en"] == "Bus lines"
    assert patched["grade"] == "general1" and patched["fields"] == current["fields"]
    regrouped = world.ok("package_patch", "transport", id="bus-lines", groups=[{"name": "port"}])
    assert regrouped["zones"] == ["port"] and [g["name"] for g in regrouped["groups"]] == ["port"]
    retitled = world.ok("package_patch", "transport", id=current["id"], title="新标题", tags=[])
    assert retitled["title"] == "新标题" and retitled["tags"] == []
    assert len(retitled["resources"]) == 2  # update without resources keeps them (CKAN 2.10)
    assert world.error("package_patch", "civil", id="bus-lines", title="x")[0] == 403
    assert world.error("package_patch", "reader", id="bus-lines", title="x")[0] == 403


def test_a_downgrade_of_openness_waits_for_the_authority(world: World) -> None:
    less_open = {"id": "bus-lines", "open_type": "conditional", "open_condition": "须签署协议"}
    status, error = world.error("package_patch", "transport", **less_open)
    assert status == 409 and "reason" in error  # no reason: nothing filed
    status, error = world.error("package_patch", "transport", **less_open, reason="涉及个人信息")
    assert status == 409 and error["__type"] == "Validation Error" and "open_type" in error
    assert error["openness_request"]["state"] == "pending"
    assert package(world, "bus-lines")["open_type"] == "unconditional"  # nothing applied yet
    with database(world.app).transaction() as session:
        request = session.scalar(select(OpennessRequest))
        assert request is not None and request.id == error["openness_request"]["id"]
        services = access(session, world.app)
        authority = services.tokens.resolve(world.tokens["authority"]).user
        services.stewardship.decide(authority, request.id, True)
    assert package(world, "bus-lines")["open_type"] == "conditional"
    later = world.ok("package_patch", "transport", id="bus-lines", title="再改")
    assert later["title"] == "再改" and later["open_type"] == "conditional"


def test_package_delete_withdraws(world: World) -> None:
    assert world.error("package_delete", "civil", id="bus-lines")[0] == 403
    assert world.ok("package_delete", "transport", id="bus-lines") is None
    assert world.error("package_show", get={"id": "bus-lines"})[0] == 404
    assert world.ok("package_show", "transport", get={"id": "bus-lines"})["state"] == "deleted"
    assert "bus-lines" not in world.ok("package_list", get={})
    assert "bus-lines" not in names(search(world, fq="organization:qd-transport", rows=100))
    with database(world.app).sessions() as session:
        dataset = session.scalar(select(Dataset).where(Dataset.name == "bus-lines"))
        assert dataset is not None and dataset.state == "withdrawn"
        actions = session.scalars(select(AuditEntry.action)).all()
        assert "dataset.withdraw" in actions


def test_resource_create_update_patch(world: World) -> None:
    created = world.ok(
        "resource_create",
        "transport",
        package_id="bus-lines",
        url="https://data.qingdao.gov.cn/files/bus-lines.xlsx",
        format="xlsx",
        mimetype="application/vnd.ms-excel",
    )
    assert created["name"] == "bus-lines.xlsx" and created["format"] == "XLSX"
    assert created["kind"] == "file" and created["mimetype"] == "application/vnd.ms-excel"
    patched = world.ok("resource_patch", "transport", id=created["id"], description="年度汇总")
    assert patched["description"] == "年度汇总" and patched["url"] == created["url"]
    updated = world.ok(
        "resource_update",
        "transport",
        id=created["id"],
        name="接口",
        url="https://a.cn/api",
        format="API",
    )
    assert updated["kind"] == "api" and updated["description"] == ""  # update replaces
    assert len(package(world, "bus-lines")["resources"]) == 3
    assert world.error("resource_patch", "civil", id=created["id"], name="x")[0] == 403
    status, error = world.error("resource_create", "transport", package_id="bus-lines", url="x")
    assert status == 409 and "resources" in error


def test_organization_writes_are_the_authority_s_and_admin_s(world: World) -> None:
    new = {"name": "qd-new-bureau", "title": "青岛市新设局", "description": "说明"}
    assert world.error("organization_create", "transport", **new)[0] == 403
    assert world.error("organization_create", **new)[0] == 403
    created = world.ok("organization_create", "authority", **new)
    assert created["name"] == "qd-new-bureau" and created["package_count"] == 0
    updated = world.ok(
        "organization_update",
        "admin",
        id=created["id"],
        title="青岛市新设局（更名）",
        extras=[{"key": "title_en", "value": "New Bureau"}],
    )
    assert updated["title"] == "青岛市新设局（更名）" and updated["title_en"] == "New Bureau"
    assert updated["description"] == ""  # update replaces; patch keeps
    patched = world.ok("organization_patch", "admin", id="qd-new-bureau", description="新说明")
    assert patched["title_en"] == "New Bureau" and patched["description"] == "新说明"
    status, error = world.error("organization_create", "authority", **new)
    assert status == 409 and "name" in error
    status, error = world.error("organization_patch", "authority", id="qd-new-bureau", name="x")
    assert status == 409


def test_token_use_is_audited_and_a_refused_write_leaves_the_chain_intact(world: World) -> None:
    world.error("package_create", "transport", name="bad name")
    world.ok("package_show", "transport", get={"id": "bus-lines"})
    with database(world.app).sessions() as session:
        uses = session.scalars(select(AuditEntry).where(AuditEntry.action == "token.use")).all()
        assert any("package_create" in (e.subject or "") for e in uses)
        assert access(session, world.app).audit.verify().intact


def test_every_action_states_who_may_call_it() -> None:
    """The action table is written out (no registration by import), and every entry names
    the token scope and the rule it needs, which the dispatcher checks."""
    assert set(ACTIONS) <= set(TABLE)
    for name, entry in TABLE.items():
        assert entry.scope is None or entry.scope in ROLE_SCOPES, name
        assert entry.right is None or entry.right in rights.RULES, name
        if entry.write:
            assert entry.scope or entry.right, f"{name} writes but names no scope or rule"
