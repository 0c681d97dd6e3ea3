"""Who may call each endpoint: one declaration on every view, and one hook that enforces it.

Every view of the REST API and of the pages says, under its route, who may call it:
`public`, `token(scope, rule=…)` for the API, `signed_in(rule=…)` for the pages, or
`per_action` for the CKAN route, whose table (`api/ckan_dispatch.py`'s ACTIONS) declares
each action and whose dispatcher checks it. Before any view runs, `enforce` checks what
needs no object: who calls (the API: a 401 problem document; the pages: the sign-in
page), the token's scope (403) and a rule of `access/rights.py` about no object (403).

A rule about one object (a dataset's department, an application's applicant) cannot be
checked before the object is loaded: the view declares it as `object_rule`, so that a
reader sees it, and the service (or the view) that loads the object checks it there, with
`rights.require` or `rights.allowed`.
An endpoint without a declaration is refused; tests/access/test_declarations.py names it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, request
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from schemas import message

from .access import Caller, rights
from .catalog.errors import CatalogError, Forbidden, Unauthenticated
from .models import ApiToken, User
from .services import access, database
from .visibility import PUBLIC, Viewer, viewer_of

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "who_may_call"
# Flask's own view of the app's static folder (empty: the pages' files are web.static).
FLASK_STATIC = "static"
# A token scope a declaration may name: one of rights.SCOPES, or a grant's, named by
# the path's argument (`grant:{grant_id}`).
GRANT_SCOPE = re.compile(r"^grant:\{\w+\}$")


class Who(enum.Enum):
    ANYONE = "anyone"  # nothing read: no token, no session
    TOKEN_IF_GIVEN = "anyone; a token given is used"  # and must be valid, with the scope
    TOKEN = "an API token"
    SESSION = "a signed-in session"  # the pages
    PER_ACTION = "per action"  # the CKAN route: its dispatcher checks its table


@dataclass(frozen=True)
class Declared:
    who: Who
    scope: str | None = None  # the token scope, formatted with the path's arguments
    rule: str | None = None  # about no object: checked by `enforce`
    object_rule: str | None = None  # about the object the request names: checked on it


@dataclass(frozen=True)
class CallerRef:
    """Whom `enforce` found behind a token, kept for the view to load in its own session."""

    user_id: int
    token_id: int


# -- declarations ---------------------------------------------------------------------------
def public(view: View) -> View:
    """Anyone, signed or not; a token sent along is not even read."""
    return _declare(view, Declared(Who.ANYONE))


def per_action(view: View) -> View:
    """The CKAN Action API's route: every action states its scope and rule in ACTIONS."""
    return _declare(view, Declared(Who.PER_ACTION))


def token(
    scope: str,
    *,
    rule: str | None = None,
    object_rule: str | None = None,
    optional: bool = False,
) -> Callable[[View], View]:
    """An API token carrying `scope` (when named) whose user `rule` allows. `optional`:
    anyone may call, but a token sent is used and must be valid and carry the scope."""
    who = Who.TOKEN_IF_GIVEN if optional else Who.TOKEN
    declared = Declared(who, scope, rule, object_rule)
    return lambda view: _declare(view, declared)


def signed_in(*, rule: str | None = None, object_rule: str | None = None) -> Callable[[View], View]:
    """A page for a signed-in user whom `rule` allows."""
    declared = Declared(Who.SESSION, None, rule, object_rule)
    return lambda view: _declare(view, declared)


def _declare(view: View, declared: Declared) -> View:
    # A name that is not in the tables would be a rule nobody checks: fail at import.
    for name in (declared.rule, declared.object_rule):
        if name is not None and name not in rights.RULES:
            raise ValueError(f"{view.__name__}: no rule {name!r} in access/rights.py")
    scope = declared.scope
    if scope is not None and scope not in rights.SCOPES and not GRANT_SCOPE.match(scope):
        raise ValueError(f"{view.__name__}: no token scope {scope!r}")
    if declared.who in (Who.TOKEN, Who.TOKEN_IF_GIVEN) and scope is None:
        # A token without a scope to check would read or write whatever its user may.
        raise ValueError(f"{view.__name__}: a token route names the scope it needs")
    setattr(view, ATTRIBUTE, declared)
    return view


