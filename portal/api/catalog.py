"""Catalog resources of REST v1: datasets, organizations (departments), zones.

Lists are paged by an opaque cursor (`next_cursor`, also in a `Link: rel="next"` header),
so a client walking 100k datasets never skips or repeats one while the catalog changes.
Single resources carry an ETag; `If-None-Match` with it answers 304 without a body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from flask import Response, jsonify, request, url_for

from schemas import DatasetSchema, OrganizationSchema, ZoneSchema, message

from .. import guard
from ..catalog import listings
from ..catalog.disclosure import Disclosure
from ..catalog.documents import organization_document, zone_document
from ..catalog.errors import Invalid, NotFound
from ..guard import current_viewer
from ..services import catalog, database
from ..visibility import PUBLIC
from . import shapes
from .dcat import base_url
from .documented import NOT_MODIFIED, documented
from .rest import blueprint

MAX_LIMIT = 500


def _limit() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid(
            {"limit": [message(f"limit 为 1–{MAX_LIMIT} 的整数", f"limit is 1–{MAX_LIMIT}.")]}
        )
    return int(raw)


def _name_arg(name: str) -> str | None:
    """A query parameter compared with stored names: control characters are in none (and
    PostgreSQL refuses a NUL outright), so they are named as an error."""
    value = request.args.get(name)
    if value and any(ord(c) < 0x20 for c in value):
        refused = message(f"{name} 含有控制字符", f"{name} holds control characters.")
        raise Invalid({name: [refused]})
    return value


def encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
        if not isinstance(after, str):
            raise ValueError(after)
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Invalid(
            {
                "cursor": [
                    message("cursor 无效：请使用上一页返回的值", "Not a cursor this API gave.")
                ]
            }
        ) from None


def _page(items: list[dict[str, Any]], key: str, last: str | None, endpoint: str) -> Response:
    cursor = encode_cursor(last) if last is not None else None
    response = jsonify({key: items, "next_cursor": cursor})
    if cursor is not None:
        args = {**request.args.to_dict(), "cursor": cursor}
        response.headers["Link"] = f'<{url_for(endpoint, **args)}>; rel="next"'
    response.vary.add("Authorization")
    return response


def _with_etag(document: dict[str, Any]) -> Response:
    tag = hashlib.sha256(
        json.dumps(document, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:32]
    fresh = request.if_none_match.contains(tag)
    response = Response(status=304) if fresh else jsonify(document)
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"  # may be stored, but revalidated
    response.vary.add("Authorization")  # resource URLs differ per caller
    return response


@blueprint.get("/datasets")
@guard.token("catalog:read", optional=True)  # a token: its user's view of resource URLs
@documented(tag="catalog", query=shapes.DatasetListArgs, responses={200: shapes.DatasetPage})
def list_datasets() -> Response:
    """Public datasets, in name order

    Optionally of one department or zone; paged by `next_cursor`."""
    limit = _limit()
    after = decode_cursor(request.args.get("cursor"))
    publisher, zone = _name_arg("publisher"), _name_arg("zone")
    disclosure = Disclosure(current_viewer(), base_url())
    with database().sessions() as session:
        rows = listings.public_datasets(
            session, limit + 1, after=after, publisher=publisher, zone=zone
        )
        items = [disclosure.document(d) for d in rows[:limit]]
    last = rows[limit - 1].name if len(rows) > limit else None
    return _page(items, "datasets", last, "api.list_datasets")


@blueprint.get("/datasets/<name>")
@guard.token("catalog:read", optional=True)  # a token: its user's view of resource URLs
@documented(tag="catalog", responses={200: DatasetSchema, 304: NOT_MODIFIED}, errors=(404,))
def show_dataset(name: str) -> Response:
    """One dataset (ETag; If-None-Match → 304)"""
    disclosure = Disclosure(current_viewer(), base_url())
    with database().sessions() as session:
        found = listings.public_dataset(session, name)
        if found is None:
            raise NotFound.entity("数据集", "dataset", name)
        return _with_etag(disclosure.document(found))


@blueprint.get("/organizations")
@guard.public
@documented(tag="catalog", query=shapes.PageArgs, responses={200: shapes.OrganizationPage})
def list_organizations() -> Response:
    """Departments"""
    limit = _limit()
    after = decode_cursor(request.args.get("cursor"))
    with database().sessions() as session:
        rows = listings.organizations_after(session, limit + 1, after)
        items = [organization_document(o) for o in rows[:limit]]
    last = rows[limit - 1].name if len(rows) > limit else None
    return _page(items, "organizations", last, "api.list_organizations")


@blueprint.get("/organizations/<name>")
@guard.public
@documented(
    tag="catalog",
    responses={200: OrganizationSchema, 304: NOT_MODIFIED},
    errors=(404,),
    path={"name": "Department name."},
)
def show_organization(name: str) -> Response:
    """One department"""
    with database().sessions() as session:
        return _with_etag(organization_document(catalog(session, "api").organizations.get(name)))


@blueprint.get("/zones")
@guard.public
@documented(tag="catalog", responses={200: shapes.ZoneList})
def list_zones() -> Response:
    """Zones (专区)"""
    with database().sessions() as session:
        service = catalog(session, "api").zones
        counts = service.dataset_counts(PUBLIC)
        zones = [
            {**zone_document(z), "dataset_count": counts.get(z.code, 0)} for z in service.all()
        ]
    return jsonify({"zones": zones})


@blueprint.get("/zones/<code>")
@guard.public
@documented(tag="catalog", responses={200: ZoneSchema, 304: NOT_MODIFIED}, errors=(404,))
def show_zone(code: str) -> Response:
    """One zone"""
    with database().sessions() as session:
        return _with_etag(zone_document(catalog(session, "api").zones.get(code)))
