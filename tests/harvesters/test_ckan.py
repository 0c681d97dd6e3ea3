"""The CKAN harvester: a round trip through ckanapi.RemoteCKAN against a CKAN API double
serving recorded responses (fixtures/ckan/), then through the pipeline."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask

from harvesters import (
    Failed,
    Pipeline,
    SourceRecord,
    SourceSettings,
    Validated,
    available_harvesters,
)
from harvesters.base import HarvestSourceError, stable_name
from harvesters.ckan import CkanHarvester, solr_date
from harvesters.formats.ckan import PackageMapper, default_prefix, load_mapping
from harvesters.outbound import Reach
from harvesters.values import to_date
from portal.catalog import Catalog
from portal.harvest import run_harvest
from portal.services import database, policy
from schemas import vocab

from .ckan_double import CkanDouble

LOOPBACK = Reach.allowing("127.0.0.1")  # the test double serves on loopback

PUBLIC_PACKAGES = [
    "gdp",
    "population",
    "fr-200052264-commune_grand_est",
    "port-container-throughput",
    "monthly-taxi-trips",
    "elderly-care-institutions",
    "bus-realtime-arrivals",
]
TRANSPORT_ORG_ID = "5b1f0c7e-3f8a-4c52-9d0e-2a7c1e6b9f01"


@pytest.fixture
def double() -> Iterator[CkanDouble]:
    with CkanDouble.recorded() as running:
        yield running


def harvest(double: CkanDouble, **options: Any) -> list[SourceRecord]:
    options = {"prefix": "qd", "page_size": 3, "backoff": 0, **options}
    return list(CkanHarvester(double.url, reach=LOOPBACK, **options).records())


def validate(records: list[SourceRecord]) -> list[Validated | Failed]:
    pipeline = Pipeline(source=SourceSettings(defaults={"open_type": "unconditional"}))
    return list(pipeline.process(records))


def by_source_name(records: list[SourceRecord]) -> dict[str, SourceRecord]:
    return {r.data["extras"]["source_name"]: r for r in records if r.kind == "dataset"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- a full harvest ---------------------------------------------------------------------


def test_a_full_harvest_pages_through_package_search_in_a_stable_order(double) -> None:  # type: ignore[no-untyped-def]
    records = harvest(double)

    searches = double.calls("package_search")
    assert [s["start"] for s in searches] == ["0", "3", "6"]
    for search in searches:
        assert search["rows"] == "3"
        assert search["sort"] == "metadata_modified asc, id asc"
        assert search["q"] == "*:*"
        assert search["include_private"] == "False"
        assert "fq" not in search or search["fq"] == ""
    kinds = [r.kind for r in records]
    assert kinds == ["organization"] * 4 + ["dataset"] * 7  # organizations first
    organization_names = [r.data["name"] for r in records if r.kind == "organization"]
    assert len(set(organization_names)) == 4
    assert [r.data["extras"]["source_name"] for r in records[4:]] == PUBLIC_PACKAGES
    assert all(r.location.startswith(f"{double.url} ") for r in records)


def test_every_record_passes_the_pipeline_but_the_malformed_one(double) -> None:  # type: ignore[no-untyped-def]
    results = validate(harvest(double))

    failed = [r for r in results if isinstance(r, Failed)]
    assert len(results) == 11
    assert [f.location for f in failed] == [f"{double.url} package monthly-taxi-trips"]
    assert set(failed[0].errors) == {"title", "issued"}
    assert failed[0].errors["issued"][0]["en"] == "Not a valid date (YYYY-MM-DD)."
    publishers = {
        r.data["publisher"] for r in results if isinstance(r, Validated) and r.kind == "dataset"
    }
    organizations = {r.data["name"] for r in results if r.kind == "organization"}
    assert publishers <= organizations


def test_a_package_of_our_own_portal_maps_exactly(double) -> None:  # type: ignore[no-untyped-def]
    port = by_source_name(harvest(double))["port-container-throughput"]

    transport = stable_name("qd", TRANSPORT_ORG_ID, "qd-transport")
    assert port.location == f"{double.url} package port-container-throughput"
    assert port.warnings == ()
    assert port.data == {
        "name": "qd-port-container-throughput",
        "title": "青岛港集装箱吞吐量月度统计",
        "title_en": "Monthly container throughput of Qingdao Port",
        "description": "青岛港各港区**集装箱吞吐量**（万标准箱）的月度统计，含外贸、内贸和中转。"
        "\n\n- 来源：市交通运输局港航统计\n- 口径：与《青岛市统计月报》一致",
        "publisher": transport,
        "keywords": ["港口", "集装箱", "吞吐量"],
        "resource_code": "306001000123",
        "domain": "transport",
        "industry": "G",
        "basic_category": "event",
        "zones": ["port"],
        "open_type": "unconditional",
        "grade": "general1",
        "processing_level": "statistical",
        "update_frequency": "monthly",
        "share_type": "unconditional",
        "share_method": "api",
        "record_count": 1200,
        "operable": False,
        "issued": "2023-01-15",
        "modified": "2024-02-28",
        "contact_phone": "0532-85913507",
        "contact_email": "jtysj@qingdao.gov.cn",
        "license": "Creative Commons Attribution",
        "landing_page": "https://data.qingdao.gov.cn/dataset/port-container-throughput",
        "formats": ["csv", "api"],
        "resources": [
            {
                "id": "a7c1e3f5-1111-4b2d-9e8f-0a1b2c3d4e01",
                "name": "2023年月度吞吐量",
                "description": "2023年1–12月",
                "kind": "file",
                "format": "csv",
                "url": "https://data.qingdao.gov.cn/dataset/port-container-throughput"
                "/resource/a7c1e3f5/download/throughput-2023.csv",
                "media_type": "text/csv",
                "size": 48213,
            },
            {
                "id": "a7c1e3f5-2222-4b2d-9e8f-0a1b2c3d4e02",
                "name": "吞吐量查询接口",
                "description": "按月份、港区查询",
                "kind": "api",
                "format": "api",
                "url": "https://data.qingdao.gov.cn/api/v1/port/throughput",
            },
        ],
        "extras": {
            "source_id": "8e3f1c2a-5d7b-4a9e-b1c3-2f6d8e0a4b71",
            "source_name": "port-container-throughput",
        },
    }


def test_an_organization_maps_with_its_extras(double) -> None:  # type: ignore[no-untyped-def]
    organizations = [r for r in harvest(double) if r.kind == "organization"]

    transport = next(r for r in organizations if r.location.endswith("organization qd-transport"))
    assert transport.data == {
        "name": stable_name("qd", TRANSPORT_ORG_ID, "qd-transport"),
        "title": "青岛市交通运输局",
        "title_en": "Qingdao Transportation Bureau",
        "description": "负责全市公路、水路、城市公共交通和港口行业管理，"
        "建设交通运输一体化应用平台。",
        "uscc": "11370200004051737E",
        "contact_phone": "0532-85913507",
        "contact_email": "jtysj@qingdao.gov.cn",
        "website": "http://jtj.qingdao.gov.cn/",
    }
    civil = next(r for r in organizations if r.location.endswith("organization qd-civil-affairs"))
    assert "contact_email" not in civil.data
    assert "民政局办公室" in civil.warnings[0]["zh"]


def test_recorded_foreign_packages_map_extras_groups_and_services(double) -> None:  # type: ignore[no-untyped-def]
    packages = by_source_name(harvest(double))

    grand_est = packages["fr-200052264-commune_grand_est"].data
    assert grand_est["name"] == "qd-fr-200052264-commune_grand_est"
    assert grand_est["domain"] == "geospatial"  # group regions-and-cities
    assert grand_est["update_frequency"] == "realtime"  # ISO 19115 "continual"
    assert grand_est["contact_email"] == "mvd@grandest.fr"  # extras contact-email
    assert grand_est["license"] == 'Licence ouverte "Etalab" V2'  # a JSON list in extras
    assert grand_est["issued"] == grand_est["modified"] == "2023-06-14"
    assert grand_est["keywords"] == [
        "COMMUNE",
        "Géoportail",
        "LIMITE COMMUNALE",
        "données ouvertes",
    ]
    assert [(r["name"], r["kind"], r.get("format")) for r in grand_est["resources"]] == [
        ("commune_actuelle", "api", "api"),  # no format: its OGC:WMS protocol
        ("commune_actuelle (WFS)", "api", "api"),  # the same name, made unique
        ("Licence Ouverte Etalab V2", "file", "pdf"),
    ]
    gdp = packages["gdp"].data
    assert gdp["update_frequency"] == "daily"  # top-level "P1D"
    assert gdp["domain"] == "finance-tax"  # group economy
    assert gdp["contact_email"] == "energidata@energinet.dk"  # author_email
    assert gdp["landing_page"] == f"{double.url}/dataset/gdp"  # no url: the portal's page
    assert "license" not in gdp  # the source has none


def test_values_that_match_nothing_are_dropped_with_a_warning(double) -> None:  # type: ignore[no-untyped-def]
    elderly = by_source_name(harvest(double))["elderly-care-institutions"]

    warnings = " | ".join(w["en"] for w in elderly.warnings)
    assert "industry: '养老服务'" in warnings
    assert "contact_email: '民政局办公室'" in warnings
    assert "Group 'featured'" in warnings
    assert "resources.size: '12 MB'" in warnings
    assert all(w["zh"] for w in elderly.warnings)
    data = elderly.data
    assert "industry" not in data and "contact_email" not in data
    assert data["domain"] == "social-assistance"  # extras 所属领域
    assert data["open_type"] == "conditional"
    assert data["open_condition"] == "需实名认证并签署数据使用协议"
    assert data["zones"] == ["elderly"]  # group titled 养老专区
    assert [(r["name"], r.get("size")) for r in data["resources"]] == [
        ("养老机构名录", None),
        ("养老机构名录 (JSON)", 20480),
        ("elderly-2024.csv", None),  # no name: from its URL
    ]


# --- incremental and repeated runs ------------------------------------------------------


def test_an_incremental_run_asks_only_for_datasets_modified_since(double) -> None:  # type: ignore[no-untyped-def]
    since = datetime(2024, 4, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    records = harvest(double, since=since)

    searches = double.calls("package_search")
    assert [s["fq"] for s in searches] == ["metadata_modified:[2024-04-01T00:00:00Z TO *]"]
    names = [r.data["extras"]["source_name"] for r in records if r.kind == "dataset"]
    assert names == ["elderly-care-institutions", "bus-realtime-arrivals"]
    assert all(isinstance(r, Validated) for r in validate(records))


def test_since_may_be_an_iso_string(double) -> None:  # type: ignore[no-untyped-def]
    harvest(double, since="2024-05-01")
    assert (
        double.calls("package_search")[0]["fq"] == "metadata_modified:[2024-05-01T00:00:00Z TO *]"
    )


def test_a_second_full_run_gives_identical_records(double) -> None:  # type: ignore[no-untyped-def]
    first, second = harvest(double), harvest(double)

    assert first == second
    assert validate(first) == validate(second)


def test_through_the_catalog_a_second_run_changes_nothing(
    app: Flask, catalog: Catalog, double: CkanDouble
) -> None:
    for zone in vocab("zones").terms:  # zones are set up before datasets name them
        catalog.zones.create({"code": zone.code, "title": zone.zh})
    catalog.session.commit()

    def run() -> dict[str, int]:
        harvester = CkanHarvester(double.url, prefix="qd", page_size=3, backoff=0, reach=LOOPBACK)
        report = run_harvest(
            database(app), WithDefaults(harvester), actor="test", policy=policy(app)
        )
        return dict(report.counts)

    first = run()
    assert first == {"organization.added": 4, "dataset.added": 6, "dataset.failed": 1}
    second = run()
    assert second == {"organization.unchanged": 4, "dataset.unchanged": 6, "dataset.failed": 1}


class WithDefaults:
    """run_harvest builds its own pipeline: give foreign packages our source's default."""

    def __init__(self, harvester: CkanHarvester) -> None:
        self.name = harvester.name
        self.harvester = harvester

    def records(self) -> Iterator[SourceRecord]:
        for record in self.harvester.records():
            if record.kind == "dataset":
                data = {"open_type": "unconditional", **record.data}
                record = SourceRecord(record.kind, data, record.location, record.warnings)
            yield record


