"""/healthz: is the database reachable and migrated, and how is search?"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .. import guard, migrate
from ..search import SearchUnavailable
from ..services import database, indexer, search_backend

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
@guard.public
def healthz():  # type: ignore[no-untyped-def]
    db = database()
    try:
        db.ping()
        revision = migrate.current_revision(db.engine)
        head = migrate.head_revision(db.engine)
        status = "ok" if revision == head else "needs-migration"
        db_report = {"status": status, "backend": db.engine.dialect.name, "revision": revision}
    except SQLAlchemyError as error:
        db_report = {"status": "error", "error": type(error).__name__}
    backend = search_backend()
    try:
        search_report = {
            "status": "ok",
            "backend": backend.name,
            "documents": backend.count(),
            "pending_changes": indexer().pending(),  # catalog writes not yet searchable
        }
    except SearchUnavailable as error:
        search_report = {"status": "unavailable", "backend": backend.name, "error": str(error)}
    # Search down degrades the portal (writes queue in the outbox); the database down stops it.
    healthy = db_report["status"] == "ok"
    body = {"status": "ok" if healthy else "error", "database": db_report, "search": search_report}
    return jsonify(body), 200 if healthy else 503


# The browser asks every site for /favicon.ico; answer with the portal's mark rather
# than a 404 in every visitor's console.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#0b5cab"/>'
    '<text x="16" y="23" font-size="18" text-anchor="middle" fill="#fff">青</text></svg>'
)


@blueprint.get("/favicon.ico")
@guard.public
def favicon() -> Response:
    response = Response(FAVICON, mimetype="image/svg+xml")
    response.cache_control.max_age = 7 * 24 * 3600
    return response
