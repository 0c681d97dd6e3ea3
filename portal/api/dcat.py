"""DCAT-AP exports of the catalog (`/catalog.ttl|jsonld|rdf`, `/dataset/<name>.ttl|…`) and
the DCAT-US `data.json`, for national aggregators that harvest DCAT."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from rdflib import Graph

from schemas import message, render

from .. import guard
from ..catalog.dcat_ap import catalog_graph, dataset_graph, serialize
from ..catalog.dcat_us import data_json
from ..catalog.errors import CatalogError
from ..guard import current_viewer
from ..hosts import external_base
from ..services import database, settings
from .dcat_params import BadParameters, parse_page_request
from .rest import problem, refused

blueprint = Blueprint("dcat", __name__)
# A token sent along (optional) that is refused: a problem document, as on /api/v1.
blueprint.register_error_handler(CatalogError, refused)
# Anyone may read the exports; a token (with `catalog:read`) makes them show its user
# the resource URLs the public may not see (disclosure.py): the department's own, or all.
READER = guard.token("catalog:read", optional=True)

# The extension decides the syntax: rdflib's name for it and its media type.
SYNTAXES = {
    "ttl": ("turtle", "text/turtle; charset=utf-8"),
    "jsonld": ("json-ld", "application/ld+json"),
    "rdf": ("xml", "application/rdf+xml; charset=utf-8"),
}
EXTENSIONS = "any(ttl, jsonld, rdf)"


@blueprint.get(f"/catalog.<{EXTENSIONS}:ext>")
@READER
def catalog_export(ext: str) -> Response:
    """A page of the public catalog; `page`, `page_size` and `modified_since` as queried."""
    try:
        page = parse_page_request(request.args)
    except BadParameters as error:
        return problem(400, "Bad request", render(error.errors), error.errors)
    base = base_url()
    with database().sessions() as session:
        graph = catalog_graph(session, base, page, f"{base}/catalog.{ext}", current_viewer())
    return _rdf(graph, ext)


@blueprint.get(f"/dataset/<name>.<{EXTENSIONS}:ext>")
@READER
def dataset_export(name: str, ext: str) -> Response:
    with database().sessions() as session:
        graph = dataset_graph(session, base_url(), name, current_viewer())
    if graph is None:  # unknown, withdrawn, or an entry the public may not see: all alike
        errors = {"name": [message(f"找不到数据集「{name}」", f"No dataset {name!r}.")]}
        return problem(404, "Not found", render(errors), errors)
    return _rdf(graph, ext)


@blueprint.get("/data.json")
@READER
def data_json_export() -> Response:
    with database().sessions() as session:
        body = data_json(
            session, base_url(), fallback_email=settings().mail_from, viewer=current_viewer()
        )
    response = jsonify(body)
    response.vary.add("Authorization")
    return response


def _rdf(graph: Graph, ext: str) -> Response:
    syntax, media_type = SYNTAXES[ext]
    response = Response(serialize(graph, syntax), content_type=media_type)
    response.vary.add("Authorization")
    return response


def base_url() -> str:
    """The portal's address (portal/hosts.py: never a Host of the client's choosing)."""
    return external_base()