# --- errors ---------------------------------------------------------------------------------


def test_a_server_error_on_one_page_is_retried(double) -> None:  # type: ignore[no-untyped-def]
    expected = harvest(double)
    double.requests.clear()
    double.fail("package_search", times=2, when=lambda p: p.get("start") == "3")

    assert harvest(double, retries=3) == expected
    starts = [s["start"] for s in double.calls("package_search")]
    assert starts == ["0", "3", "3", "3", "6"]


def test_a_page_that_keeps_failing_is_reported_with_its_url(double) -> None:  # type: ignore[no-untyped-def]
    double.fail("package_search", times=99, when=lambda p: p.get("start") == "3")
    harvester = CkanHarvester(
        double.url, prefix="qd", page_size=3, backoff=0, retries=2, reach=LOOPBACK
    )
    got: list[SourceRecord] = []

    with pytest.raises(HarvestSourceError) as caught:
        got.extend(harvester.records())

    assert caught.value.url == f"{double.url}/api/action/package_search (start=3)"
    assert caught.value.url in str(caught.value)
    assert "3 attempt(s)" in caught.value.message["en"] and caught.value.message["zh"]
    assert [s["start"] for s in double.calls("package_search")] == ["0", "3", "3", "3"]
    assert len([r for r in got if r.kind == "dataset"]) == 3  # the first page came through


