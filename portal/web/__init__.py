"""Server-rendered pages: home, dataset, zone and department pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from schemas import vocab

from ..catalog import NotFound
from ..catalog.queries import counts_by, dataset_page
from ..services import catalog, database, settings

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static")


@blueprint.app_template_filter("label")
def label(code: str | None, vocabulary: str, lang: str = "zh") -> str:
    if not code:
        return ""
    try:
        return vocab(vocabulary).label(code, lang)
    except KeyError:
        return code


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@blueprint.get("/")
def home() -> str:
    with database().sessions() as session:
        service = catalog(session, "web")
        zones = service.zones.all()
        zone_counts = service.zones.dataset_counts()
        page = dataset_page(session, number=_page_number(), size=settings().page_size)
        by_open_type = counts_by(session, "open_type")
        return render_template(
            "home.html", zones=zones, zone_counts=zone_counts, page=page, by_open_type=by_open_type
        )


@blueprint.get("/dataset/<name>")
def dataset(name: str) -> str:
    with database().sessions() as session:
        try:
            ds = catalog(session, "web").datasets.get(name)
        except NotFound:
            abort(404)
        if ds.state != "active" or not ds.metadata_public:
            abort(404)
        history = catalog(session, "web").datasets.history(name)
        return render_template("dataset.html", ds=ds, history=history)


@blueprint.get("/zone/<code>")
def zone(code: str) -> str:
    with database().sessions() as session:
        found = catalog(session, "web").zones.find(code)
        if found is None:
            abort(404)
        page = dataset_page(session, number=_page_number(), size=settings().page_size, zone=code)
        return render_template("zone.html", zone=found, page=page)


@blueprint.get("/organization/<name>")
def organization(name: str) -> str:
    with database().sessions() as session:
        found = catalog(session, "web").organizations.find(name)
        if found is None:
            abort(404)
        page = dataset_page(
            session, number=_page_number(), size=settings().page_size, publisher=name
        )
        return render_template("organization.html", org=found, page=page)
