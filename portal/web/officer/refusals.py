"""How the officer's pages show a service's refusal: as the page's status, or as messages
that name the field they are about."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort

from schemas import Message, message

from ...catalog.errors import CatalogError, NotFound


def refuse_page(refused: CatalogError) -> None:
    """A refusal that is about the page, not the data: its status."""
    if isinstance(refused, NotFound):
        abort(404)
    if refused.status == 403:
        abort(403)


def named(path: str, msg: Message | str) -> Message:
    """A message about a field the page has no input for, with the field's name."""
    text = msg if isinstance(msg, Mapping) else message(str(msg), str(msg))
    return message(f"{path}：{text['zh']}", f"{path}: {text['en']}")