def test_a_refusal_is_reported_at_once_without_retrying(double) -> None:  # type: ignore[no-untyped-def]
    error = {"__type": "Authorization Error", "message": "Access denied"}
    double.fail("organization_list", times=1, status=403, error=error)

    with pytest.raises(HarvestSourceError, match="refused"):
        harvest(double, retries=3)
    assert len(double.calls("organization_list")) == 1


def test_a_portal_that_cannot_be_reached_raises_a_source_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(HarvestSourceError) as caught:
        list(CkanHarvester(url, retries=1, backoff=0, timeout=2, reach=LOOPBACK).records())
    assert caught.value.url.startswith(f"{url}/api/action/organization_list")
    assert "2 attempt(s)" in str(caught.value)


def test_a_site_that_is_no_ckan_raises_a_source_error(double) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(HarvestSourceError, match="HTTP 404") as caught:
        list(
            CkanHarvester(f"{double.url}/not-ckan", retries=3, backoff=0, reach=LOOPBACK).records()
        )
    assert caught.value.url.startswith(f"{double.url}/not-ckan/api/action/organization_list")
    assert "1 attempt(s)" in str(caught.value)  # a 404 is not worth asking again


# --- options --------------------------------------------------------------------------------


def test_private_datasets_only_with_include_private_and_a_key(double) -> None:  # type: ignore[no-untyped-def]
    public = by_source_name(harvest(double))
    assert "pipeline-inspection-records" not in public

    every = by_source_name(harvest(double, include_private=True, api_key="test-token"))
    assert "pipeline-inspection-records" in every
    last = double.requests[-1]
    assert last.params["include_private"] == "True"
    assert last.headers["Authorization"] == "test-token"


