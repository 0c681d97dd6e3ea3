"""Review rules (reasons, illegal moves, returned → resubmitted, overdue formality), usage
reports and their overdue flag, expiry, and data proxied from a department's endpoint."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import Application, Grant, Resource
from portal.outbound import Outbound
from portal.services import database, settings

from .conftest import World
from .test_rights import application, grant


def test_reasons_are_required_and_illegal_moves_refused(world: World) -> None:
    number = application(world)["application"]
    path = f"/api/v1/applications/{number}"
    bare = world.call("POST", f"{path}/formality", "authority", json={"decision": "return"})
    assert bare.status_code == 422 and "reason" in bare.get_json()["errors"]
    returned = world.call(
        "POST",
        f"{path}/formality",
        "authority",
        json={"decision": "return", "reason": "缺少安全承诺书盖章页"},
    )
    assert returned.get_json()["state"] == "returned"
    again = world.call("POST", f"{path}/formality", "authority", json={"decision": "pass"})
    assert again.status_code == 409
    resubmitted = world.call(
        "POST",
        f"{path}/resubmit",
        "enterprise",
        json={
            "resources": world.resources["card-swipes"],
            "purpose": "研究客流（已补充盖章页）",
            "scenario": "线路优化",
            "term_days": 20,
            "quota_calls": 5,
            "commitment_accepted": True,
        },
    )
    assert resubmitted.get_json()["state"] == "submitted"
    history = world.call("GET", path, "enterprise").get_json()["history"]
    assert [h["action"] for h in history] == ["submit", "return", "resubmit"]
    assert history[1]["reason"] == "缺少安全承诺书盖章页"
    withdrawn = world.call("POST", f"{path}/withdraw", "enterprise")
    assert withdrawn.get_json()["state"] == "withdrawn"
    assert world.call("POST", f"{path}/withdraw", "enterprise").status_code == 409


def test_bad_applications_get_field_errors_in_both_languages(world: World) -> None:
    response = world.call(
        "POST",
        "/api/v1/applications",
        "enterprise",
        json={
            "dataset": "bus-lines",
            "resources": [],
            "term_days": 0,
            "commitment_accepted": False,
            "extra": 1,
        },
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert {"resources", "term_days", "commitment_accepted", "purpose", "extra"} <= set(errors)
    assert all(m["zh"] and m["en"] for m in errors["commitment_accepted"])
    open_one = world.call(
        "POST",
        "/api/v1/applications",
        "enterprise",
        json={
            "dataset": "bus-lines",
            "resources": world.resources["bus-lines"],
            "purpose": "p",
            "scenario": "s",
            "term_days": 5,
            "quota_calls": 5,
            "commitment_accepted": True,
        },
    )
    assert open_one.status_code == 422 and "dataset" in open_one.get_json()["errors"]
    not_json = world.call("POST", "/api/v1/applications", "enterprise", data="x")
    assert not_json.status_code == 422


def test_overdue_formality_reviews_are_flagged(world: World) -> None:
    number = application(world)["application"]
    queue = world.call("GET", "/api/v1/applications", "authority").get_json()["applications"]
    assert [a["overdue"] for a in queue if a["id"] == number] == [False]
    with database(world.app).transaction() as session:
        session.get(Application, number).formality_due = utcnow() - timedelta(hours=1)
    queue = world.call("GET", "/api/v1/applications", "authority").get_json()["applications"]
    assert [a["overdue"] for a in queue if a["id"] == number] == [True]


def test_usage_reports_and_the_overdue_flag(world: World) -> None:
    ids = grant(world)
    number = ids["grant"]
    assert world.call("GET", "/api/v1/grants/overdue-reports", "officer").get_json()["grants"] == []
    with database(world.app).transaction() as session:
        session.get(Grant, number).report_due = utcnow() - timedelta(days=1)
    flagged = world.call("GET", "/api/v1/grants/overdue-reports", "officer").get_json()["grants"]
    assert [g["id"] for g in flagged] == [number]
    other = world.call("GET", "/api/v1/grants/overdue-reports", "other_officer").get_json()
    assert other["grants"] == []  # another department's grant is not theirs to chase
    filed = world.call(
        "POST",
        f"/api/v1/grants/{number}/reports",
        "enterprise",
        json={
            "usage": "用于定制公交线路规划",
            "results": "开通 2 条定制线路",
            "benefits": "日均服务 800 人次",
        },
    )
    assert filed.status_code == 201
    assert world.call("GET", "/api/v1/grants/overdue-reports", "officer").get_json()["grants"] == []
    reports = world.call("GET", f"/api/v1/grants/{number}/reports", "officer").get_json()
    assert reports["reports"][0]["results"] == "开通 2 条定制线路"


def test_an_expired_grant_serves_nothing(world: World) -> None:
    ids = grant(world)
    token = world.token("enterprise", [f"grant:{ids['grant']}"])
    path = f"/api/v1/grants/{ids['grant']}/resources/{ids['resource']}/data"
    assert world.call("GET", path, token=token).status_code == 200
    with database(world.app).transaction() as session:
        session.get(Grant, ids["grant"]).expires_at = utcnow() - timedelta(seconds=1)
    expired = world.call("GET", path, token=token)
    assert expired.status_code == 403 and "expired" in expired.get_json()["detail"]


@pytest.fixture
def department_endpoint() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = "站点,客流\n五四广场,1200\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/stations.csv"
    server.shutdown()


def test_data_without_a_stored_file_is_proxied_from_the_department(
    world: World, department_endpoint: str
) -> None:
    ids = grant(world)
    # The department's endpoint is on loopback here: the instance allows it explicitly.
    allowed = dataclasses.replace(settings(world.app), outbound_allow="127.0.0.1")
    world.app.extensions["portal.outbound"] = Outbound.from_settings(allowed)
    with database(world.app).transaction() as session:
        session.get(Resource, ids["resource"]).url = department_endpoint
    with database(world.app).sessions() as session:
        key = session.get(Resource, ids["resource"]).file_key
    stored = settings(world.app).instance_dir / "files" / key[:2] / key
    stored.unlink()
    token = world.token("enterprise", [f"grant:{ids['grant']}"])
    path = f"/api/v1/grants/{ids['grant']}/resources/{ids['resource']}/data"
    response = world.call("GET", path, token=token)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "站点,客流\n五四广场,1200\n"
    with database(world.app).sessions() as session:
        used = session.scalar(select(Grant).where(Grant.id == ids["grant"]))
        assert used.used_calls == 1 and used.used_bytes == len(response.data)
