"""Rights per action (issue 14): every endpoint and every CKAN action declares who may call
it, and one place, `portal/guard.py`'s hook, enforces what needs no object.

The enforcement tests put a stand-in in place of a view, with the view's declaration and
none of its checks: whatever is refused, the hook refused, before any view ran."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal import guard
from portal.access import rights
from portal.api.ckan_dispatch import ACTIONS
from portal.models import AuditEntry
from portal.services import database

from ..web.test_workspace import BASE, signed_in
from .conftest import World

DOCUMENT_ITSELF = ("api.openapi_json", "api.docs")
API_CALLERS = {guard.Who.ANYONE, guard.Who.TOKEN, guard.Who.TOKEN_IF_GIVEN}


def test_every_endpoint_and_every_ckan_action_declares_who_may_call_it(app: Flask) -> None:
    assert not guard.undeclared(app), "no declaration of who may call these"
    wrong = []
    for endpoint, view in app.view_functions.items():
        declared = guard.declaration(view)
        blueprint = endpoint.partition(".")[0]
        if declared is None:  # the app's own static folder, Flask's view
            assert endpoint == guard.FLASK_STATIC
        elif blueprint == "api" and declared.who not in API_CALLERS:
            wrong.append(f"{endpoint}: the API takes tokens, not {declared.who.value}")
        elif blueprint == "web" and declared.who not in (guard.Who.ANYONE, guard.Who.SESSION):
            wrong.append(f"{endpoint}: a page takes a session, not {declared.who.value}")
        elif blueprint == "ckan" and endpoint != "ckan.api_version":
            assert declared.who is guard.Who.PER_ACTION, endpoint
    for name, action in ACTIONS.items():
        if action.right is not None and action.right not in rights.RULES:
            wrong.append(f"CKAN {name}: no rule {action.right!r}")
        if action.scope is not None and action.scope not in rights.ROLE_SCOPES:
            wrong.append(f"CKAN {name}: no scope {action.scope!r}")
        if action.write and action.scope is None and action.right is None:
            wrong.append(f"CKAN {name} writes, for anyone: it declares no scope and no rule")
    assert not wrong, "\n".join(wrong)


def test_the_walk_names_a_route_that_declares_nothing() -> None:
    toy = Flask(__name__)
    toy.add_url_rule("/open", "open", guard.public(lambda: "open"))
    toy.add_url_rule("/forgotten", "forgotten", lambda: "forgotten")
    assert guard.undeclared(toy) == ["forgotten"]


def test_a_declaration_naming_no_known_rule_or_scope_fails_at_once() -> None:
    with pytest.raises(ValueError, match=r"no rule 'dataset\.steal'"):
        guard.token("catalog:read", rule="dataset.steal")(lambda: None)
    with pytest.raises(ValueError, match="no rule"):
        guard.signed_in(object_rule="application.read ")(lambda: None)
    with pytest.raises(ValueError, match="no token scope 'catalog:write'"):
        guard.token("catalog:write")(lambda: None)
    with pytest.raises(ValueError, match="no token scope 'applications:write'"):
        guard.token("applications:write")(lambda: None)


def stand_in(app: Flask, endpoint: str) -> list[str]:
    """Put a view that only notes its call in place of `endpoint`'s, keeping its
    declaration (functools.wraps copies it) and dropping any check of its own."""
    calls: list[str] = []

    @functools.wraps(app.view_functions[endpoint])
    def noted(**_arguments: Any) -> str:
        calls.append(endpoint)
        return "ran"

    app.view_functions[endpoint] = noted
    return calls


def test_a_token_without_the_declared_scope_is_refused_before_the_view(world: World) -> None:
    calls = stand_in(world.app, "api.create_dataset")  # catalog:manage, dataset.create
    reader = world.token("officer", ["catalog:read"], name="reader")

    refused = world.call("POST", "/api/v1/datasets", token=reader, json={})
    assert refused.status_code == 403
    assert refused.content_type == "application/problem+json"
    assert "catalog:manage" in refused.get_json()["detail"]

    anonymous = world.call("POST", "/api/v1/datasets", json={})
    assert anonymous.status_code == 401
    assert anonymous.content_type == "application/problem+json"
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert calls == []

    assert world.call("POST", "/api/v1/datasets", "officer", json={}).status_code == 200
    assert calls == ["api.create_dataset"]


def test_a_role_without_the_declared_rule_is_refused_before_the_view(world: World) -> None:
    """Rules about no object: the officer's token carries `reviews`, but only the platform
    authority decides openness requests; an enterprise's token may not read the audit."""
    calls = stand_in(world.app, "api.openness_requests")
    refused = world.call("GET", "/api/v1/openness-requests", "officer")
    assert refused.status_code == 403 and "openness.decide" in refused.get_json()["detail"]
    assert calls == []
    assert world.call("GET", "/api/v1/openness-requests", "authority").status_code == 200
    assert calls == ["api.openness_requests"]

    audit = stand_in(world.app, "web.authority_audit")
    enterprise = signed_in(world, "enterprise")
    assert enterprise.get("/workspace/audit", base_url=BASE).status_code == 403
    assert audit == []
    authority = signed_in(world, "authority")
    assert authority.get("/workspace/audit", base_url=BASE).get_data(as_text=True) == "ran"