def test_only_the_chosen_organizations(double) -> None:  # type: ignore[no-untyped-def]
    records = harvest(double, organizations=["qd-civil-affairs"])

    assert double.calls("package_search")[0]["fq"] == 'organization:("qd-civil-affairs")'
    assert [r.location.rsplit(" ", 1)[-1] for r in records] == [
        "qd-civil-affairs",
        "elderly-care-institutions",
    ]


def test_a_portal_that_ignores_the_filters_still_gives_only_what_was_asked(double) -> None:  # type: ignore[no-untyped-def]
    def careless(params: dict[str, Any]) -> dict[str, Any]:  # every dataset, private too
        return CkanDouble.package_search(
            double, {**params, "fq": "", "_authorized": True, "include_private": True}
        )

    double.package_search = careless
    records = harvest(double, organizations=["qd-civil-affairs"])

    assert [r.location.rsplit(" ", 1)[-1] for r in records] == [
        "qd-civil-affairs",
        "elderly-care-institutions",
    ]
    assert "pipeline-inspection-records" not in by_source_name(harvest(double))


def test_group_map_option_is_merged_over_the_defaults(double) -> None:  # type: ignore[no-untyped-def]
    records = harvest(double, group_map={"featured": None, "economy": "zone:port"})

    packages = by_source_name(records)
    assert not any("featured" in w["en"] for w in packages["elderly-care-institutions"].warnings)
    assert packages["gdp"].data["zones"] == ["port"] and "domain" not in packages["gdp"].data
    assert packages["fr-200052264-commune_grand_est"].data["domain"] == "geospatial"
    with pytest.raises(ValueError, match="group_map"):
        CkanHarvester(double.url, group_map={"x": "zone:harbour"})


