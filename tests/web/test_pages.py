"""The public pages on the plan catalog: home, search, dataset, zone and department, in
Chinese and English; the action each dataset offers; facets that keep the other filters;
charts whose numbers are the catalog's."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from portal import lifecycle, services
from portal.catalog import Catalog
from portal.catalog import statistics as stats
from portal.models import Dataset, Organization, dataset_zones
from portal.services import access, database
from portal.web import pages
from schemas import vocab

from ..factories import dataset

BASE = "https://localhost"


@pytest.fixture(autouse=True)
def figures_in_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures worked out during the request however slow the machine (the background
    refresh of slow ones has its own test)."""
    monkeypatch.setattr(stats, "SLOW_SECONDS", 60.0)


@pytest.fixture
def plan(app: Flask) -> Iterator[FlaskClient]:
    lifecycle.load_plan(app)
    services.indexer(app).drain()
    yield app.test_client()


def public_counts(app: Flask, column: str, **where: str) -> dict[str, int]:
    """What the catalog holds, counted here independently of the pages."""
    attribute = getattr(Dataset, column)
    query = select(attribute, func.count()).where(
        Dataset.state == "active", Dataset.metadata_public.is_(True)
    )
    if "zone" in where:
        query = query.join(dataset_zones).where(dataset_zones.c.zone_code == where["zone"])
    if "publisher" in where:
        query = query.join(Organization).where(Organization.name == where["publisher"])
    with database(app).sessions() as session:
        return dict(session.execute(query.group_by(attribute)).all())


def one_of(app: Flask, open_type: str) -> Dataset:
    with database(app).sessions() as session:
        found = session.scalar(
            select(Dataset)
            .where(Dataset.open_type == open_type, Dataset.metadata_public.is_(True))
            .where(Dataset.state == "active")
            .order_by(Dataset.name)
        )
        assert found is not None
        session.expunge(found)
        return found


def charts(page: str) -> dict[str, dict[str, int]]:
    """Each chart of a page by its caption: {label: count} read from the SVG's description,
    after checking that the SVG is an image named by its own title."""
    found = {}
    for figure in re.findall(r'<figure class="chart">(.*?)</figure>', page, re.S):
        caption = html.unescape(re.search(r"<figcaption>(.*?)</figcaption>", figure).group(1))
        svg = re.search(r"<svg [^>]*>", figure).group(0)
        assert 'role="img"' in svg
        named_by = re.search(r'aria-labelledby="([^"]+)"', svg).group(1)
        title = re.search(rf'<title id="{named_by}">(.*?)</title>', figure).group(1)
        assert html.unescape(title) == caption
        described_by = re.search(r'aria-describedby="([^"]+)"', svg).group(1)
        desc = re.search(rf'<desc id="{described_by}">(.*?)</desc>', figure).group(1)
        pairs = [item.rsplit(": ", 1) for item in html.unescape(desc).split("; ")]
        found[caption] = {label: int(n) for label, n in pairs}
        # The table under the chart says the same.
        rows = re.findall(
            r'<th scope="row"><a [^>]*>(.*?)</a></th><td class="num">([\d,]+)', figure
        )
        table = {html.unescape(label): int(n.replace(",", "")) for label, n in rows}
        assert table == found[caption]
    return found


def labelled(counts: dict[str, int], vocabulary: str, lang: str = "zh") -> dict[str, int]:
    return {vocab(vocabulary).label(code, lang): n for code, n in counts.items()}


# -- every page, both languages --------------------------------------------------------------
def test_every_page_renders_in_both_languages(app: Flask, plan: FlaskClient) -> None:
    datasets = [one_of(app, o).name for o in ("unconditional", "conditional", "closed")]
    paths = [
        "/",
        "/search",
        "/search?q=公交",
        "/search?q=养老&zones=elderly&domain=social-assistance&open_type=conditional"
        "&open_type=unconditional&grade=general1&formats=csv&quality_band=excellent"
        "&publisher=qd-civil-affairs&update_frequency=monthly&sort=modified",
        "/search?q=没有这种数据集啊",
        *(f"/dataset/{name}" for name in datasets),
        "/zone/transport",
        "/zone/elderly",
        "/organization/qd-transport",
        "/login",
        "/register",
        "/password/forgot",
        "/api/v1/docs",
    ]
    for lang, marker in (("zh", '<html lang="zh-CN">'), ("en", '<html lang="en">')):
        for path in paths:
            response = plan.get(path + ("&" if "?" in path else "?") + f"lang={lang}")
            assert response.status_code == 200, (lang, path)
            assert marker in response.get_data(as_text=True), (lang, path)
    # The account forms label their fields in the page's language only.
    assert ">邮箱</label>" in plan.get("/register").get_data(as_text=True)
    assert ">E-mail</label>" in plan.get("/register?lang=en").get_data(as_text=True)
    assert plan.get("/password/reset/nope?lang=en").status_code == 404
    assert plan.get("/dataset/nope").status_code == 404
    assert plan.get("/organization/nope").status_code == 404


