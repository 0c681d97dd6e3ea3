"""Issue 15, the rules of who sees and does what: closed endpoints are not published
(finding 5), imports do not make departments (6), stored files live and die with their
resource (7), token scopes narrow reads and self-service writes (8), grade downgrades and
openness widenings wait for the authority (13), hidden datasets answer as absent ones (17).

Each test attacks through the routes users reach (the Flask test client), as the review
did against a portal on loopback."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from portal.catalog import Catalog
from portal.models import Dataset, Grant, Organization
from portal.services import access, database, policy, settings

from ..access import conftest as access_world
from ..access.conftest import World
from ..access.test_rights import application
from ..factories import dataset
from ..web.test_officer import form_of
from ..web.test_workspace import BASE, csrf, signed_in

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
    assert served.status_code == 200 and served.data.startswith(b"card-swipes,")
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


# -- finding 13: a lowered grade or a widened openness waits for the authority -----------
@pytest.fixture
def important(world: World) -> World:
    """A 重要, 不予开放 dataset of qd-transport, with a stored file for each resource."""
    with database(world.app).transaction() as session:
        catalog = Catalog(session, "test", policy(world.app))
        catalog.datasets.create(
            dataset(name="pipe-network", title="供水管网", grade="important", open_type="closed")
        )
        session.flush()
        resources = catalog.datasets.get("pipe-network").resources
        world.resources["pipe-network"] = [r.id for r in resources]
        access(session, world.app).files.store(resources[0], io.BytesIO(b"secret pipes\n"))
    return world


def _classification(world: World, name: str) -> tuple[str, str]:
    with database(world.app).sessions() as session:
        found = session.scalar(select(Dataset).where(Dataset.name == name))
        assert found is not None
        return found.grade, found.open_type


def _opened(world: World) -> dict[str, Any]:
    with database(world.app).sessions() as session:
        document = Catalog(session, "test").datasets.document("pipe-network")
    return {**document, "grade": "general1", "open_type": "unconditional"}


def _anonymous_download_fails(world: World) -> None:
    resource = world.resources["pipe-network"][0]
    served = world.call("GET", f"/api/v1/datasets/pipe-network/resources/{resource}/data")
    assert served.status_code in (403, 404)
    assert b"secret pipes" not in served.data


def test_an_officer_s_rest_edit_that_opens_an_important_dataset_waits(important: World) -> None:
    world = important
    response = world.call("PUT", "/api/v1/datasets/pipe-network", "officer", json=_opened(world))
    assert response.status_code == 202, response.get_json()
    held = response.get_json()
    assert held["state"] == "pending" and held["to"] == "unconditional"
    assert _classification(world, "pipe-network") == ("important", "closed")
    _anonymous_download_fails(world)
    # Approved by the authority, it applies.
    decided = world.call(
        "POST",
        f"/api/v1/openness-requests/{held['id']}/decision",
        "authority",
        json={"decision": "approve"},
    )
    assert decided.status_code == 200, decided.get_json()
    assert _classification(world, "pipe-network") == ("general1", "unconditional")


def test_a_lowered_grade_alone_waits_too_and_a_stricter_one_does_not(important: World) -> None:
    world = important
    lowered = {**_opened(world), "grade": "general4", "open_type": "closed"}
    response = world.call("PUT", "/api/v1/datasets/pipe-network", "officer", json=lowered)
    assert response.status_code == 202
    assert _classification(world, "pipe-network") == ("important", "closed")
    stricter = {**lowered, "grade": "core"}
    world.call(
        "POST",
        "/api/v1/openness-requests/1/decision",
        "authority",
        json={"decision": "reject", "reason": "不降级"},
    )
    response = world.call("PUT", "/api/v1/datasets/pipe-network", "officer", json=stricter)
    assert response.status_code == 200, response.get_json()
    assert _classification(world, "pipe-network") == ("core", "closed")


def test_a_ckan_patch_that_opens_an_important_dataset_waits(important: World) -> None:
    world = important
    response = world.call(
        "POST",
        "/api/3/action/package_patch",
        "officer",
        json={"id": "pipe-network", "grade": "general1", "open_type": "unconditional"},
    )
    assert response.get_json()["success"] is False
    assert _classification(world, "pipe-network") == ("important", "closed")
    _anonymous_download_fails(world)


def test_a_web_form_edit_that_opens_an_important_dataset_waits(important: World) -> None:
    world = important
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/datasets/pipe-network/edit", base_url=BASE)
    assert page.status_code == 200
    sent = {
        **form_of(page.get_data(as_text=True)),
        "grade": "general1",
        "open_type": "unconditional",
    }
    response = officer.post(
        "/workspace/datasets/pipe-network/edit",
        base_url=BASE,
        data=sent,
        headers={"Referer": f"{BASE}/workspace/datasets/pipe-network/edit"},
    )
    assert response.status_code in (200, 302)
    assert _classification(world, "pipe-network") == ("important", "closed")
    _anonymous_download_fails(world)
    pending = world.call("GET", "/api/v1/openness-requests", "authority").get_json()["requests"]
    assert [r["dataset"] for r in pending] == ["pipe-network"]


# -- finding 17: a hidden dataset answers exactly as an absent one -------------------------
@pytest.fixture
def hidden(world: World) -> World:
    """A 不予开放 dataset of qd-transport whose catalog entry is not public."""
    with database(world.app).transaction() as session:
        catalog = Catalog(session, "test", policy(world.app))
        catalog.datasets.create(
            dataset(
                name="secret-registry",
                title="不公开的登记簿",
                grade="general4",
                open_type="closed",
                metadata_public=False,
            )
        )
        session.flush()
        world.resources["secret-registry"] = [
            r.id for r in catalog.datasets.get("secret-registry").resources
        ]
    return world


def _answer(world: World, method: str, path: str, who: str | None, **kwargs: Any) -> Any:
    response = world.call(method, path, who, **kwargs)
    return response.status_code, response.content_type, response.data


@pytest.mark.parametrize("who", [None, "enterprise", "other_officer"])
def test_a_hidden_dataset_answers_byte_for_byte_as_one_that_does_not_exist(
    hidden: World, who: str | None
) -> None:
    world = hidden
    real, rid = "secret-registry", world.resources["secret-registry"][0]
    fake, fake_rid = "nothing-here-x", "00000000-0000-0000-0000-000000000000"
    assert len(rid) == len(fake_rid)
    body = dataset(name=real, publisher="qd-transport")
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/v1/datasets/{n}", {}),
        ("GET", "/api/v1/datasets/{n}/resources/{r}/data", {}),
        ("GET", "/api/3/action/package_show?id={n}", {}),
        ("GET", "/api/3/action/resource_show?id={r}", {}),
        ("GET", "/dataset/{n}.ttl", {}),
        ("GET", "/dataset/{n}.jsonld", {}),
    ]
    if who == "other_officer":
        calls += [
            ("PUT", "/api/v1/datasets/{n}", {"json": body}),
            ("PUT", "/api/v1/datasets/{n}/resources/{r}/file", {"data": b"x"}),
            ("POST", "/api/3/action/package_patch", {"json": {"id": "{n}", "title": "x"}}),
        ]
    if who == "enterprise":
        application = {
            "dataset": "{n}",
            "resources": ["{r}"],
            "purpose": "研究",
            "scenario": "分析",
            "term_days": 30,
            "quota_calls": 5,
            "commitment_accepted": True,
        }
        calls.append(("POST", "/api/v1/applications", {"json": application}))
    for method, template, kwargs in calls:

        def fill(value: Any, name: str, resource: str) -> Any:
            text = json.dumps(value) if not isinstance(value, bytes) else None
            if text is None:
                return value
            return json.loads(
                text.replace(real, name).replace("{n}", name).replace("{r}", resource)
            )

        answers = []
        for name, resource in ((real, rid), (fake, fake_rid)):
            args = {k: fill(v, name, resource) for k, v in kwargs.items()}
            path = template.format(n=name, r=resource)
            status, kind, data = _answer(world, method, path, who, **args)
            text = data.decode().replace(name, "NAME").replace(resource, "RID")
            answers.append((status, kind, text))
        assert answers[0] == answers[1], (method, template, answers)
        assert answers[0][0] in (404, 409, 422) or "Not Found" in answers[0][2], answers[0]
    for name in (real, fake):
        page = world.client.get(f"/dataset/{name}", base_url=BASE)
        assert page.status_code == 404
    if who is not None:
        browser = signed_in(world, who)
        pages = []
        for name in (real, fake):
            for path in (f"/dataset/{name}", f"/apply/{name}", f"/workspace/datasets/{name}/edit"):
                answer = browser.get(path, base_url=BASE)
                pages.append((answer.status_code, answer.get_data(as_text=True).replace(name, "N")))
        assert pages[:3] == pages[3:]
        assert {status for status, _ in pages} <= {403, 404}


# -- finding 7: a stored file lives and dies with its resource ---------------------------
def test_a_freed_resource_id_given_again_never_serves_the_old_file(world: World) -> None:
    freed, kept = world.resources["card-swipes"]
    old_bytes = f"card-swipes,{freed}".encode()
    document = world.call("GET", "/api/v1/datasets/card-swipes", "officer").get_json()
    document["resources"] = [r for r in document["resources"] if r["id"] == kept]
    removed = world.call("PUT", "/api/v1/datasets/card-swipes", "officer", json=document)
    assert removed.status_code == 200, removed.get_json()
    assert [r["id"] for r in removed.get_json()["resources"]] == [kept]
    # Another department registers open data whose resource takes the freed id.
    reused = dataset(
        name="civil-open",
        title="民政开放数据",
        publisher="qd-civil",
        resources=[{"id": freed, "name": "表", "kind": "file", "format": "csv"}],
    )
    made = world.call("POST", "/api/v1/datasets", "other_officer", json=reused)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["resources"][0]["id"] == freed
    served = world.call("GET", f"/api/v1/datasets/civil-open/resources/{freed}/data")
    assert old_bytes not in served.data
    assert served.status_code == 404, served.data[:200]
    # The removed resource's file is out of service, kept aside for an operator.
    quarantine = settings(world.app).instance_dir / "files" / "quarantine"
    assert [p.read_bytes()[: len(old_bytes)] for p in quarantine.iterdir()] == [old_bytes]


def test_a_replaced_file_is_not_served_again(world: World) -> None:
    rid = world.resources["bus-lines"][0]
    path = f"/api/v1/datasets/bus-lines/resources/{rid}/file"
    for content in (b"first,version\n", b"second,version\n"):
        stored = world.call("PUT", path, "officer", data=content)
        assert stored.status_code == 201, stored.get_json()
    served = world.call("GET", f"/api/v1/datasets/bus-lines/resources/{rid}/data")
    assert served.data == b"second,version\n"
    files = settings(world.app).instance_dir / "files"
    live = [p for p in files.rglob("*") if p.is_file() and "quarantine" not in p.parts]
    assert b"first,version\n" not in [p.read_bytes() for p in live]


# -- finding 6: an upload or a harvest never makes a department ---------------------------
FOREIGN_CSV = (
    "数据目录名称,所属领域,开放属性,数据摘要,更新频率,数据提供方\n"
    "出租车上客点,交通运输,无条件开放,全市出租车上客点位置。,每月,青岛市交通运输局\n"
    "案件线索,交通运输,无条件开放,冒名公安局发布。,每天,青岛市公安局\n"
)


def _upload(world: World, text: str) -> str:
    officer = signed_in(world, "officer")
    page = officer.get("/workspace/catalog/upload", base_url=BASE).get_data(as_text=True)
    headers = {"Referer": f"{BASE}/workspace/catalog/upload"}
    dry = officer.post(
        "/workspace/catalog/upload",
        base_url=BASE,
        data={"csrf_token": csrf(page), "catalog": (io.BytesIO(text.encode()), "目录.csv")},
        content_type="multipart/form-data",
        headers=headers,
    ).get_data(as_text=True)
    commit = re.search(r'action="(/workspace/catalog/upload/[^"]+/commit)"', dry)
    assert commit, dry[:500]
    done = officer.post(
        commit.group(1), base_url=BASE, data={"csrf_token": csrf(dry)}, headers=headers
    )
    assert done.status_code == 200
    return done.get_data(as_text=True)


def test_a_spreadsheet_naming_another_department_creates_none_and_publishes_nothing_there(
    world: World,
) -> None:
    report = _upload(world, FOREIGN_CSV)
    with database(world.app).sessions() as session:
        departments = set(session.scalars(select(Organization.title)))
        published = dict(session.execute(select(Dataset.title, Dataset.publisher_id)).all())
        transport = session.scalar(
            select(Organization.id).where(Organization.name == "qd-transport")
        )
    assert "青岛市公安局" not in departments
    assert departments == {"青岛市交通运输局", "青岛市民政局"}
    # the rest went on, in the officer's department, named by its title
    assert published["出租车上客点"] == transport
    assert "案件线索" not in published
    assert "row 3" in report  # the refused record, with its line
    # the registry stays the authority's: not even an existing department is touched
    assert "只能由开放主管部门登记或修改" in report or "authority registers" in report
