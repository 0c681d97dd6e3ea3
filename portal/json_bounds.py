"""JSON request bodies decoded within a nesting bound: Python's decoder raises
RecursionError (not ValueError) on `[[[[…` thousands deep, which became a 500, and a
document a few hundred deep would still exhaust the stack of code that walks it."""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

from schemas.bounds import MAX_JSON_DEPTH, too_deep


class TooDeep(ValueError):
    pass


def loads(text: str | bytes) -> Any:
    """`json.loads`, refusing nesting past MAX_JSON_DEPTH with a ValueError."""
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise TooDeep(f"nested more than {MAX_JSON_DEPTH} levels deep") from error
    if too_deep(value):
        raise TooDeep(f"nested more than {MAX_JSON_DEPTH} levels deep")
    return value


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with `loads` bounded: `request.get_json` answers 400 to a deep body."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
