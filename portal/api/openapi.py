"""The OpenAPI 3.1 document of REST v1, generated from the app's routes; served at
/api/v1/openapi.json and, readable, at /api/v1/docs.

Each route of the `api` blueprint is an operation. Its path, path arguments (their types
from the rule's converters) and methods come from the URL rule; its summary and
description from the view's docstring (the first paragraph, then the rest); its security
from the view's guard declaration (`portal/guard.py`); its tag, schemas and the problems
it adds from `@documented` beside the route (`documented.py`), the schemas being the
profile's (`schemas/`) and the API's own (`shapes.py`). There is no list of paths here.

OpenAPI 3.1, not 3.0: a bearer requirement names the token scope it needs, which 3.0
allows only for OAuth schemes. Schemathesis fuzzes the served document against the
running code (tests/interop/test_openapi.py).
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, Response, current_app, jsonify, render_template
from marshmallow import Schema
from werkzeug.routing import AnyConverter, FloatConverter, IntegerConverter, Rule

from schemas.access import ApplicationSchema

from .. import guard
from ..access import rights
from ..guard import Declared, Who
from . import shapes
from .documented import JSON, Content, Documentation, Reply, documentation, not_an_operation
from .rest import blueprint

OPENAPI_VERSION = "3.1.0"
INFO = {
    "title": "青岛市公共数据开放平台 API · Qingdao public-data portal",
    "version": "1",
    "description": (
        "REST API v1. Errors are RFC 9457 problem documents whose `errors` map "
        "fields to messages in Chinese and English. Authenticate with "
        "`Authorization: Bearer <token>` (see POST /tokens)."
    ),
}
TOKEN_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An API token (POST /tokens). An operation's requirement names the scope the "
        "token must carry; `grant:{grant_id}` is the scope of the grant in the path. "
        "The scopes (a write scope includes the reads named after it): "
        + "; ".join(
            f"`{name}`{' (write)' if scope.writes else ''}: {scope.what}"
            + (f", includes {', '.join(scope.includes)}" if scope.includes else "")
            for name, scope in rights.SCOPES.items()
        )
        + "."
    ),
}
# Component names that differ from the class name without "Schema": the profile's
# application is what one submits; `shapes.Application` is what the API answers.
COMPONENT_NAMES: dict[type[Schema], str] = {ApplicationSchema: "NewApplication"}
# What a path argument means, by its name; a view's `@documented(path=…)` overrides.
PATH_ARGUMENTS = {
    "name": "Dataset name.",
    "code": "Zone code.",
    "resource_id": "Resource id (from the dataset's `resources`).",
    "application_id": "Application number.",
    "grant_id": "Grant number.",
    "token_id": "Token number.",
    "request_id": "Request number.",
}
PROBLEM_TEXT = {
    400: "Bad request",
    401: "No valid token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict (state or name)",
    422: "Invalid input: field errors in Chinese and English",
    429: "Rate limit or grant quota reached (see Retry-After)",
    503: "Search unavailable",
    507: "No room to store the file",
}
# Problems any operation may answer: a malformed request, invalid input, a rate limit.
EVERY_OPERATION = (400, 422, 429)
# And any that reads a token: one that is unknown or expired (401), refused (403).
TOKEN_READ = (401, 403)
PROBLEM_JSON = "application/problem+json"
# A rule's `<converter(arguments):name>`, as werkzeug writes it.
ARGUMENT = re.compile(r"<(?:[a-zA-Z_]\w*(?:\([^)]*\))?:)?(?P<name>[a-zA-Z_]\w*)>")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # the order of a path's operations


def component_name(schema: type[Schema] | Schema) -> str:
    cls = resolve_schema_cls(schema)
    return COMPONENT_NAMES.get(cls) or cls.__name__.removesuffix("Schema")


# -- the document -----------------------------------------------------------------------
def spec(app: Flask | None = None) -> dict[str, Any]:
    """The document of `app` (the current one by default), built once: routes are fixed
    once the app has served its first request."""
    app = app or current_app
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = build(app)
    return app.extensions["openapi"]


def build(app: Flask) -> dict[str, Any]:
    document = APISpec(
        title=INFO["title"],
        version=INFO["version"],
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin(schema_name_resolver=component_name)],
        info={"description": INFO["description"]},
        servers=[{"url": blueprint.url_prefix}],
    )
    document.components.security_scheme("token", TOKEN_SCHEME)
    document.components.schema(component_name(shapes.Problem), schema=shapes.Problem)
    for path, rules in _paths(app).items():
        operations = {
            method.lower(): operation(rule, app.view_functions[rule.endpoint], method)
            for method, rule in rules
        }
        document.path(path=path, operations=operations)
    return document.to_dict()


def _paths(app: Flask) -> dict[str, list[tuple[str, Rule]]]:
    """The blueprint's operations by OpenAPI path, in path order, each with its rule."""
    found: dict[str, list[tuple[str, Rule]]] = {}
    for rule in rest_rules(app):
        for method in operation_methods(rule):
            found.setdefault(openapi_path(rule), []).append((method, rule))
    return {
        path: sorted(found[path], key=lambda pair: METHODS.index(pair[0])) for path in sorted(found)
    }


