"""GET /api/v1/search and /api/v1/suggest."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from .. import guard
from .. import search as search_service
from ..guard import current_viewer
from ..search import SearchUnavailable
from ..search.params import BadParameters, parse
from ..services import database, search_backend
from . import shapes
from .documented import documented
from .rest import blueprint, problem


@blueprint.get("/search")
@guard.token("catalog:read", optional=True)
@documented(
    tag="search", query=shapes.SearchArgs, responses={200: shapes.SearchResult}, errors=(503,)
)
def search() -> Response:
    """Search datasets (see the search section of the README)

    With a token, an officer also finds the department's entries the public does not
    see, the platform authority every entry."""
    try:
        query = parse(request.args, current_viewer())
    except BadParameters as error:
        return problem(400, "Bad search parameters", "See errors: 查询参数有误", error.errors)
    try:
        with database().sessions() as session:
            result = search_service.search(search_backend(), session, query)
    except SearchUnavailable as error:
        return problem(503, "Search unavailable", f"搜索暂不可用 / {error}")
    return jsonify(
        {
            "total": result.total,
            "page": query.page,
            "size": query.size,
            "pages": result.pages,
            "sort": result.query.sort,
            "results": [_item(item) for item in result.items],
            "facets": {
                name: [
                    {"value": f.value, "label": f.label, "count": f.count, "selected": f.selected}
                    for f in values
                ]
                for name, values in result.facets.items()
            },
        }
    )


def _item(item: Any) -> dict[str, Any]:
    return {
        "name": item.name,
        "title": item.title,
        "highlight": {"title": str(item.title_html), "description": str(item.snippet_html)},
        "publisher": {"name": item.publisher, "title": item.publisher_title},
        "open_type": item.open_type,
        "grade": item.grade,
        "domain": item.domain,
        "zones": list(item.zones),
        "formats": list(item.formats),
        "modified": item.modified.isoformat() if item.modified else None,
        "score": item.score,
    }


@blueprint.get("/suggest")
@guard.token("catalog:read", optional=True)
@documented(
    tag="search", query=shapes.SuggestArgs, responses={200: shapes.Suggestions}, errors=(503,)
)
def suggest() -> Response:
    """Title suggestions"""
    text = (request.args.get("q") or "").strip()
    if len(text) > 100:
        return problem(
            400,
            "Bad parameter",
            "q is too long / 输入过长",
            {"q": [{"zh": "不能超过 100 个字符", "en": "At most 100 characters."}]},
        )
    if not text:
        return jsonify({"suggestions": []})
    try:
        with database().sessions() as session:
            found = search_service.suggest(search_backend(), session, text, current_viewer())
    except SearchUnavailable as error:
        return problem(503, "Search unavailable", f"搜索暂不可用 / {error}")
    return jsonify({"suggestions": found})
