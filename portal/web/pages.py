"""The public pages: home, search, dataset, zone and department.

Figures over the whole catalog (the charts, the newest datasets) come from GROUP BY and
LIMIT queries in `catalog/statistics.py`, kept until the catalog changes; the search page
asks the search engine, which counts its facets itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import Session

from schemas import vocab
from schemas.quality import _config as quality_config
from schemas.quality import bands

from .. import guard
from ..catalog import NotFound, popularity, queries, revisions
from ..catalog.datasets import ENTITY as DATASET
from ..catalog.disclosure import Disclosure
from ..catalog.statistics import (
    Breakdown,
    Department,
    Listed,
    Scope,
    breakdown,
    departments,
    most_used,
    newest,
    remembered,
    zone_counts,
)
from ..db import Database
from ..search import SearchUnavailable, search
from ..search.params import BadParameters, parse
from ..search.query import FACETS, MAX_OFFSET
from ..services import access, catalog, database, policy, search_backend
from ..visibility import PUBLIC, may_find, viewer_of
from .language import page_language
from .site import blueprint

log = logging.getLogger(__name__)

# The order facets are offered in: where a visitor starts, then the finer ones (and any
# facet the engine gains later, last).
_PREFERRED = (
    "zones",
    "domain",
    "publisher",
    "open_type",
    "grade",
    "formats",
    "update_frequency",
    "quality_band",
)
FACET_ORDER = (*_PREFERRED, *(f for f in FACETS if f not in _PREFERRED))
FACETS_SHOWN = 8  # values per facet before "more"
FACETS_MORE = 30  # and under "more": a long tail (260 departments) is for the search box
HISTORY_SHOWN = 20  # revisions on a dataset page
NEWEST_SHOWN = 10  # datasets listed on a zone or department page


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: what it counts, how many, and the search that lists them."""

    label: str
    count: int
    href: str


def _search_url(**filters: str) -> str:
    return url_for("web.search_page", **filters)


def vocabulary_bars(
    found: dict[str, int],
    vocabulary: str,
    facet: str,
    *,
    by_count: bool = False,
    within: dict[str, str] | None = None,
) -> list[Bar]:
    """Bars for the codes of a vocabulary, labelled in the page's language, in the
    vocabulary's order (openness, grades) or most first (domains)."""
    terms = vocab(vocabulary)
    lang = page_language()
    position = {code: i for i, code in enumerate(terms.codes)}
    if by_count:
        codes = sorted(found, key=lambda c: (-found[c], position.get(c, len(position))))
    else:
        codes = sorted(found, key=lambda c: position.get(c, len(position)))
    bars = []
    for code in codes:
        try:
            text = terms.label(code, lang)
        except KeyError:  # a code the vocabulary has since dropped
            text = code
        bars.append(Bar(text, found[code], _search_url(**(within or {}), **{facet: code})))
    return bars


def capped(bars: list[Bar], within: dict[str, str] | None = None, limit: int = 10) -> list[Bar]:
    """The first `limit - 1` bars and one for the rest, so a chart stays short on a phone."""
    if len(bars) <= limit:
        return bars
    rest = bars[limit - 1 :]
    label = ngettext("其余 %(num)s 项", "其余 %(num)s 项", len(rest))
    everything = Bar(label, sum(b.count for b in rest), _search_url(**(within or {})))
    return [*bars[: limit - 1], everything]


def department_bars(found: list[Department]) -> list[Bar]:
    english = page_language() == "en"
    return [
        Bar(
            (d.title_en if english and d.title_en else d.title),
            d.count,
            _search_url(publisher=d.name),
        )
        for d in found
    ]


# -- home -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HomeFigures:
    counts: Breakdown
    zones: dict[str, int]
    departments: list[Department]
    newest: list[Listed]
    popular: list[Listed]

    @property
    def total(self) -> int:
        return self.counts.total