def rest_rules(app: Flask) -> Iterator[Rule]:
    """The URL rules of the REST blueprint that are operations (not the document)."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] != blueprint.name:
            continue
        documented = documentation(app.view_functions[rule.endpoint])
        if documented is None or documented.listed:
            yield rule


def operation_methods(rule: Rule) -> list[str]:
    """Flask adds HEAD to a GET and answers OPTIONS itself: neither is an operation."""
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}, key=METHODS.index)


def openapi_path(rule: Rule) -> str:
    """`/api/v1/grants/<int(min=1):grant_id>` → `/grants/{grant_id}`."""
    path = rule.rule.removeprefix(blueprint.url_prefix or "")
    return ARGUMENT.sub(lambda found: f"{{{found['name']}}}", path)


# -- one operation -----------------------------------------------------------------------
def operation(rule: Rule, view: Callable[..., Any], method: str) -> dict[str, Any]:
    declared = guard.declaration(view)
    if declared is None:  # the guard refuses such a view; tests name it
        raise ValueError(f"{rule.endpoint}: declares no rights")
    documented = documentation(view) or Documentation("", {200: Content(JSON, None)})
    summary, description = docstring_parts(view)
    out: dict[str, Any] = {
        "operationId": operation_id(rule, method),
        "summary": summary,
        "parameters": path_parameters(rule, documented) + _query(documented),
        "responses": responses(documented, declared),
        "security": security(declared),
    }
    if description:
        out["description"] = description
    if documented.tag:
        out["tags"] = [documented.tag]
    if documented.body is not None:
        out["requestBody"] = {"required": True, "content": _content(documented.body)}
    if rights := _rights(declared):
        out["x-rights"] = rights
    if not out["parameters"]:
        del out["parameters"]
    return out


def operation_id(rule: Rule, method: str) -> str:
    """The view's name; with the method when the view answers several (ids are unique)."""
    name = rule.endpoint.partition(".")[2]
    return name if len(operation_methods(rule)) == 1 else f"{name}_{method.lower()}"


def docstring_parts(view: Callable[..., Any]) -> tuple[str, str]:
    """The first paragraph of the view's docstring, on one line, and the rest."""
    text = inspect.cleandoc(view.__doc__ or "")
    first, _blank, rest = text.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def path_parameters(rule: Rule, documented: Documentation) -> list[dict[str, Any]]:
    arguments = [found["name"] for found in ARGUMENT.finditer(rule.rule)]
    return [
        {
            "name": argument,
            "in": "path",
            "required": True,
            "description": documented.path.get(argument) or PATH_ARGUMENTS.get(argument, ""),
            # werkzeug keeps the converters it parsed from the rule only here
            "schema": converter_schema(rule._converters[argument]),
        }
        for argument in arguments
    ]


