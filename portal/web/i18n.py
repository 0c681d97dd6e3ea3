"""Chinese by default, English on request (Flask-Babel).

The templates' source language is Chinese (`_("搜索")`); `translations/en` holds the
English. The visitor's choice travels in a cookie set by `/lang/<code>`; `?lang=en` on
any page works too (a shared link keeps its language). Messages made by the services
come as {"zh", "en"} pairs; `bi(message)` shows the half that fits the page.
"""

from __future__ import annotations

from flask import Flask, redirect, request
from flask_babel import Babel
from werkzeug.wrappers import Response

from .. import guard
from .language import COOKIE, LANGUAGES, bi, page_language, select_locale
from .site import blueprint

ONE_YEAR = 365 * 24 * 3600


def init_i18n(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        default_locale="zh",
        default_translation_directories="web/translations",
    )
    app.jinja_env.globals.update(bi=bi, page_language=page_language, LANGUAGES=LANGUAGES)


@blueprint.get("/lang/<code>")
@guard.public
def set_language(code: str) -> Response:
    """Switch the language and go back where the visitor was."""
    from .accounts import safe_next

    target = safe_next(request.args.get("next")) or "/"
    response = redirect(target)
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=ONE_YEAR, samesite="Lax", httponly=True)
    return response
