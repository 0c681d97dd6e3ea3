"""The Qingdao public-data portal: a Flask application over the catalog services.

`create_app(config)` builds it in two stages, as uData does: settings first, then the
extensions (database, grade policy) and the blueprints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from schemas import load_policy

from .config import Settings, load_settings
from .db import Database
from .search import make_backend


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["portal.settings"] = settings
    app.extensions["portal.db"] = Database(settings.sqlalchemy_url, echo=settings.sql_echo)
    app.extensions["portal.policy"] = load_policy(settings.grade_policy or None)
    app.extensions["portal.search"] = make_backend(settings)

    from .api import blueprint as api_blueprint
    from .web import blueprint as web_blueprint
    from .web.health import blueprint as health_blueprint

    app.register_blueprint(health_blueprint)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(web_blueprint)
    return app


__all__ = ["create_app"]