def test_an_anonymous_visitor_of_a_signed_in_page_is_sent_to_sign_in(world: World) -> None:
    calls = stand_in(world.app, "web.workspace")
    response = world.app.test_client().get("/workspace?tab=grants", base_url=BASE)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert "workspace" in response.location
    assert calls == []
    assert signed_in(world, "enterprise").get("/workspace", base_url=BASE).status_code == 200
    assert calls == ["web.workspace"]


def test_an_endpoint_that_declares_nothing_is_refused(world: World) -> None:
    world.app.view_functions["api.list_zones"] = lambda: "ran"  # its declaration is gone
    response = world.call("GET", "/api/v1/zones")
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"


def _token_uses(world: World) -> int:
    with database(world.app).sessions() as session:
        count = select(func.count()).where(AuditEntry.action == "token.use")
        return session.scalar(count.select_from(AuditEntry)) or 0


@pytest.mark.parametrize(
    "path",
    ["/api/v1/grants", "/api/v1/search?q=公交", "/api/v1/grants/999/reports"],
)
def test_a_token_s_use_is_read_and_audited_once_per_request(world: World, path: str) -> None:
    before = _token_uses(world)
    world.call("GET", path, "enterprise")
    assert _token_uses(world) == before + 1


def test_a_public_endpoint_does_not_read_a_token(world: World) -> None:
    before = _token_uses(world)
    assert world.call("GET", "/api/v1/zones", token="qdp_not-a-token").status_code == 200
    assert _token_uses(world) == before


def _expected_security(declared: guard.Declared) -> list[dict[str, list[str]]]:
    needed = {"token": [declared.scope] if declared.scope else []}
    return {
        guard.Who.ANYONE: [],
        guard.Who.TOKEN: [needed],
        guard.Who.TOKEN_IF_GIVEN: [{}, needed],  # `{}`: anonymous is an alternative
    }[declared.who]


def test_the_openapi_document_says_what_each_operation_declares(app: Flask) -> None:
    """A client reads who may call an operation from the document: no token, a bearer
    token naming the scope it needs, or an optional one, exactly as the view declares;
    and the rules a valid token's user must also pass."""
    from portal.api.openapi import spec

    paths = spec(app)["paths"]
    wrong = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint in DOCUMENT_ITSELF:
            continue
        declared = guard.declaration(app.view_functions[rule.endpoint])
        assert declared is not None, rule.endpoint
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        rights_named = {"rule": declared.rule, "object_rule": declared.object_rule}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            if operation["security"] != _expected_security(declared):
                wrong.append(f"{method} {path}: documented {operation['security']}, {declared}")
            if operation.get("x-rights", {}) != {k: v for k, v in rights_named.items() if v}:
                wrong.append(f"{method} {path}: rights {operation.get('x-rights')}, {declared}")
    assert not wrong, "\n".join(wrong)
    assert paths["/datasets"]["post"]["security"] == [{"token": ["catalog:manage"]}]


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Public writes take what proves who one is in the body (a password) or make an account.
PUBLIC_WRITES = {"api.register", "api.create_token"}


def _scope_kind(scope: str | None) -> str:
    if scope is None:
        return "none"
    if guard.GRANT_SCOPE.match(scope):
        return "grant"
    assert scope in rights.SCOPES, scope
    return "write" if rights.SCOPES[scope].writes else "read"


def test_every_api_route_and_ckan_action_names_its_scope_read_or_write(app: Flask) -> None:
    """Issue 15, finding 8: the URL map and the CKAN table, walked whole. A route that
    takes a token names the scope it needs; one that writes, a write scope; a route
    anyone may call is declared public. A write scope includes reads only."""
    wrong = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint not in ("api", "dcat"):
            continue
        declared = guard.declaration(app.view_functions[rule.endpoint])
        assert declared is not None, rule.endpoint
        kind = _scope_kind(declared.scope)
        writes = bool(rule.methods & WRITE_METHODS)
        if declared.who is guard.Who.ANYONE:
            if writes and rule.endpoint not in PUBLIC_WRITES:
                wrong.append(f"{rule.rule}: writes for anyone")
        elif kind == "none":
            wrong.append(f"{rule.rule}: takes a token and names no scope")
        elif writes and kind not in ("write",):
            wrong.append(f"{rule.rule} writes with the read scope {declared.scope}")
    for name, action in ACTIONS.items():
        kind = _scope_kind(action.scope)
        if action.write and kind != "write":
            wrong.append(f"CKAN {name} writes without a write scope ({action.scope})")
        if not action.write and kind not in ("none", "read"):
            wrong.append(f"CKAN {name} reads with the write scope {action.scope}")
    for name, scope in rights.SCOPES.items():
        for included in scope.includes:
            if rights.SCOPES[included].writes:
                wrong.append(f"{name} includes the write scope {included}")
    assert not wrong, "\n".join(wrong)


def test_a_token_route_without_a_scope_fails_at_once() -> None:
    with pytest.raises(ValueError, match="names the scope it needs"):
        guard.token(None, rule="audit.read")(lambda: None)  # type: ignore[arg-type]


def test_a_write_scope_covers_its_reads_and_nothing_else() -> None:
    assert rights.covers(["applications"], "applications:read")
    assert rights.covers(["reviews"], "reviews:read")
    assert rights.covers(["catalog:manage"], "catalog:read")
    assert not rights.covers(["applications:read"], "applications")
    assert not rights.covers(["catalog:read"], "tokens")
    assert not rights.covers(["grant:1"], "applications:read")
    assert not rights.covers(["audit:read"], "organizations:manage")
