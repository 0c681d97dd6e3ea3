"""The pages' blueprint and the helpers every template uses (filters and globals)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, request, url_for

from schemas import vocab

from .. import guard
from .language import page_language

STATIC = Path(__file__).parent / "static"
ONE_YEAR = 365 * 24 * 3600


class _Blueprint(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int | None:
        # A versioned URL (?v=<hash>, see `asset`) never changes content: let slow
        # connections keep it; an unversioned one is revalidated as before.
        return ONE_YEAR if request.args.get("v") else super().get_send_file_max_age(filename)

    @guard.public  # the pages' style sheets, scripts and images (the view of web.static)
    def send_static_file(self, filename: str) -> Response:
        return super().send_static_file(filename)


# "/assets", not "/static": the app's own /static rule (an empty folder) would win.
blueprint = _Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


@blueprint.app_template_filter("label")
def label(code: str | None, vocabulary: str, lang: str | None = None) -> str:
    """A vocabulary code's label in the page's language."""
    if not code:
        return ""
    try:
        return vocab(vocabulary).label(code, lang or page_language())
    except KeyError:
        return code


@blueprint.app_template_filter("localized")
def title_of(entity: Any) -> str:
    """The English title of a dataset, department, zone or scenario on an English page,
    when it has one; the (Chinese) title otherwise."""
    english = getattr(entity, "title_en", None)
    return english if english and page_language() == "en" else entity.title


@blueprint.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """Bytes as people read them: 1.5 MB (the same units in both languages)."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""  # unreachable


@blueprint.app_template_filter("number")
def number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


@blueprint.app_template_global()
def list_separator() -> str:
    """Between the items of a list as the page's language writes them: 甲、乙 / a, b."""
    return "、" if page_language() == "zh" else ", "


@blueprint.app_template_filter("enumerate_list")
def enumerate_list(items: Iterable[Any]) -> str:
    return list_separator().join(str(i) for i in items)


@blueprint.app_template_global()
def asset(filename: str) -> str:
    """The URL of a static file with its content hash, so it can be cached for a year."""
    return url_for("web.static", filename=filename, v=_digest(filename))


@cache
def _digest(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:10]


@blueprint.app_template_global()
def uid(prefix: str = "id") -> str:
    """An id unique within the page (charts and other repeated parts need one each)."""
    counter = g.setdefault("_uid", itertools.count(1))
    return f"{prefix}-{next(counter)}"


@blueprint.app_template_global()
def current_url(**changes: Any) -> str:
    """This page's URL with some query parameters replaced (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value if isinstance(value, list) else [str(value)]
    query = urlencode(args, doseq=True)
    return request.path + (f"?{query}" if query else "")


@blueprint.app_template_global()
def switch_language_url() -> str:
    """The link to the other language, back to this page (without a `lang` that would
    override the choice)."""
    other = "en" if page_language() == "zh" else "zh"
    back = current_url(lang=None) if request.method == "GET" else request.path
    return url_for("web.set_language", code=other, next=back)
