"""The page's language: Chinese unless the visitor chose English (`?lang=en`, or the
cookie set by `/lang/en`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from flask_babel import get_locale

LANGUAGES = ("zh", "en")
COOKIE = "lang"


def select_locale() -> str:
    asked = request.args.get("lang") or request.cookies.get(COOKIE)
    return asked if asked in LANGUAGES else "zh"


def page_language() -> str:
    return str(get_locale() or "zh")


def bi(text: Any) -> str:
    """One side of a bilingual {"zh", "en"} message; anything else as it is."""
    if isinstance(text, Mapping) and "zh" in text:
        return str(text.get(page_language(), text["zh"]))
    return "" if text is None else str(text)