def test_account_pages_of_a_signed_in_user_in_both_languages(app: Flask, plan: FlaskClient) -> None:
    with database(app).transaction() as session:
        access(session, app).accounts.register_enterprise(
            {
                "email": "ada@example.cn",
                "password": "correct horse battery",
                "enterprise_name": "青岛海洋数据科技有限公司",
                "enterprise_uscc": "11370200004012340B",
            }
        )
    app.config["WTF_CSRF_ENABLED"] = False  # the forms are tested in test_accounts.py
    signed_in = plan.post(
        "/login",
        data={"email": "ada@example.cn", "password": "correct horse battery"},
        base_url=BASE,
    )
    assert signed_in.status_code == 302
    zh = plan.get("/account?lang=zh", base_url=BASE).get_data(as_text=True)
    en = plan.get("/account?lang=en", base_url=BASE).get_data(as_text=True)
    assert "企业用户" in zh and "我的账户" in zh
    assert "Enterprise" in en and "Your account" in en and "企业用户" not in en


def test_english_pages_show_english_titles(app: Flask, plan: FlaskClient) -> None:
    page = plan.get("/search?q=公交&lang=en").get_data(as_text=True)
    assert "Qingdao bus lines" in page  # the dataset's title_en, with the Chinese under it
    assert "Qingdao Transportation Bureau" in page
    home = plan.get("/?lang=en").get_data(as_text=True)
    assert "Transport zone" in home and "交通专区" not in home


# -- the dataset page: what the visitor can do -------------------------------------------------
def test_an_unconditional_dataset_offers_its_downloads(app: Flask, plan: FlaskClient) -> None:
    ds = one_of(app, "unconditional")
    with database(app).sessions() as session:
        resources = session.get(Dataset, ds.id).resources
        ids = [r.id for r in resources]
    assert ids
    page = plan.get(f"/dataset/{ds.name}").get_data(as_text=True)
    for rid in ids:
        assert f'href="/api/v1/datasets/{ds.name}/resources/{rid}/data"' in page
    assert "/apply/" not in page
    assert "下载数据" in page and "无条件开放" in page


def test_a_conditional_dataset_offers_to_apply_and_says_on_which_conditions(
    app: Flask, plan: FlaskClient
) -> None:
    ds = one_of(app, "conditional")
    page = plan.get(f"/dataset/{ds.name}").get_data(as_text=True)
    assert f'href="/apply/{ds.name}"' in page
    assert ds.open_condition and html.escape(ds.open_condition, quote=False) in page
    assert "/resources/" not in page  # no download link
    english = plan.get(f"/dataset/{ds.name}?lang=en").get_data(as_text=True)
    assert "Apply for the data" in english and "Open on application and approval" in english


def test_a_closed_dataset_says_why_and_offers_nothing(app: Flask, plan: FlaskClient) -> None:
    ds = one_of(app, "closed")
    page = plan.get(f"/dataset/{ds.name}").get_data(as_text=True)
    assert "为什么不开放" in page and "不予开放" in page
    assert "/resources/" not in page and "/apply/" not in page
    english = plan.get(f"/dataset/{ds.name}?lang=en").get_data(as_text=True)
    assert "Why it is not open" in english


def test_the_dataset_page_shows_quality_history_and_exports(app: Flask, plan: FlaskClient) -> None:
    ds = one_of(app, "conditional")
    page = plan.get(f"/dataset/{ds.name}?lang=en").get_data(as_text=True)
    assert f'<strong class="score">{ds.quality_score}</strong>/100' in page
    for dimension in ("Findability", "Accessibility", "Interoperability", "Reusability"):
        assert dimension in page
    for missing in (ds.quality or {}).get("missing", []):
        assert html.escape(missing["en"], quote=False) in page
    for ext in ("ttl", "jsonld", "rdf"):
        assert f'href="/dataset/{ds.name}.{ext}"' in page
    assert f'href="/api/3/action/package_show?id={ds.name}"' in page
    assert "History" in page and "created" in page


def test_sizes_are_human_readable(app: Flask, seeded: Catalog) -> None:
    resource = {"name": "lines", "kind": "file", "format": "csv", "size": 5 * 1024 * 1024}
    seeded.datasets.create(dataset(resources=[resource]))
    seeded.session.commit()
    page = app.test_client().get("/dataset/bus-lines").get_data(as_text=True)
    assert "5.0 MB" in page


# -- search ---------------------------------------------------------------------------------
def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(html.unescape(url)).query)


