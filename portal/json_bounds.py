"""JSON request bodies decoded within a nesting bound: Python's decoder raises
RecursionError (not ValueError) on `[[[[…` thousands deep, which became a 500, and a
document a few hundred deep would still exhaust the stack of code that walks it."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from schemas.bounds import JsonTooDeep as TooDeep
from schemas.bounds import load_json as loads

__all__ = ["BoundedJSONProvider", "TooDeep", "loads"]


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with `loads` bounded: `request.get_json` answers 400 to a deep body."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)
