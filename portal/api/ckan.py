"""The CKAN Action API v3 (`/api/3/action/<name>`, `/api/action/<name>`), so that CKAN
clients (ckanapi, harvesters of other portals) work against the portal unchanged.

Every answer is CKAN's envelope: `{"help", "success": true, "result"}`, or `{"help",
"success": false, "error": {"__type", "message", <field>: [...]}}` with CKAN's statuses
(404 Not Found Error, 409 Validation Error, 403 Authorization Error, 400 for an unknown
action, a bad body or a bad search query). Reads take GET (query arguments) or POST;
writes POST only, with a JSON or form-encoded body.

Callers send an API token the CKAN way, bare in `Authorization` or `X-CKAN-API-Key`
(`Bearer <token>` works too). The actions live in `ckan_actions.py` (reads),
`ckan_search.py` (package_search) and `ckan_writes.py` (writes); the mapping between
CKAN's dicts and our profile in `ckan_mapping.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas import message

from ..access import Access, Caller, FileStore
from ..catalog.errors import CatalogError, Forbidden, NotFound, Unauthenticated
from ..models import Dataset, Resource, User
from ..search import SearchUnavailable
from ..services import access, database
from ..visibility import PUBLIC, Viewer, may_read, viewer_of
from .ckan_mapping import ckan_errors, message_text

blueprint = Blueprint("ckan", __name__)

# Either scope lets a token read what its user may: an officer the department's entries
# that are not public, the authority all.
READ_SCOPES = ("catalog:read", "catalog:manage")


class CkanError(Exception):
    """An error in CKAN's terms: HTTP status, `__type`, message and field errors."""

    def __init__(
        self, status: int, kind: str, text: str, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(text)
        self.status, self.kind, self.text, self.fields = status, kind, text, fields or {}


def validation(fields: dict[str, list[str]]) -> CkanError:
    return CkanError(409, "Validation Error", "Validation Error", fields)


def search_query_error(text: str) -> CkanError:
    return CkanError(400, "Search Query Error", f"Search Query is invalid: {text}")


@dataclass
class Context:
    """What an action gets: the session, who calls (None: nobody signed), and helpers."""

    session: Session
    caller: Caller | None
    ip: str | None
    root: str  # the portal's address, for links
    services: Access  # the access services over `session` (made once: costly to set up)

    def user(self, scope: str | None) -> User:
        """The calling user, whose token carries `scope` (if named); else an
        Authorization Error."""
        if self.caller is None:
            raise Unauthenticated(
                {
                    "authorization": [
                        message(
                            "需要 API 令牌（Authorization 或 X-CKAN-API-Key 请求头）",
                            "An API token is needed (Authorization or X-CKAN-API-Key header).",
                        )
                    ]
                }
            )
        if scope and not self.caller.has_scope(scope):
            raise Forbidden.because(
                f"此令牌没有「{scope}」范围", f"This token lacks the {scope!r} scope."
            )
        return self.caller.user

    def viewer(self, include_private: bool = True) -> Viewer:
        """Who reads: a token with a catalog scope sees what its user may (an officer the
        department's non-public entries, the authority everything); else the public."""
        if not include_private or self.caller is None:
            return PUBLIC
        if not any(self.caller.has_scope(scope) for scope in READ_SCOPES):
            return PUBLIC
        return viewer_of(self.caller.user)

    def may_see(self, dataset: Dataset) -> bool:
        return may_read(self.viewer(), dataset)

    @property
    def files(self) -> FileStore:
        return self.services.files

    def download_url(self, dataset: Dataset, resource: Resource) -> str | None:
        """The portal's own address of a kept file of an open dataset, if there is one."""
        if dataset.open_type != "unconditional" or dataset.state != "active":
            return None
        if not self.files.exists(resource.id):
            return None
        path = url_for("api.open_data", name=dataset.name, resource_id=resource.id)
        return self.root.rstrip("/") + path


Handler = Callable[[Context, dict[str, Any]], Any]


@dataclass(frozen=True)
class Action:
    handler: Handler
    write: bool


ACTIONS: dict[str, Action] = {}


def action(name: str, *, write: bool = False) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ACTIONS[name] = Action(handler, write)
        return handler

    return register


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
    found = services.tokens.resolve(secret, ip=request.remote_addr)
    services.audit.append(
        "token.use",
        actor=found.label,
        subject=f"{request.method} {request.path}"[:300],
        ip=request.remote_addr,
    )
    return found


@blueprint.get("/api/3")
def api_version() -> Response:
    return jsonify({"version": 3})


@blueprint.route("/api/3/action/<name>", methods=["GET", "POST"])
@blueprint.route("/api/action/<name>", methods=["GET", "POST"])
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
    return jsonify({"help": f"{request.url_root}api/3/action/help_show?name={name}", **body})


def _run(found: Action, data: dict[str, Any]) -> Any:
    """One transaction; a refused action rolls back to a savepoint, so what was recorded
    on the way in (the token's use) is kept and nothing of the action is. A handler that
    returns a `CkanError` instead of raising it has its work committed."""
    writes = found.write or presented_token() is not None  # a token's use is audited
    with database().transaction() if writes else database().sessions() as session:
        services = access(session)
        caller = _caller(services)
        context = Context(session, caller, request.remote_addr, request.url_root, services)
        outcome, failed = _attempt(found, context, data)
    if failed:
        raise outcome
    return outcome


def _attempt(found: Action, context: Context, data: dict[str, Any]) -> tuple[Any, bool]:
    """(result, False), or (the refusal, True) with the action's work rolled back."""
    try:
        with context.session.begin_nested():
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
        data = json.loads(raw.decode("utf-8"))
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


# -- parameters -------------------------------------------------------------------------------
def integer(data: dict[str, Any], name: str, default: int, high: int | None = None) -> int:
    """A natural number parameter; above `high` it is capped, as CKAN caps rows."""
    raw = data.get(name)
    if raw is None or raw == "":
        return default
    try:
        if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError(raw)
        value = int(raw)
    except (TypeError, ValueError) as error:
        raise validation({name: ["应为整数 (Invalid integer)"]}) from error
    if value < 0:
        raise validation({name: ["不能为负数 (Must be a natural number)"]})
    return min(value, high) if high is not None else value


def boolean(data: dict[str, Any], name: str, default: bool = False) -> bool:
    raw = data.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("true", "1", "yes", "on")


def identifier(data: dict[str, Any], *names: str) -> str:
    """The first of `names` given (id, name …), as text; a Validation Error when none is."""
    for name in names:
        raw = data.get(name)
        if isinstance(raw, str | int) and not isinstance(raw, bool) and str(raw).strip():
            return str(raw).strip()
    raise validation({names[0]: ["此项必填 (Missing value)"]})


def listing(data: dict[str, Any], name: str) -> list[str] | None:
    """A list parameter: a list, a JSON list, or comma-separated text."""
    raw = data.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        stripped = raw.strip()
        if stripped.startswith("["):
            try:
                raw = json.loads(stripped)
            except ValueError as error:
                raise validation({name: ["不是有效的 JSON 列表 (Not a JSON list)"]}) from error
        else:
            raw = [part for part in stripped.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(v, str | int) for v in raw):
        raise validation({name: ["应为文本列表 (Must be a list of strings)"]})
    return [str(v).strip() for v in raw]


from . import ckan_actions, ckan_search, ckan_writes  # noqa: E402,F401  (registers the actions)
