"""The CKAN Action API v3 (`/api/3/action/<name>`, `/api/action/<name>`), so that CKAN
clients (ckanapi, harvesters of other portals) work against the portal unchanged.

Every answer is CKAN's envelope: `{"help", "success": true, "result"}`, or `{"help",
"success": false, "error": {"__type", "message", <field>: [...]}}` with CKAN's statuses
(404 Not Found Error, 409 Validation Error, 403 Authorization Error, 400 for an unknown
action, a bad body or a bad search query). Reads take GET (query arguments) or POST;
writes POST only, with a JSON or form-encoded body.

Callers send an API token the CKAN way, bare in `Authorization` or `X-CKAN-API-Key`
(`Bearer <token>` works too). This module holds what the actions share (the context
they get, CKAN's errors, parameter parsing); the actions live in `ckan_actions.py`
(reads), `ckan_search.py` (package_search) and `ckan_writes.py` (writes), the table of
them with the rights each needs and the route that dispatches in `ckan_dispatch.py`, the
mapping between CKAN's dicts and our profile in `ckan_mapping.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from schemas import message
from schemas.bounds import MAX_NUMBER

from ..access import Access, Caller, FileStore
from ..catalog.disclosure import Disclosure
from ..catalog.errors import Forbidden, Unauthenticated
from ..models import Dataset, Resource, User
from ..visibility import PUBLIC, Viewer, may_read, viewer_of

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

    @cached_property
    def disclosure(self) -> Disclosure:
        """Resource URLs as the caller may see them (the upstream ones of non-open data:
        its department's officers and the authority only)."""
        return Disclosure(self.viewer(), self.root)

    def resource_link(self, dataset: Dataset, resource: Resource) -> tuple[str | None, bool]:
        """The url to show for `resource`, and whether it is the portal's own download of
        a file it keeps (CKAN's "upload")."""
        shown = self.disclosure.url(dataset, resource)
        if shown is not None:
            return shown, False
        download = self.download_url(dataset, resource)
        return download, download is not None

    def download_url(self, dataset: Dataset, resource: Resource) -> str | None:
        """The portal's own address of a kept file of an open dataset, if there is one."""
        if dataset.open_type != "unconditional" or dataset.state != "active":
            return None
        if self.files.stored(resource) is None:
            return None
        path = url_for("api.open_data", name=dataset.name, resource_id=resource.id)
        return self.root.rstrip("/") + path


Handler = Callable[[Context, dict[str, Any]], Any]


@dataclass(frozen=True)
class Action:
    """An entry of the action table (`ckan_dispatch.ACTIONS`): the handler, whether it
    writes (POST only), and who may call it, stated for every action: the token scope a
    caller must hold and the rule of `access/rights.py` its user must satisfy (both None:
    anyone, signed or not)."""

    handler: Handler
    write: bool = False
    scope: str | None = field(kw_only=True)
    right: str | None = field(kw_only=True)


# -- parameters -------------------------------------------------------------------------------
# Bounds on list parameters (facet.field, fq_list, organizations …): each list item costs
# the engine a facet, a clause or a lookup.
MAX_LIST_ITEMS = 50
MAX_ITEM_LENGTH = 200


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
    if value > MAX_NUMBER:  # more than any page or offset; a database integer overflows
        raise validation({name: [f"不能大于 {MAX_NUMBER} (At most {MAX_NUMBER})"]})
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
            except (ValueError, RecursionError) as error:
                raise validation({name: ["不是有效的 JSON 列表 (Not a JSON list)"]}) from error
        else:
            raw = [part for part in stripped.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(v, str | int) for v in raw):
        raise validation({name: ["应为文本列表 (Must be a list of strings)"]})
    if len(raw) > MAX_LIST_ITEMS or any(len(str(v)) > MAX_ITEM_LENGTH for v in raw):
        raise validation(
            {
                name: [
                    f"最多 {MAX_LIST_ITEMS} 项，每项不超过 {MAX_ITEM_LENGTH} 个字符 "
                    f"(At most {MAX_LIST_ITEMS} items of {MAX_ITEM_LENGTH} characters)"
                ]
            }
        )
    return [str(v).strip() for v in raw]
