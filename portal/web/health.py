"""/healthz: is the database reachable and migrated, and how is search?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import migrate
from ..search import SearchUnavailable
from ..services import database, indexer, search_backend

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    db = database()
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
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
