"""/healthz: is the database reachable and migrated, and how is search?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .. import migrate
from ..services import database

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
    # The search index arrives with issue 3; until then there is nothing to check.
    search_report = {"status": "disabled", "backend": None}
    healthy = db_report["status"] == "ok"
    body = {"status": "ok" if healthy else "error", "database": db_report, "search": search_report}
    return jsonify(body), 200 if healthy else 503