def declaration(view: Callable[..., Any]) -> Declared | None:
    return getattr(view, ATTRIBUTE, None)


def undeclared(app: Flask) -> list[str]:
    """The endpoints whose view says nothing of who may call it."""
    return sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint != FLASK_STATIC and declaration(view) is None
    )


# -- enforcement ----------------------------------------------------------------------------
def init_guard(app: Flask) -> None:
    """Register `enforce`; after CSRF and the rate limits, which refuse before it."""
    app.before_request(enforce)


def enforce() -> Response | None:
    """The one check before every view: who calls, the token's scope, a rule of no object."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == FLASK_STATIC or request.method == "OPTIONS":
        return None  # no route (404 or 405 follows), or Flask's own answer
    declared = declaration(current_app.view_functions[endpoint])
    if declared is None:
        current_app.logger.error("%s declares no rights: refused", endpoint)
        abort(403)
    if declared.who in (Who.TOKEN, Who.TOKEN_IF_GIVEN):
        _enforce_token(declared)
    elif declared.who is Who.SESSION:
        return _enforce_session(declared)
    return None


NO_TOKEN = {
    "authorization": [
        message(
            "需要 API 令牌：Authorization: Bearer <令牌>",
            "An API token is needed: Authorization: Bearer <token>.",
        )
    ]
}


def presented_token() -> str | None:
    """The API's token: `Authorization: Bearer <token>` or the bare token."""
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header or None


def _enforce_token(declared: Declared) -> None:
    secret = presented_token()
    if secret is None:
        if declared.who is Who.TOKEN:
            raise Unauthenticated(NO_TOKEN)
        return
    scope = declared.scope.format(**(request.view_args or {})) if declared.scope else None
    line = f"{request.method} {request.path}"
    refusal: CatalogError | None = None
    # Its own transaction: the token's use, or its refusal, stays in the audit log
    # whatever follows.
    with database().transaction() as session:
        tokens = access(session).tokens
        try:
            found = tokens.use(secret, ip=request.remote_addr, request_line=line)
        except Unauthenticated as error:
            refusal = error  # recorded by `use`: committed with this transaction
        else:
            assert found.token is not None  # a token's caller
            g.api_caller = CallerRef(found.user.id, found.token.id)
            refusal = _token_refusal(found, scope, declared.rule)
            if refusal is not None:
                lacks_scope = bool(scope) and not found.has_scope(scope or "")
                why = f"lacks the {scope} scope" if lacks_scope else f"{declared.rule} refused"
                tokens.refused(found.label, ip=request.remote_addr, request_line=line, reason=why)
    if refusal is not None:
        raise refusal


def _token_refusal(found: Caller, scope: str | None, rule: str | None) -> Forbidden | None:
    if scope and not found.has_scope(scope):
        return Forbidden.because(
            f"此令牌没有「{scope}」范围", f"This token lacks the {scope!r} scope."
        )
    return rights.refusal(found.user, rule) if rule else None


def _enforce_session(declared: Declared) -> Response | None:
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if declared.rule:
        with database().sessions() as session:
            user = session.get(User, current_user.id)
            if user is None or not rights.allowed(user, declared.rule):
                abort(403)
    return None


# -- the caller, for the API's views ---------------------------------------------------------
def optional_caller(session: Session) -> Caller | None:
    """Who `enforce` found behind the request's token, loaded in `session`; None without
    a token."""
    found: CallerRef | None = g.get("api_caller")
    if found is None:
        return None
    user = session.get(User, found.user_id)
    assert user is not None  # the token's use was committed, with its user
    return Caller(user, session.get(ApiToken, found.token_id))


def caller(session: Session) -> Caller:
    """The caller of a view declared `token(...)`: `enforce` refused the request without one."""
    found = optional_caller(session)
    if found is None:
        raise Unauthenticated(NO_TOKEN)
    return found


def current_viewer() -> Viewer:
    """Whom the request's token (if any) stands for, as a viewer of the catalog: the
    public without one; an officer also sees the department's entries, the authority all."""
    with database().sessions() as session:
        found = optional_caller(session)
        return viewer_of(found.user) if found else PUBLIC