def test_facets_keep_the_other_filters(plan: FlaskClient) -> None:
    path = "/search?q=公交&domain=transport&open_type=unconditional&issued_from=2000-01-01"
    page = plan.get(path).get_data(as_text=True)
    # Every checkbox belongs to the search form, which carries the query, the sort and
    # what has no checkbox (dates): ticking one more keeps the rest.
    boxes = re.findall(r'<input type="checkbox" form="search"[^>]*>', page)
    assert boxes
    checked = {re.search(r'value="([^"]+)"', b).group(1) for b in boxes if "checked" in b}
    assert checked == {"transport", "unconditional"}
    assert '<input type="hidden" form="search" name="issued_from" value="2000-01-01">' in page
    assert 'name="q" type="search" value="公交"' in page
    # Each selected filter is shown and removable; removing one keeps the others.
    chips = re.findall(r'<a class="chip" href="([^"]+)"', page)
    assert len(chips) == 2
    queries = [query_of(c) for c in chips]
    assert {"q": ["公交"], "open_type": ["unconditional"], "issued_from": ["2000-01-01"]} in queries
    assert {"q": ["公交"], "domain": ["transport"], "issued_from": ["2000-01-01"]} in queries
    # Results are highlighted.
    assert "<mark>公交</mark>" in page


def test_facet_counts_come_from_the_result(app: Flask, plan: FlaskClient) -> None:
    page = plan.get("/search").get_data(as_text=True)
    expected = public_counts(app, "open_type")
    for code, n in expected.items():
        box = re.search(
            rf'name="open_type" value="{code}"[^>]*>\s*<label[^>]*>[^<]*'
            r'<span class="count">\((\d+)\)</span>',
            page,
        )
        assert box is not None and int(box.group(1)) == n, code
    assert f"共 {sum(expected.values())} 个结果" in page
    # Each value once; the first few in view, the long tail (departments) under "more".
    boxes = re.findall(r'name="(\w+)" value="([^"]+)"', page.split('<aside class="facets"')[1])
    assert len(boxes) == len(set(boxes))
    publishers = [v for n, v in boxes if n == "publisher"]
    assert len(publishers) > pages.FACETS_SHOWN
    where = re.findall(r'id="([fm])-publisher-\d+"', page)  # f: in view, m: under "more"
    assert where == ["f"] * pages.FACETS_SHOWN + ["m"] * (len(publishers) - pages.FACETS_SHOWN)


def test_pages_of_results_keep_the_search(plan: FlaskClient) -> None:
    page = plan.get("/search?domain=transport&size=5&sort=title").get_data(as_text=True)
    following = re.search(r'<a href="([^"]+)" rel="next">', page)
    assert following is not None
    assert query_of(following.group(1)) == {
        "domain": ["transport"],
        "size": ["5"],
        "sort": ["title"],
        "page": ["2"],
    }
    second = plan.get(html.unescape(following.group(1))).get_data(as_text=True)
    assert 'aria-current="page"' in second and 'rel="prev"' in second


def test_no_results_says_what_to_try(plan: FlaskClient) -> None:
    page = plan.get("/search?q=没有这种数据集啊&domain=transport").get_data(as_text=True)
    assert "没有找到匹配的数据集" in page
    assert 'href="/zone/transport"' in page  # browse by zone instead
    assert "去掉所有筛选条件再搜索" in page


def test_a_bad_parameter_is_explained(plan: FlaskClient) -> None:
    response = plan.get("/search?page=0&lang=en")
    assert response.status_code == 400
    assert "page must be" in response.get_data(as_text=True)


# -- charts and figures ------------------------------------------------------------------------
def test_home_charts_are_accessible_and_hold_the_catalog_counts(
    app: Flask, plan: FlaskClient
) -> None:
    page = plan.get("/").get_data(as_text=True)
    found = charts(page)
    assert found["按开放属性"] == labelled(public_counts(app, "open_type"), "open_types")
    assert found["按数据分级"] == labelled(public_counts(app, "grade"), "grades")
    domains = labelled(public_counts(app, "domain"), "domains")
    shown = found["按领域"]
    rest = {k: v for k, v in shown.items() if k.startswith("其余")}
    assert sum(shown.values()) == sum(domains.values())  # nine domains and the rest
    assert all(domains[k] == v for k, v in shown.items() if k not in rest)
    departments = found["数据集最多的部门"]
    with database(app).sessions() as session:
        titles = dict(session.execute(select(Organization.title, Organization.name)).all())
    for title, n in departments.items():
        assert public_counts(app, "grade", publisher=titles[title]) and n == sum(
            public_counts(app, "grade", publisher=titles[title]).values()
        )
    # The zones, with their counts.
    for code, n in public_counts_by_zone(app).items():
        zone = re.search(rf'href="/zone/{code}">[^<]+</a>\s*<span class="count">(\d+)', page)
        assert zone is not None and int(zone.group(1)) == n
    # English labels, same numbers.
    english = charts(plan.get("/?lang=en").get_data(as_text=True))
    assert english["By openness"] == labelled(public_counts(app, "open_type"), "open_types", "en")


