"""Server-rendered pages: home, dataset, zone and department pages."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from schemas import vocab

from ..catalog import NotFound
from ..catalog.queries import counts_by, dataset_page
from ..search import PUBLIC, SearchUnavailable, search
from ..search.params import BadParameters, parse
from ..services import catalog, database, search_backend, settings
from .language import page_language

blueprint = Blueprint("web", __name__, template_folder="templates", static_folder="static")


@blueprint.app_template_filter("label")
def label(code: str | None, vocabulary: str, lang: str | None = None) -> str:
    """A vocabulary code's label in the page's language."""
    if not code:
        return ""
    try:
        return vocab(vocabulary).label(code, lang or page_language())
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


@blueprint.get("/search")
def search_page() -> str | tuple[str, int]:
    try:
        query = parse(request.args, PUBLIC)
    except BadParameters as error:
        return render_template(
            "search.html", result=None, errors=error.errors, args=request.args
        ), 400
    try:
        with database().sessions() as session:
            result = search(search_backend(), session, query)
    except SearchUnavailable:
        return render_template("search.html", result=None, unavailable=True, args=request.args), 503
    return render_template("search.html", result=result, args=request.args, facet_url=_facet_url)


def _facet_url(name: str, value: str) -> str:
    """The current search with `value` of facet `name` toggled, back on page 1."""
    args = request.args.to_dict(flat=False)
    values = args.get(name, [])
    args[name] = [v for v in values if v != value] if value in values else [*values, value]
    args.pop("page", None)
    return url_for("web.search_page", **args)


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


from . import accounts, i18n, workspace  # noqa: E402,F401  (registers the routes)
