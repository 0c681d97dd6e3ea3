"""What a REST view says of itself for the OpenAPI document, beside its route.

The document (`openapi.py`) is generated from the app's routes: the path, its arguments
and methods from the rule, the summary from the docstring, the security from the guard's
declaration. What none of those say, the view declares with `@documented`: its tag, the
marshmallow schemas of its query, body and answers, the problems it may answer beyond the
ones every operation may (400, 422, 429; 401 and 403 where a token is read), and what a
path argument means where the shared descriptions (`openapi.PATH_ARGUMENTS`) do not fit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from marshmallow import Schema

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "openapi"
JSON = "application/json"


@dataclass(frozen=True)
class Content:
    """A body that is not a marshmallow schema's JSON, or an answer with no body (schema
    None); `description` describes it as an answer."""

    media_type: str
    schema: dict[str, Any] | None
    description: str = "OK"


BINARY = Content(
    "application/octet-stream", {"type": "string", "format": "binary"}, "The data, streamed."
)
CSV = Content("text/csv", {"type": "string"}, "CSV.")
NOT_MODIFIED = Content(JSON, None, "Not modified (ETag matched)")


@dataclass(frozen=True)
class Reply:
    """A JSON answer of a marshmallow schema, with a description of its own."""

    schema: type[Schema]
    description: str


Answer = type[Schema] | Reply | Content


@dataclass(frozen=True)
class Documentation:
    tag: str
    responses: Mapping[int, Answer]
    errors: tuple[int, ...] = ()
    query: type[Schema] | None = None
    body: type[Schema] | Content | None = None
    path: Mapping[str, str] = field(default_factory=dict)
    listed: bool = True


def documented(
    *,
    tag: str,
    responses: Mapping[int, Answer],
    errors: tuple[int, ...] = (),
    query: type[Schema] | None = None,
    body: type[Schema] | Content | None = None,
    path: Mapping[str, str] | None = None,
) -> Callable[[View], View]:
    """`responses`: the answers that are not problems, by status; `errors`: the statuses
    of the problem documents this operation adds; `path`: argument → description."""
    wrong = [s for s in responses if s >= 400] + [s for s in errors if s < 400]
    if wrong:  # a problem is named in `errors`, an answer in `responses`: fail at import
        raise ValueError(f"statuses in the wrong place: {wrong}")
    documentation = Documentation(tag, responses, errors, query, body, path or {})
    return lambda view: _attach(view, documentation)


def not_an_operation(view: View) -> View:
    """A route of the blueprint that the document leaves out: the document itself."""
    return _attach(view, Documentation("", {}, listed=False))


def _attach(view: View, documentation: Documentation) -> View:
    setattr(view, ATTRIBUTE, documentation)
    return view


def documentation(view: Callable[..., Any]) -> Documentation | None:
    return getattr(view, ATTRIBUTE, None)