def home_figures(session: Session) -> HomeFigures:
    counts = breakdown(session)
    return HomeFigures(
        counts=counts,
        zones=zone_counts(session),
        departments=departments(session, counts.publisher),
        newest=newest(session),
        popular=most_used(session),
    )


def warm_up(db: Database) -> threading.Thread:
    """Work out the home page's figures in the background as a server starts, so its
    first visitor does not wait for a scan of a large catalog."""

    def run() -> None:
        try:
            with db.sessions() as session:
                remembered(db, session, ("home",), home_figures)
        except Exception:  # the first visit works them out instead
            log.exception("could not work out the home page's figures at start-up")

    thread = threading.Thread(target=run, name="portal-warm-up", daemon=True)
    thread.start()
    return thread


@blueprint.get("/")
@guard.public
def home() -> str:
    with database().sessions() as session:
        order = vocab("zones").codes  # 交通、养老、乡村振兴、港航, as the plan lists them
        zones = sorted(
            catalog(session, "web").zones.all(),
            key=lambda z: order.index(z.code) if z.code in order else len(order),
        )
        figures = remembered(database(), session, ("home",), home_figures)
        counts = figures.counts
        charts = [
            (
                _("按领域"),
                capped(vocabulary_bars(counts.domain, "domains", "domain", by_count=True)),
            ),
            (_("按开放属性"), vocabulary_bars(counts.open_type, "open_types", "open_type")),
            (_("按数据分级"), vocabulary_bars(counts.grade, "grades", "grade")),
            (_("数据集最多的部门"), department_bars(figures.departments)),
        ]
        return render_template("home.html", zones=zones, figures=figures, chart_data=charts)


