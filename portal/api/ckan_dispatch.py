"""The CKAN Action API's dispatcher: the table of actions, each with the rights it needs,
and the one route that checks them, runs the action in a transaction and answers in
CKAN's envelope. The actions themselves are in `ckan_actions.py` (reads), `ckan_search.py`
(package_search) and `ckan_writes.py` (writes); `ckan.py` holds what they share.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import IntegrityError

from .. import guard
from .. import json_bounds as bounded_json
from ..access import Access, Caller, rights
from ..catalog.errors import CatalogError, Forbidden, NotFound, Unauthenticated
from ..hosts import external_base
from ..search import SearchUnavailable
from ..services import access, database
from . import ckan_actions as reads
from . import ckan_search, ckan_writes
from .ckan import Action, CkanError, Context, validation
from .ckan_mapping import ckan_errors, message_text

blueprint = Blueprint("ckan", __name__)
MANAGE = "catalog:manage"
ORGANIZATIONS = "organizations:manage"
REGISTRY = "organization.manage"

# Every action, with who may call it: reads are open to anyone and answer with what the
# caller may see; writes need a token with the scope named and a user the rule (of
# access/rights.py) allows. Rules about one dataset (its publishing department) are
# checked by the action on that dataset, through rights.require as well.
ACTIONS: dict[str, Action] = {
    "status_show": Action(reads.status_show, scope=None, right=None),
    "package_list": Action(reads.package_list, scope=None, right=None),
    "package_show": Action(reads.package_show, scope=None, right=None),
    "current_package_list_with_resources": Action(
        reads.current_package_list_with_resources, scope=None, right=None
    ),
    "resource_show": Action(reads.resource_show, scope=None, right=None),
    "license_list": Action(reads.license_list, scope=None, right=None),
    "tag_list": Action(reads.tag_list, scope=None, right=None),
    "organization_list": Action(reads.organization_list, scope=None, right=None),
    "organization_show": Action(reads.organization_show, scope=None, right=None),
    "group_list": Action(reads.group_list, scope=None, right=None),
    "group_show": Action(reads.group_show, scope=None, right=None),
    "package_search": Action(ckan_search.package_search, scope=None, right=None),
    "package_create": Action(ckan_writes.package_create, write=True, scope=MANAGE, right=None),
    "package_update": Action(ckan_writes.package_update, write=True, scope=MANAGE, right=None),
    "package_patch": Action(ckan_writes.package_patch, write=True, scope=MANAGE, right=None),
    "package_delete": Action(ckan_writes.package_delete, write=True, scope=MANAGE, right=None),
    "resource_create": Action(ckan_writes.resource_create, write=True, scope=MANAGE, right=None),
    "resource_update": Action(ckan_writes.resource_update, write=True, scope=MANAGE, right=None),
    "resource_patch": Action(ckan_writes.resource_patch, write=True, scope=MANAGE, right=None),
    # The department registry: a token scoped for it, of the authority or an administrator.
    "organization_create": Action(
        ckan_writes.organization_create, write=True, scope=ORGANIZATIONS, right=REGISTRY
    ),
    "organization_update": Action(
        ckan_writes.organization_update, write=True, scope=ORGANIZATIONS, right=REGISTRY
    ),
    "organization_patch": Action(
        ckan_writes.organization_patch, write=True, scope=ORGANIZATIONS, right=REGISTRY
    ),
}


def _check_rights(found: Action, context: Context) -> None:
    if found.write or found.scope or found.right:
        user = context.user(found.scope)
        if found.right:
            rights.require(user, found.right)


def presented_token() -> str | None:
    """CKAN clients send the bare token in Authorization (ckanapi also in X-CKAN-API-Key)."""
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header or request.headers.get("X-CKAN-API-Key", "").strip() or None


def _caller(services: Access) -> Caller | None:
    secret = presented_token()
    if secret is None:
        return None
    return services.tokens.use(
        secret, ip=request.remote_addr, request_line=f"{request.method} {request.path}"
    )


@blueprint.get("/api/3")
@guard.public
def api_version() -> Response:
    return jsonify({"version": 3})


@blueprint.route("/api/3/action/<name>", methods=["GET", "POST"])
@blueprint.route("/api/action/<name>", methods=["GET", "POST"])
@guard.per_action  # ACTIONS above: each action's scope and rule, checked by _check_rights
def dispatch(name: str) -> tuple[Response, int]:
    found = ACTIONS.get(name)
    try:
        if found is None:
            raise CkanError(400, "Bad Request", f"Bad request - Action name not known: {name}")
        if found.write and request.method != "POST":
            raise CkanError(400, "Bad Request", f"Bad request - {name} changes data: use POST")
        data = _request_data()
        if _has_nul(data):  # PostgreSQL cannot store or even compare them
            raise CkanError(400, "Bad Request", "Bad request - NUL characters are not allowed")
        result = _run(found, data)
        if isinstance(result, CkanError):
            raise result  # refused, but what it recorded stands (an openness request)
        return _envelope(name, {"success": True, "result": result}), 200
    except CkanError as error:
        body = {"__type": error.kind, "message": error.text, **error.fields}
        return _envelope(name, {"success": False, "error": body}), error.status
    except CatalogError as error:
        status, body = _refusal(error)
        return _envelope(name, {"success": False, "error": body}), status
    except SearchUnavailable as error:
        body = {"__type": "Search Error", "message": f"Search error: {error}"}
        return _envelope(name, {"success": False, "error": body}), 409


def _envelope(name: str, body: dict[str, Any]) -> Response:
    return jsonify({"help": f"{external_base()}/api/3/action/help_show?name={name}", **body})


def _run(found: Action, data: dict[str, Any]) -> Any:
    """One transaction; a refused action rolls back to a savepoint, so what was recorded
    on the way in (the token's use) is kept and nothing of the action is. A handler that
    returns a `CkanError` instead of raising it has its work committed."""
    writes = found.write or presented_token() is not None  # a token's use is audited
    with database().transaction() if writes else database().sessions() as session:
        services = access(session)
        try:
            caller = _caller(services)
        except Unauthenticated as error:  # its token.refused entry commits with the rest
            outcome, failed = error, True
        else:
            context = Context(session, caller, request.remote_addr, external_base(), services)
            outcome, failed = _attempt(found, context, data)
            if failed and caller is not None and isinstance(outcome, Forbidden):
                services.tokens.refused(
                    caller.label,
                    ip=request.remote_addr,
                    request_line=f"{request.method} {request.path}",
                    reason=f"{found.scope or found.right or 'the action'} refused",
                )
    if failed:
        raise outcome
    return outcome


def _attempt(found: Action, context: Context, data: dict[str, Any]) -> tuple[Any, bool]:
    """(result, False), or (the refusal, True) with the action's work rolled back."""
    try:
        with context.session.begin_nested():
            _check_rights(found, context)
            return found.handler(context, data), False
    except (CatalogError, CkanError) as error:
        return error, True
    except IntegrityError:
        conflict = (
            "与同时进行的另一修改冲突，请重试 "
            "(Conflicts with a change made at the same time; try again.)"
        )
        return validation({"name": [conflict]}), True


def _request_data() -> dict[str, Any]:
    if request.method == "GET":
        return _flat(request.args)
    if request.files:
        raise validation(
            {
                "upload": [
                    "不支持上传文件，请给出资源网址 (File uploads are not supported; give a url.)"
                ]
            }
        )
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _flat(request.form)
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = bounded_json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise CkanError(400, "Bad Request", f"Bad request - JSON Error: {error}") from error
    if not isinstance(data, dict):
        raise CkanError(
            400,
            "Bad Request",
            "Bad request - JSON Error: the request body must be a JSON object",
        )
    return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _flat(values: Any) -> dict[str, Any]:
    """A MultiDict as a dict: one value as itself, a repeated key as a list."""
    return {key: items[0] if len(items) == 1 else items for key, items in values.lists()}


def _refusal(error: CatalogError) -> tuple[int, dict[str, Any]]:
    if isinstance(error, NotFound):
        return 404, {"__type": "Not Found Error", "message": f"Not found: {_text(error)}"}
    if isinstance(error, Forbidden | Unauthenticated):
        return 403, {"__type": "Authorization Error", "message": f"Access denied: {_text(error)}"}
    fields = ckan_errors({k: v for k, v in error.errors.items() if k != "_"})
    return 409, {"__type": "Validation Error", "message": _text(error), **fields}


def _text(error: CatalogError) -> str:
    return message_text(error.errors)
