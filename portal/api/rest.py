"""The REST API v1's blueprint and its errors: RFC 9457 problem details with bilingual
field messages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import BadRequest, HTTPException

from schemas import render

from ..catalog.errors import CatalogError

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


def problem(status: int, title: str, detail: str, errors: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    422: "Invalid input",
    429: "Too many requests",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
    507: "Insufficient storage",
}


@blueprint.errorhandler(CatalogError)
def refused(error: CatalogError) -> Response:
    """A service refused the operation: its field errors, in Chinese and English."""
    response = problem(
        error.status, TITLES.get(error.status, "Error"), render(error.errors), error.errors
    )
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="qingdao-data-portal"'
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@blueprint.app_errorhandler(DataError)
def value_refused(error: DataError) -> Response:
    """A request value the database cannot take (PostgreSQL refuses a NUL character and
    numbers beyond a column's range): the request's fault, a 400, never a 500. For the
    whole app: the pages pass request values to the database too."""
    current_app.logger.warning("value refused by the database: %s", error.orig)
    detail = "请求中含有无法处理的值 / The request holds a value that cannot be processed."
    if request.path.startswith("/api/"):
        return problem(400, TITLES[400], detail)
    return BadRequest(detail).get_response()


def http_problem(error: HTTPException) -> Response:
    """Routing and protocol errors under /api/ as problem documents too (registered on
    the app: a blueprint's handlers do not see requests that matched none of its routes)."""
    status = error.code or 500
    response = problem(status, TITLES.get(status, error.name), error.description or error.name)
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response
