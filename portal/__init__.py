"""The Qingdao public-data portal: a Flask application over the catalog services.

`create_app(config)` builds it in two stages, as uData does: settings first, then the
extensions (database, grade policy) and the blueprints.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from schemas import load_policy

from .config import Settings, load_settings
from .db import Database
from .headers import init_security_headers
from .hosts import init_hosts
from .json_bounds import BoundedJSONProvider
from .outbound import Outbound
from .search import make_backend


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    settings = config if isinstance(config, Settings) else load_settings(config)
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.json = BoundedJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.resolved_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=settings.max_request_bytes,  # uploads: see _limit_bodies
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["portal.settings"] = settings
    app.extensions["portal.db"] = Database(settings.sqlalchemy_url, echo=settings.sql_echo)
    app.extensions["portal.policy"] = load_policy(settings.grade_policy or None)
    app.extensions["portal.search"] = make_backend(settings)
    app.extensions["portal.outbound"] = Outbound.from_settings(settings)

    from .api import blueprint as api_blueprint
    from .api.ckan_dispatch import blueprint as ckan_blueprint
    from .api.dcat import blueprint as dcat_blueprint
    from .web import blueprint as web_blueprint
    from .web.health import blueprint as health_blueprint

    app.register_blueprint(health_blueprint)
    app.register_blueprint(api_blueprint)
    app.register_blueprint(ckan_blueprint)
    app.register_blueprint(dcat_blueprint)
    app.register_blueprint(web_blueprint)
    init_hosts(app, settings)
    init_security_headers(app, https=settings.secure_cookies)
    _protect(app, settings)
    return app


CKAN_PATHS = ("/api/3/", "/api/action/")  # CKAN's own error envelope, not problem documents


def _protect(app: Flask, settings: Settings) -> None:
    """CSRF tokens on every form, rate limits, each endpoint's declared rights, and /api
    errors as problem documents. In this order: CSRF and the rate limits refuse before
    the rights guard runs, and the sign-in pages are wrapped in the login limit."""
    from .guard import init_guard
    from .web.accounts import init_accounts
    from .web.i18n import init_i18n

    _limit_bodies(app, settings)
    _require_csrf_tokens(app)
    _limit_rates(app, settings)
    init_accounts(app)
    init_i18n(app)
    init_guard(app)
    _retry_after_only_when_refused(app)
    _unavailable_as_503(app)
    _api_errors_as_problems(app)


def _limit_bodies(app: Flask, settings: Settings) -> None:
    """Every body is held to `max_request_bytes`, the upload routes to their own limits.
    Werkzeug refuses a larger Content-Length at once and stops a chunked body when it
    passes the limit (413), so nothing larger is ever read into memory."""
    from flask import request

    larger = {
        "api.upload_file": settings.max_file_bytes,
        # the form's other fields and the multipart framing come on top of the file
        "web.upload_catalog": settings.max_upload_bytes + 64 * 1024,
    }

    def limit() -> None:
        cap = larger.get(request.endpoint or "", settings.max_request_bytes)
        request.max_content_length = cap
        if request.content_length is None and "wsgi.input_terminated" in request.environ:
            # A chunked body: Werkzeug would cut it at the cap without a word (and the
            # truncated JSON or form would be misread); refuse it once it passes the cap.
            request.environ["wsgi.input"] = CappedInput(request.environ["wsgi.input"], cap)
            request.max_content_length = cap + 1

    # first of the hooks: CSRF checks and the limiter read the form
    app.before_request_funcs.setdefault(None, []).insert(0, limit)


class CappedInput(io.RawIOBase):
    """A request body stream that raises 413 once more than `cap` bytes have been read."""

    def __init__(self, stream: Any, cap: int) -> None:
        self.stream, self.cap, self.seen = stream, cap, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        from werkzeug.exceptions import RequestEntityTooLarge

        data = self.stream.read(len(buffer))
        self.seen += len(data)
        if self.seen > self.cap:
            raise RequestEntityTooLarge()
        buffer[: len(data)] = data
        return len(data)


def _require_csrf_tokens(app: Flask) -> None:
    """Every form of the pages carries a CSRF token; the APIs take tokens, never cookies."""
    from flask_wtf.csrf import CSRFProtect

    from .api import blueprint as api_blueprint
    from .api.ckan_dispatch import blueprint as ckan_blueprint

    csrf = CSRFProtect(app)
    for api in (api_blueprint, ckan_blueprint):
        csrf.exempt(api)


def _limit_rates(app: Flask, settings: Settings) -> None:
    """Requests per token and per IP over all of /api/, and sign-in attempts per IP (the
    limit is kept as `portal.login_limit` for the pages that take a password)."""
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from .api import blueprint as api_blueprint
    from .api.auth import rate_key
    from .api.ckan_dispatch import blueprint as ckan_blueprint

    limiter = Limiter(
        rate_key,
        app=app,
        storage_uri=settings.rate_limit_storage,
        headers_enabled=True,
        key_prefix="portal",
        # Redis down: each process counts in memory until it answers again, rather than
        # every request failing with a 500.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    # Shared limits: one budget over all of /api/ (a plain blueprint limit counts per route).
    for limit, key, scope in (
        (settings.api_rate_limit, rate_key, "api-key"),
        (settings.api_ip_rate_limit, get_remote_address, "api-ip"),
    ):
        if limit:
            shared = limiter.shared_limit(limit, scope=scope, key_func=key)
            shared(api_blueprint)
            shared(ckan_blueprint)
    app.extensions["portal.login_limit"] = limiter.shared_limit(
        settings.login_rate_limit, scope="login", key_func=get_remote_address, methods=["POST"]
    )
    for endpoint in ("api.create_token",):
        app.view_functions[endpoint] = app.extensions["portal.login_limit"](
            app.view_functions[endpoint]
        )


def _retry_after_only_when_refused(app: Flask) -> None:
    """Flask-Limiter puts Retry-After on every answer; it means "refused, wait" only on a
    429 (the limiter's own value) and a 503 (ours)."""

    def retry_after(response: Response) -> Response:
        if response.status_code == 503:
            response.headers["Retry-After"] = "5"
        elif response.status_code != 429:
            response.headers.pop("Retry-After", None)
        return response

    # after_request hooks run last-registered first; this one must see the limiter's headers
    app.after_request_funcs.setdefault(None, []).insert(0, retry_after)


def _unavailable_as_503(app: Flask) -> None:
    """The database is locked, gone or full, or the search engine is down: a clear 503
    that tells the visitor to retry, and the details in the log, not on the page."""
    from flask import request
    from sqlalchemy.exc import OperationalError

    from .api import problem
    from .search import SearchUnavailable

    @app.errorhandler(OperationalError)
    @app.errorhandler(SearchUnavailable)
    def unavailable(error: Exception):  # type: ignore[no-untyped-def]
        app.logger.error("service unavailable: %s", error, exc_info=error)
        detail = "服务暂时不可用，请稍后重试 / The service is briefly unavailable; retry soon."
        if request.path.startswith("/api/"):
            response = problem(503, "Service unavailable", detail)
        else:
            response = app.response_class(
                f"<!doctype html><meta charset=utf-8><title>503</title><p>{detail}</p>",
                status=503,
                mimetype="text/html",
            )
        response.headers["Retry-After"] = "5"
        return response


def _api_errors_as_problems(app: Flask) -> None:
    """HTTP errors under /api/ as problem documents (RFC 9457); CKAN's routes keep their own
    envelope, and the pages their error pages."""
    from flask import request
    from werkzeug.exceptions import HTTPException

    from .api import http_problem

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if request.path.startswith("/api/") and not request.path.startswith(CKAN_PATHS):
            return http_problem(error)
        return error


__all__ = ["create_app"]