def converter_schema(converter: Any) -> dict[str, Any]:
    """The JSON schema of what a werkzeug converter matches."""
    if isinstance(converter, IntegerConverter | FloatConverter):
        schema: dict[str, Any] = {
            "type": "integer" if isinstance(converter, IntegerConverter) else "number"
        }
        if converter.min is not None:
            schema["minimum"] = converter.min
        elif not converter.signed:
            schema["minimum"] = 0
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if isinstance(converter, AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    return {"type": "string"}


def _query(documented: Documentation) -> list[dict[str, Any]]:
    # The marshmallow plugin expands a schema "in" query into one parameter per field.
    return [{"in": "query", "schema": documented.query}] if documented.query else []


def responses(documented: Documentation, declared: Declared) -> dict[str, Any]:
    out = {str(status): _answer(answer) for status, answer in documented.responses.items()}
    reads_token = declared.who in (Who.TOKEN, Who.TOKEN_IF_GIVEN)
    problems = {*EVERY_OPERATION, *(TOKEN_READ if reads_token else ()), *documented.errors}
    for status in sorted(problems):
        out[str(status)] = {
            "description": PROBLEM_TEXT.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": shapes.Problem}},
        }
    return dict(sorted(out.items()))


def _answer(answer: type[Schema] | Reply | Content) -> dict[str, Any]:
    if isinstance(answer, Content):
        if answer.schema is None:
            return {"description": answer.description}
        return {"description": answer.description, "content": _content(answer)}
    if isinstance(answer, Reply):
        return {"description": answer.description, "content": _content(answer.schema)}
    return {"description": "OK", "content": _content(answer)}


def _content(body: type[Schema] | Content) -> dict[str, Any]:
    if isinstance(body, Content):
        return {body.media_type: {"schema": body.schema}}
    return {JSON: {"schema": body}}


def security(declared: Declared) -> list[dict[str, list[str]]]:
    """The guard's declaration as security requirements: none for anyone; a bearer token
    naming the scope it must carry; both alternatives where a token is optional."""
    if declared.who is Who.ANYONE:
        return []
    requirement = {"token": [declared.scope] if declared.scope else []}
    if declared.who is Who.TOKEN:
        return [requirement]
    if declared.who is Who.TOKEN_IF_GIVEN:
        return [{}, requirement]
    raise ValueError(f"REST v1 takes tokens, not {declared.who.value}")


def _rights(declared: Declared) -> dict[str, str]:
    """The rules of access/rights.py the guard (`rule`) or the service (`object_rule`)
    checks beyond the scope: a client reads why a valid token may still get a 403."""
    named = {"rule": declared.rule, "object_rule": declared.object_rule}
    return {key: value for key, value in named.items() if value}


# -- its routes --------------------------------------------------------------------------
@blueprint.get("/openapi.json")
@guard.public
@not_an_operation
def openapi_json() -> Response:
    return jsonify(spec())


@blueprint.get("/docs")
@guard.public
@not_an_operation
def docs() -> str:
    return render_template("api_docs.html", spec=as_the_page_shows(spec()))


def as_the_page_shows(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the page (web/templates/api_docs.html) reads it: it marks an
    operation with any security "token required", so one that anyone may call (`{}`
    among its alternatives) goes without; it prints a type as it is, so 3.1's list of
    a nullable one (`["string", "null"]`) reads `string | null`."""
    shown = copy.deepcopy(document)
    for operations in shown["paths"].values():
        for op in operations.values():
            if {} in op.get("security", []):
                op["security"] = []
    for schema in shown["components"]["schemas"].values():
        for value in schema.get("properties", {}).values():
            if isinstance(value.get("type"), list):
                value["type"] = " | ".join(value["type"])
    return shown