def public_counts_by_zone(app: Flask) -> dict[str, int]:
    query = (
        select(dataset_zones.c.zone_code, func.count())
        .join(Dataset, Dataset.id == dataset_zones.c.dataset_id)
        .where(Dataset.state == "active", Dataset.metadata_public.is_(True))
        .group_by(dataset_zones.c.zone_code)
    )
    with database(app).sessions() as session:
        return dict(session.execute(query).all())


def test_zone_and_department_charts_count_their_own_datasets(app: Flask, plan: FlaskClient) -> None:
    zone = charts(plan.get("/zone/elderly").get_data(as_text=True))
    assert zone["按开放属性"] == labelled(
        public_counts(app, "open_type", zone="elderly"), "open_types"
    )
    org = charts(plan.get("/organization/qd-transport").get_data(as_text=True))
    assert org["按数据分级"] == labelled(
        public_counts(app, "grade", publisher="qd-transport"), "grades"
    )
    page = plan.get("/zone/transport").get_data(as_text=True)
    assert "运营机构" in page and "青易核" in page and 'href="/search?zones=transport"' in page


def test_the_figures_follow_the_catalog(app: Flask, seeded: Catalog) -> None:
    client = app.test_client()
    seeded.datasets.create(dataset())
    seeded.session.commit()
    assert "目录中有 1 个公开的数据集" in client.get("/").get_data(as_text=True)
    seeded.datasets.create(dataset(name="bus-stops", title="公交站点"))
    seeded.session.commit()
    page = client.get("/").get_data(as_text=True)  # kept figures are dropped on a change
    assert "目录中有 2 个公开的数据集" in page and "公交站点" in page


def test_the_most_used_datasets_show_once_some_are_used(app: Flask, seeded: Catalog) -> None:
    seeded.datasets.create(dataset())
    seeded.datasets.create(dataset(name="bus-stops", title="公交站点"))
    seeded.session.commit()
    client = app.test_client()
    assert "最常用的数据集" not in client.get("/").get_data(as_text=True)  # nothing used yet
    seeded.session.execute(update(Dataset).where(Dataset.name == "bus-stops").values(popularity=9))
    seeded.datasets.update("bus-lines", dataset(description="改了描述。"))  # a catalog change
    seeded.session.commit()
    page = client.get("/").get_data(as_text=True)
    popular = page.split("最常用的数据集")[1]
    assert 'href="/dataset/bus-stops"' in popular and 'href="/dataset/bus-lines"' not in popular


def test_slow_figures_are_worked_out_in_the_background(
    app: Flask, seeded: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stats, "SLOW_SECONDS", 0.0)  # as at 100k datasets
    client = app.test_client()
    seeded.datasets.create(dataset())
    seeded.session.commit()
    assert "目录中有 1 个公开的数据集" in client.get("/").get_data(as_text=True)
    seeded.datasets.create(dataset(name="bus-stops", title="公交站点"))
    seeded.session.commit()
    # The kept figures at once; the new ones are worked out meanwhile.
    assert "目录中有 1 个公开的数据集" in client.get("/").get_data(as_text=True)
    deadline = time.monotonic() + 10
    while stats.refreshing() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "目录中有 2 个公开的数据集" in client.get("/").get_data(as_text=True)


def test_a_starting_server_works_out_the_home_figures_before_the_first_visit(
    app: Flask, seeded: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.datasets.create(dataset())
    seeded.session.commit()
    calls: list[str] = []
    real = pages.home_figures

    def counted(session):  # type: ignore[no-untyped-def]
        calls.append("worked out")
        return real(session)

    monkeypatch.setattr(pages, "home_figures", counted)
    with app.app_context():
        pages.warm_up(database(app)).join(timeout=30)
    assert calls == ["worked out"]
    assert "目录中有 1 个公开的数据集" in app.test_client().get("/").get_data(as_text=True)
    assert calls == ["worked out"]  # the visit found them ready


# -- served by the portal, fast on a slow connection -------------------------------------------
def test_assets_are_the_portals_own_and_cached_for_long(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # no CDN, no external font
    for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page):
        response = client.get(asset)
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
    # Without script the search box is a plain GET form; the script only adds suggestions.
    assert re.search(r'<form class="search" id="search" action="/search" method="get"', page)
    assert 'data-suggest="/api/v1/suggest"' in page
    script = client.get("/assets/portal.js").get_data(as_text=True)
    assert "aria-activedescendant" in script and "http" not in script.replace("https://", "")