def test_organizations_are_paged_past_the_all_fields_cap() -> None:
    with CkanDouble.recorded(all_fields_max=2) as double:
        records = harvest(double)
    assert [c["offset"] for c in double.calls("organization_list")] == ["0", "2", "4"]
    assert len([r for r in records if r.kind == "organization"]) == 4


def test_post_requests_work_too(double) -> None:  # type: ignore[no-untyped-def]
    assert harvest(double, get_only=False) == harvest(double)
    assert {r.method for r in double.requests[:4]} == {"POST"}
    assert double.calls("package_search")[0]["rows"] == 3  # JSON keeps the types


# --- names, dates, registration -------------------------------------------------------------


def test_dataset_names_are_prefixed_ckan_names_of_at_most_100_characters() -> None:
    mapper = PackageMapper("https://data.example.org", "qd", load_mapping())
    long_a, long_b = "a" * 95 + "-one", "a" * 95 + "-two"  # valid, 99 characters
    names = {mapper.dataset_name({"id": i, "name": n}) for i, n in (("1", long_a), ("2", long_b))}
    assert len(names) == 2 and all(len(n) == 100 for n in names)
    assert mapper.dataset_name({"id": "x", "name": "Not A Slug"}).startswith("qd-not-a-slug-")


def test_the_default_prefix_is_the_first_telling_host_label() -> None:
    mapping = load_mapping()
    assert default_prefix("https://data.qingdao.gov.cn/", mapping) == "qingdao"
    assert default_prefix("https://demo.ckan.org", mapping) == "demo"
    assert default_prefix("https://www.dati.gov.it/opendata", mapping) == "dati"


def test_dates() -> None:
    assert solr_date(datetime(2024, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))) == (
        "2024-01-01T00:00:00Z"
    )
    assert solr_date(datetime(2024, 1, 1, 8)) == "2024-01-01T08:00:00Z"  # naive: UTC
    assert solr_date("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z"
    assert solr_date(datetime(2024, 1, 1, tzinfo=UTC).date()) == "2024-01-01T00:00:00Z"
    with pytest.raises(ValueError, match="since"):
        solr_date("last tuesday")
    assert to_date("2023-06-14T00:49:28.521578") == "2023-06-14"
    assert to_date("2024年1月2日") == "2024-01-02"
    assert to_date("2024-13-45") == "2024-13-45"  # left for validation to report


def test_the_harvester_is_registered() -> None:
    assert available_harvesters()["ckan"].load() is CkanHarvester
