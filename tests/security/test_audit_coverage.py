"""Every state change is audited (finding 10): a runtime check, not a list kept by hand.

How it works. While a test drives the portal, a listener on every SQLAlchemy engine sees
each SQL statement that writes (INSERT, UPDATE, DELETE) and each commit; Flask's request
signals mark where a request starts and ends. A request whose committed writes changed a
table (other than the search outbox, which only mirrors catalog changes already audited)
without committing an `audit_entries` row in the same request is a violation, named with
its endpoint and tables. Writes outside a request (fixtures preparing data) are not judged.

What it drives. The existing tests that walk the product's flows end to end: every role
against every API endpoint (`test_rights`), the whole application → grant → data flow,
openness downgrades, the officer's, enterprise's and authority's web pages, accounts, the
spreadsheet upload, a web "run now" harvest; and a CKAN tour of every write action, here.
A last test holds the driven set against the URL map: every route that takes POST, PUT,
PATCH or DELETE, and every CKAN action that writes, must have been driven, so a new write
route fails here until a flow drives it (and so checks it is audited).

The unit judged is a request, not a transaction: a harvest commits a batch at a time and
its audit entry (`harvest.commit`) closes the run; a token's use is committed on its own.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request, request_finished, request_started
from sqlalchemy import Engine, event

from portal import create_app
from portal.api.ckan_dispatch import ACTIONS

from ..access import test_flow, test_openness, test_review_and_use, test_rights
from ..access.conftest import World
from ..access.conftest import world as world
from ..access.test_review_and_use import department_endpoint as department_endpoint
from ..web import (
    test_accounts,
    test_authority,
    test_enterprise_workspace,
    test_officer,
    test_workspace,
)
from ..web.test_accounts import browser as browser
from ..web.test_accounts import registered as registered
from ..web.test_accounts import web_app as web_app
from . import test_accounts as security_accounts
from .test_accounts import app as app
from .test_accounts import owner as owner

WRITE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE
)
AUDIT_TABLE = "audit_entries"
# The search outbox: written with each catalog revision, emptied by the indexer.
DERIVED = {"catalog_events"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Unit:
    """One request: what its committed writes changed, and whether one was an audit entry."""

    label: str
    changed: set[str] = field(default_factory=set)
    audited: bool = False


@dataclass
class Watch:
    violations: list[str] = field(default_factory=list)
    driven: set[str] = field(default_factory=set)
    _local: threading.local = field(default_factory=threading.local)
    _pending: dict[int, set[str]] = field(default_factory=dict)

    # -- requests ------------------------------------------------------------------------------
    def started(self, sender: Flask, **_: Any) -> None:
        endpoint = request.endpoint or "?"
        if endpoint == "ckan.dispatch":
            endpoint = f"ckan:{(request.view_args or {}).get('name')}"
        if request.method in WRITE_METHODS:
            self.driven.add(endpoint)
        self._local.unit = Unit(f"{request.method} {request.path} ({endpoint})")

    def finished(self, sender: Flask, **_: Any) -> None:
        unit: Unit | None = getattr(self._local, "unit", None)
        self._local.unit = None
        if unit is None:
            return
        unaudited = unit.changed - DERIVED - {AUDIT_TABLE}
        if unaudited and not unit.audited:
            self.violations.append(f"{unit.label} changed {sorted(unaudited)} unaudited")

    # -- the database ------------------------------------------------------------------------
    def statement(self, connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if getattr(self._local, "unit", None) is None:
            return
        found = WRITE.match(sql)
        if found:
            self._pending.setdefault(id(connection.connection), set()).add(found.group(1))

    def commit(self, connection: Any) -> None:
        tables = self._pending.pop(id(connection.connection), set())
        unit: Unit | None = getattr(self._local, "unit", None)
        if unit is not None and tables:
            unit.changed |= tables
            unit.audited = unit.audited or AUDIT_TABLE in tables

    def rollback(self, connection: Any) -> None:
        self._pending.pop(id(connection.connection), None)


WATCH = Watch()
TOUR_DONE: set[str] = set()


@pytest.fixture
def watched() -> Iterator[Watch]:
    """The watch installed on every engine and every app for one test; its violations."""
    before = len(WATCH.violations)
    listeners: list[tuple[str, Callable[..., Any]]] = [
        ("before_cursor_execute", WATCH.statement),
        ("commit", WATCH.commit),
        ("rollback", WATCH.rollback),
    ]
    for name, listener in listeners:
        event.listen(Engine, name, listener)
    request_started.connect(WATCH.started)
    request_finished.connect(WATCH.finished)
    try:
        yield WATCH
    finally:
        request_started.disconnect(WATCH.started)
        request_finished.disconnect(WATCH.finished)
        for name, listener in listeners:
            event.remove(Engine, name, listener)
    new = WATCH.violations[before:]
    assert not new, "state changed without an audit entry:\n" + "\n".join(new)


def ckan_tour(world: World) -> None:
    """Every CKAN write action, as the access world's officer and authority."""

    def ok(action: str, who: str, /, **body: Any) -> Any:
        response = world.call("POST", f"/api/3/action/{action}", who, json=body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["result"]

    source = ok("package_show", "officer", id="bus-lines")
    copy = {**source, "name": "bus-lines-copy", "id": None}
    for resource in copy["resources"]:
        resource.pop("id", None)
    ok("package_create", "officer", **copy)
    ok("package_update", "officer", **{**copy, "notes": "更新的说明"})
    ok("package_patch", "officer", id="bus-lines-copy", notes="再次更新")
    made = ok("resource_create", "officer", package_id="bus-lines-copy", url="https://a.cn/x.csv")
    ok("resource_patch", "officer", id=made["id"], url="https://b.cn/moved.csv")
    ok("resource_update", "officer", id=made["id"], name="接口", url="https://a.cn/api")
    ok("package_delete", "officer", id="bus-lines-copy")
    new = {"name": "qd-new-bureau", "title": "青岛市新设局"}
    created = ok("organization_create", "authority", **new)
    ok("organization_update", "authority", id=created["id"], title="青岛市新设局（更名）")
    ok("organization_patch", "authority", id="qd-new-bureau", description="新说明")
    # refused: a bad token and a missing scope are audited (token.refused), writing nothing else
    world.call("POST", "/api/3/action/package_create", token="qdp_not-a-token", json=copy)
    world.call("POST", "/api/3/action/package_create", "enterprise", json=copy)


TOUR: dict[str, Callable[..., None]] = {
    "every role against every endpoint": test_rights.test_every_role_against_every_endpoint,
    "the whole access flow": test_flow.test_the_whole_flow_is_metered_enforced_and_audited,
    "reviews and their illegal moves": (
        test_review_and_use.test_reasons_are_required_and_illegal_moves_refused
    ),
    "usage reports": test_review_and_use.test_usage_reports_and_the_overdue_flag,
    "a proxied download": (
        test_review_and_use.test_data_without_a_stored_file_is_proxied_from_the_department
    ),
    "openness downgrades": test_openness.test_a_downgrade_waits_for_the_authority_then_applies,
    "other edits": test_openness.test_more_open_waits_too_and_other_edits_apply_at_once,
    "apply and review on the web": test_workspace.test_apply_review_and_follow_in_the_workspace,
    "a spreadsheet upload": test_workspace.test_a_department_uploads_its_catalog_dry_run_first,
    "a new dataset on the web": (
        test_officer.test_a_good_form_registers_the_dataset_for_the_department
    ),
    "an edit on the web": test_officer.test_editing_round_trips_the_values,
    "a suggestion accepted": test_officer.test_accepting_a_suggestion_changes_the_grade,
    "a web harvest run": test_officer.test_the_harvest_pages_show_jobs_and_failed_records,
    "an openness decision on the web": (
        test_authority.test_an_approved_downgrade_changes_the_datasets_openness
    ),
    "a zone created": test_authority.test_a_zone_is_created_with_the_profiles_validation,
    "a zone edited": test_authority.test_a_zone_is_edited_and_its_scenarios_kept_or_removed,
    "the audit CSV": test_authority.test_the_csv_export_holds_the_filtered_entries_only,
    "web tokens": (
        test_enterprise_workspace.test_a_token_made_in_the_workspace_is_shown_once_and_carries_its_scopes
    ),
    "a web revocation": test_enterprise_workspace.test_a_revoked_token_stops_working_at_once,
    "a grant page and its reports": (
        test_enterprise_workspace.test_a_grant_page_shows_the_quota_left_and_takes_usage_reports
    ),
    "sign-up and sign-in": test_accounts.test_an_enterprise_registers_and_then_signs_in,
    "sign-out": test_accounts.test_sign_out_takes_a_post_with_the_token,
    "sign-out everywhere": security_accounts.test_sign_out_everywhere_ends_every_session,
    "a wait after wrong passwords": test_accounts.test_five_wrong_passwords_make_this_source_wait,
    "a password reset": test_accounts.test_a_password_is_reset_with_a_mailed_one_time_link,
    "every CKAN write": ckan_tour,
}


@pytest.mark.parametrize("flow", list(TOUR))
def test_every_request_that_changes_state_is_audited(
    flow: str, watched: Watch, request: pytest.FixtureRequest
) -> None:
    drive = TOUR[flow]
    names = drive.__code__.co_varnames[: drive.__code__.co_argcount]
    drive(**{name: request.getfixturevalue(name) for name in names})
    TOUR_DONE.add(flow)


def test_the_tour_drives_every_write_route_and_every_ckan_write(tmp_path: Any) -> None:
    if set(TOUR) != TOUR_DONE:
        pytest.skip("judged only after the whole tour ran (run the module, not one test)")
    app = create_app({"instance_path": str(tmp_path), "database_url": "sqlite://"})
    routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if (rule.methods or set()) & WRITE_METHODS and rule.endpoint != "ckan.dispatch"
    }
    routes |= {f"ckan:{name}" for name, action in ACTIONS.items() if action.write}
    assert sorted(routes - WATCH.driven) == []


def test_the_watch_names_a_request_that_writes_without_an_audit_entry(
    tmp_path: Any, database_url: str
) -> None:
    """The check itself: a route that changes a row and appends nothing is caught."""
    from sqlalchemy import text

    from portal.services import database

    app = create_app({"instance_path": str(tmp_path), "database_url": database_url})

    @app.post("/sneaky")
    def sneaky() -> str:
        with database(app).transaction() as session:
            session.execute(text("UPDATE users SET active = active"))
        return "done"

    watch = Watch()
    event.listen(Engine, "before_cursor_execute", watch.statement)
    event.listen(Engine, "commit", watch.commit)
    request_started.connect(watch.started, app)
    request_finished.connect(watch.finished, app)
    try:
        with app.test_request_context("/sneaky", method="POST"):
            request_started.send(app)
            sneaky()
            request_finished.send(app, response=None)
    finally:
        request_started.disconnect(watch.started, app)
        request_finished.disconnect(watch.finished, app)
        event.remove(Engine, "before_cursor_execute", watch.statement)
        event.remove(Engine, "commit", watch.commit)
    assert watch.violations == ["POST /sneaky (sneaky) changed ['users'] unaudited"]
