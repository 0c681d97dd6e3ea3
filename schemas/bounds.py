"""Bounds on input text checked before any pattern runs, and the e-mail check.

A regular expression costs time that grows with its input, sometimes faster than linearly;
every text field is held to a length first, so no pattern ever sees more than its field
allows. The e-mail pattern itself is linear: its domain labels exclude the dot that
separates them, so there is one way to split an address and nothing to backtrack over.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_EMAIL = 254  # RFC 5321's limit on a forward path
MAX_PASSWORD = 1000  # hashing costs the same, but no megabyte "passwords"
MAX_NAME = 200  # display and enterprise names
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")


def too_long(value: Any, limit: int) -> bool:
    """Whether `value` (any type, as given) is text longer than `limit` characters."""
    return isinstance(value, str) and len(value) > limit


def is_email(value: Any) -> bool:
    """An address of the form local@domain.tld, at most MAX_EMAIL characters."""
    if not isinstance(value, str) or len(value) > MAX_EMAIL:
        return False
    return EMAIL.match(value.strip()) is not None


MAX_JSON_DEPTH = 64  # arrays and objects within each other; a catalog record needs 5
MAX_NUMBER = 2**31 - 1  # the largest page, offset or count a query parameter may give


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether decoded JSON nests arrays and objects more than `limit` deep (checked
    without recursion, so a hostile document cannot exhaust the stack here either)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


class JsonTooDeep(ValueError):
    pass


def load_json(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing nesting past `limit` with JsonTooDeep (a ValueError):
    Python's decoder raises RecursionError on `[[[[…` thousands deep, and a document a few
    hundred deep would still exhaust the stack of code that walks it (rdflib's JSON-LD
    parser, our mappers)."""
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise JsonTooDeep(f"nested more than {limit} levels deep") from error
    if too_deep(value, limit):
        raise JsonTooDeep(f"nested more than {limit} levels deep")
    return value