# -- search ---------------------------------------------------------------------------------
@blueprint.get("/search")
@guard.public
def search_page() -> str | tuple[str, int]:
    context: dict[str, Any] = {"args": request.args, "facet_order": FACET_ORDER}
    try:
        query = parse(request.args, PUBLIC)
    except BadParameters as error:
        return render_template("search.html", result=None, errors=error.errors, **context), 400
    try:
        with database().sessions() as session:
            result = search(search_backend(), session, query)
            english = _english_titles(session, [item.name for item in result.items])
            zones = catalog(session, "web").zones.all() if not result.total else []
            selected = [
                (name, value)
                for name in FACET_ORDER
                for value in result.facets.get(name, [])
                if value.selected
            ]
            return render_template(
                "search.html",
                result=result,
                english=english,
                zones=zones,
                selected=selected,
                facet_url=_facet_url,
                facets_shown=FACETS_SHOWN,
                facets_more=FACETS_MORE,
                last_page=min(result.pages, MAX_OFFSET // result.query.size + 1),
                **context,
            )
    except SearchUnavailable:
        return render_template("search.html", result=None, unavailable=True, **context), 503


def _english_titles(session: Session, names: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """Dataset and department titles in English for the results of an English page (the
    engine's hits carry the Chinese ones)."""
    if page_language() != "en" or not names:
        return {}
    return queries.english_titles(session, names)


def _facet_url(name: str, value: str) -> str:
    """The current search with `value` of facet `name` toggled, back on page 1."""
    args = request.args.to_dict(flat=False)
    values = args.get(name, [])
    args[name] = [v for v in values if v != value] if value in values else [*values, value]
    args.pop("page", None)
    return url_for("web.search_page", **args)


# -- dataset --------------------------------------------------------------------------------
@dataclass(frozen=True)
class QualityDimension:
    name: str
    label: dict[str, str]
    earned: int
    possible: int
    missing: list[dict[str, str]]


def quality_dimensions(quality: dict[str, Any] | None) -> list[QualityDimension]:
    """Each dimension of the score (schemas/policy/quality.yaml) with what it lacks."""
    if not quality:
        return []
    earned = quality.get("dimensions", {})
    missing = quality.get("missing", [])
    return [
        QualityDimension(
            name,
            dimension["label"],
            int(earned.get(name, 0)),
            sum(int(c["points"]) for c in dimension["checks"]),
            [m for m in missing if m.get("dimension") == name],
        )
        for name, dimension in quality_config()["dimensions"].items()
    ]


def quality_band(quality: dict[str, Any] | None, score: int) -> dict[str, str]:
    code = (quality or {}).get("band")
    for band in bands():
        if band["code"] == code or (code is None and score >= band["min"]):
            return {"zh": band["zh"], "en": band["en"], "code": band["code"]}
    return {"zh": "", "en": "", "code": ""}


@blueprint.get("/dataset/<name>")
@guard.public
def dataset(name: str) -> str:
    with database().sessions() as session:
        service = catalog(session, "web")
        try:
            ds = service.datasets.get(name)
        except NotFound:
            abort(404)
        if not may_find(PUBLIC, ds):  # the public site shows what the public may find
            abort(404)
        if request.method == "GET":  # counted in memory, written in batches
            popularity.count_view(database(), ds.id, request.headers.get("User-Agent"))
        history = revisions.history(session, DATASET, ds.id)  # not by name: one lookup less
        signed = current_user.is_authenticated
        user = access(session).accounts.find(current_user.id) if signed else None
        disclosure = Disclosure(viewer_of(user), request.url_root)
        return render_template(
            "dataset.html",
            ds=ds,
            # Upstream URLs, only where the viewer may see them (catalog/disclosure.py).
            upstream={r.id: disclosure.upstream(ds, r) for r in ds.resources},
            history=history[:HISTORY_SHOWN],
            older_revisions=max(0, len(history) - HISTORY_SHOWN),
            allowed=policy().allowed.get(ds.grade, ()),
            dimensions=quality_dimensions(ds.quality),
            band=quality_band(ds.quality, ds.quality_score),
        )


# -- zone and department --------------------------------------------------------------------
@dataclass(frozen=True)
class ScopeFigures:
    """A zone's or a department's datasets: their counts and the newest of them (the
    search page lists them all, filtered and paged)."""

    counts: Breakdown
    newest: list[Listed]

    @property
    def total(self) -> int:
        return self.counts.total


def scope_figures(scope: Scope) -> Callable[[Session], ScopeFigures]:
    def compute(session: Session) -> ScopeFigures:
        return ScopeFigures(breakdown(session, scope), newest(session, NEWEST_SHOWN, scope))

    return compute


def scope_charts(counts: Breakdown, within: dict[str, str]) -> list[tuple[str, list[Bar]]]:
    domains = vocabulary_bars(counts.domain, "domains", "domain", by_count=True, within=within)
    return [
        (_("按领域"), capped(domains, within)),
        (
            _("按开放属性"),
            vocabulary_bars(counts.open_type, "open_types", "open_type", within=within),
        ),
        (_("按数据分级"), vocabulary_bars(counts.grade, "grades", "grade", within=within)),
    ]


@blueprint.get("/zone/<code>")
@guard.public
def zone(code: str) -> str:
    with database().sessions() as session:
        found = catalog(session, "web").zones.find(code)
        if found is None:
            abort(404)
        figures = remembered(database(), session, ("zone", code), scope_figures(Scope(zone=code)))
        return render_template(
            "zone.html",
            zone=found,
            figures=figures,
            chart_data=scope_charts(figures.counts, {"zones": code}),
            search_all=_search_url(zones=code),
        )


@blueprint.get("/organization/<name>")
@guard.public
def organization(name: str) -> str:
    with database().sessions() as session:
        found = catalog(session, "web").organizations.find(name)
        if found is None:
            abort(404)
        compute = scope_figures(Scope(publisher_id=found.id))
        figures = remembered(database(), session, ("organization", name), compute)
        return render_template(
            "organization.html",
            org=found,
            figures=figures,
            chart_data=scope_charts(figures.counts, {"publisher": name}),
            search_all=_search_url(publisher=name),
        )
