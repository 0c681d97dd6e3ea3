"""The DCAT harvester: one small catalog in four RDF syntaxes, Hydra pages, our own qdp:
export, data.json edge cases, HTTP, and the real catalogs in ../shared/realdata."""

from __future__ import annotations

import json
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harvesters import (
    Failed,
    Pipeline,
    SourceRecord,
    SourceSettings,
    Validated,
    available_harvesters,
)
from harvesters.base import HarvestSourceError, stable_name
from harvesters.dcat import DcatHarvester
from harvesters.dcat_json import frequency_of_duration
from harvesters.outbound import Reach

LOCAL = Reach(local_files=True)  # the tests name files as an operator would

FIXTURES = Path(__file__).parent / "fixtures" / "dcat"
SYNTAXES = ("catalog.ttl", "catalog.rdf", "catalog.jsonld", "catalog.nt")
OPEN_BY_DEFAULT = {"open_type": "unconditional"}


def harvest(source: Path | str, **options: Any) -> list[SourceRecord]:
    return list(DcatHarvester(str(source), reach=options.pop("reach", LOCAL), **options).records())


def validate(
    records: list[SourceRecord], defaults: dict[str, Any] | None = None
) -> list[Validated | Failed]:
    pipeline = Pipeline(source=SourceSettings(defaults=defaults or {}))
    return list(pipeline.process(records))


def datasets(records: list[SourceRecord]) -> dict[str, SourceRecord]:
    return {r.data["extras"]["source_id"]: r for r in records if "extras" in r.data}


def english(record: SourceRecord | Validated | Failed) -> list[str]:
    return [w["en"] for w in record.warnings]


# --- one catalog, four syntaxes ------------------------------------------------------------


@pytest.fixture(scope="module")
def small_catalog() -> list[SourceRecord]:
    return harvest(FIXTURES / "catalog.ttl")


@pytest.mark.parametrize("file_name", SYNTAXES[1:])
def test_every_syntax_gives_identical_records(small_catalog, file_name) -> None:  # type: ignore[no-untyped-def]
    other = harvest(FIXTURES / file_name)
    assert [(r.kind, r.data, r.warnings) for r in other] == [
        (r.kind, r.data, r.warnings) for r in small_catalog
    ]
    assert all(r.location.startswith(f"{file_name} <https://data.example.cn/") for r in other)


def test_the_small_catalog_maps_exactly(small_catalog) -> None:  # type: ignore[no-untyped-def]
    organizations = [r.data for r in small_catalog if r.kind == "organization"]
    transport = stable_name("catalog", "https://data.example.cn/org/transport")
    ecology = stable_name("catalog", "https://data.example.cn/org/ecology")
    assert sorted(organizations, key=lambda o: o["name"]) == sorted(
        [
            {
                "name": transport,
                "title": "青岛市交通运输局",
                "title_en": "Qingdao Transport Bureau",
                "contact_email": "jtj@qingdao.gov.cn",
                "website": "http://jtj.qingdao.gov.cn/",
            },
            {"name": ecology, "title": "青岛市生态环境局"},
        ],
        key=lambda o: o["name"],
    )
    assert [r.kind for r in small_catalog] == ["organization"] * 2 + ["dataset"] * 2
    bus = datasets(small_catalog)["QD-BUS-001"]
    assert bus.location == "catalog.ttl <https://data.example.cn/dataset/bus-lines>"
    assert bus.warnings == ()
    assert bus.data == {
        "name": stable_name("catalog", "QD-BUS-001", "Bus lines"),
        "title": "公交线路",
        "title_en": "Bus lines",
        "description": "全市公交线路及站点",
        "publisher": transport,
        "domain": "transport",
        "open_type": "unconditional",
        "update_frequency": "monthly",
        "issued": "2023-01-15",
        "modified": "2024-03-02",
        "keywords": ["bus", "公交"],
        "contact_email": "bus@qingdao.gov.cn",
        "contact_phone": "0532-85911234",
        "landing_page": "https://data.example.cn/dataset/bus-lines.html",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "formats": ["api", "csv"],
        "resources": [  # in title order, whatever order the syntax lists them in
            {
                "name": "公交线路接口",
                "kind": "api",
                "format": "api",
                "url": "https://api.example.cn/bus",
            },
            {
                "name": "公交线路（CSV）",
                "kind": "file",
                "format": "csv",
                "url": "https://data.example.cn/files/bus-lines.csv",
                "media_type": "text/csv",
                "size": 20480,
            },
        ],
        "extras": {
            "source_id": "QD-BUS-001",
            "iri": "https://data.example.cn/dataset/bus-lines",
            "theme": "http://publications.europa.eu/resource/authority/data-theme/TRAN",
            "contact_name": "公交数据组",
        },
    }


def test_a_dataset_without_identifier_or_publisher_uses_its_iri_and_the_catalogs(
    small_catalog,  # type: ignore[no-untyped-def]
) -> None:
    air = datasets(small_catalog)["https://data.example.cn/dataset/air-quality"]
    assert air.data["name"] == stable_name(
        "catalog", "https://data.example.cn/dataset/air-quality", "Daily air quality"
    )
    assert air.data["publisher"] == stable_name("catalog", "https://data.example.cn/org/ecology")
    assert (air.data["title"], air.data["title_en"]) == ("空气质量日报", "Daily air quality")
    assert air.data["open_type"] == "conditional"
    assert air.data["open_condition"] == "实名注册并签署数据使用协议后开放"
    assert air.data["update_frequency"] == "daily"  # purl.org/cld/freq/daily
    assert air.data["domain"] == "environment"
    assert air.data["resources"] == [
        {
            "name": "Daily air quality (JSON)",
            "kind": "file",
            "format": "json",
            "url": "https://data.example.cn/files/air.json",
            "media_type": "application/json",
            "size": 1024,
        }
    ]
    # The unreadable date is dropped, and said so.
    assert "modified" not in air.data
    assert english(air) == ["modified: '2022-13-45' is not a date we can read; dropped."]


def test_the_small_catalog_passes_the_pipeline(small_catalog) -> None:  # type: ignore[no-untyped-def]
    results = validate(small_catalog)
    assert all(isinstance(r, Validated) for r in results), [
        r.errors for r in results if isinstance(r, Failed)
    ]
    grades = {r.data["title"]: r.data.get("grade") for r in results if r.kind == "dataset"}
    assert grades == {"公交线路": "general1", "空气质量日报": "general2"}


def test_the_format_option_and_sniffing_override_a_useless_extension(tmp_path: Path) -> None:
    expected = [(r.kind, r.data) for r in harvest(FIXTURES / "catalog.ttl")]
    for source, option in (("catalog.rdf", "rdfxml"), ("catalog.jsonld", None)):
        copy = tmp_path / "catalog.data"
        shutil.copy(FIXTURES / source, copy)
        records = harvest(copy, format=option)
        assert [(r.kind, r.data) for r in records] == expected
    with pytest.raises(ValueError, match="unknown DCAT format"):
        DcatHarvester(str(copy), format="yaml")


def test_an_incremental_run_leaves_out_datasets_modified_before_since() -> None:
    # bus-lines was modified 2024-03-02; air-quality gives no readable date, so it stays.
    for since, expected in (
        (
            "2024-03-02T23:59:00+08:00",
            ["QD-BUS-001", "https://data.example.cn/dataset/air-quality"],
        ),
        (datetime(2024, 3, 3, tzinfo=UTC), ["https://data.example.cn/dataset/air-quality"]),
    ):
        records = harvest(FIXTURES / "catalog.ttl", since=since)
        assert sorted(datasets(records)) == sorted(expected)
    with pytest.raises(ValueError, match="since"):
        DcatHarvester(str(FIXTURES / "catalog.ttl"), since="last week")


# --- Hydra paging --------------------------------------------------------------------------


def test_hydra_pages_are_followed_until_a_page_repeats() -> None:
    records = harvest(FIXTURES / "hydra-page1.ttl")
    assert [(r.data["extras"]["source_id"], r.location) for r in records] == [
        ("parks", "hydra-page1.ttl <https://data.example.cn/dataset/parks>"),
        ("libraries", "hydra-page2.ttl <https://data.example.cn/dataset/libraries>"),
    ]
    assert records[0].data["name"] == stable_name("hydra-page1", "parks", "City parks")


def test_max_pages_caps_the_pages_read() -> None:
    records = harvest(FIXTURES / "hydra-page1.ttl", max_pages=1)
    assert [r.data["extras"]["source_id"] for r in records] == ["parks"]


# --- our own export ------------------------------------------------------------------------


def test_our_own_namespace_round_trips_the_profile_codes() -> None:
    records = harvest(FIXTURES / "portal-export.ttl", prefix="qd")
    (dataset,) = [r for r in records if r.kind == "dataset"]
    assert dataset.warnings == ()
    expected = {
        "grade": "general2",
        "open_type": "conditional",
        "open_condition": "港航企业实名申请，签署使用协议",
        "domain": "transport",
        "zones": ["port", "transport"],
        "industry": "G",
        "update_frequency": "monthly",  # qdp: wins over dct:accrualPeriodicity ANNUAL
        "resource_code": "306001000123",
    }
    assert {k: dataset.data.get(k) for k in expected} == expected
    (result,) = [r for r in validate(records) if r.kind == "dataset"]
    assert isinstance(result, Validated)
    assert result.data["grade"] == "general2" and result.data["zones"] == ["port", "transport"]


def test_an_unknown_portal_code_is_dropped_with_a_warning(tmp_path: Path) -> None:
    text = (FIXTURES / "portal-export.ttl").read_text("utf-8")
    source = tmp_path / "export.ttl"
    source.write_text(text.replace('qdp:zone "port"', 'qdp:zone "harbour"'), "utf-8")
    (dataset,) = [r for r in harvest(source) if r.kind == "dataset"]
    assert dataset.data["zones"] == ["transport"]
    assert english(dataset) == ["zones: 'harbour' is not in the Zone vocabulary; dropped."]


# --- data.json ------------------------------------------------------------------------------

DATA_JSON: dict[str, Any] = {
    "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
    "dataset": [
        {
            "title": "Restricted permits",
            "identifier": "permits",
            "accessLevel": "restricted public",
            "rights": "Apply to the permits office.",
            "publisher": {"name": "Permits Office"},
            "contactPoint": {"fn": "Desk", "hasEmail": "mailto:desk@example.org"},
            "accrualPeriodicity": "R/P3M",
            "issued": "2020-02-29T10:00:00Z",
            "modified": "yesterday",
            "theme": ["Transport"],
            "keyword": "permits, roads",
            "distribution": [
                {"title": "Data", "downloadURL": "https://example.org/a.csv", "format": "CSV"},
                {"title": "Data", "downloadURL": "https://example.org/a.xls", "format": "Quipu"},
            ],
        },
        {
            "title": "Closed register",
            "identifier": "register",
            "accessLevel": "non-public",
            "publisher": {"name": "Permits Office"},
            "contactPoint": {"hasEmail": "not an email"},
            "accrualPeriodicity": "R/P2Y",
            "modified": "R/P1D",
            "theme": "Astrology",
        },
        "not a dataset",
        {"title": ["a", "list"], "identifier": "odd", "distribution": "nope"},
    ],
}


@pytest.fixture
def data_json(tmp_path: Path) -> list[SourceRecord]:
    source = tmp_path / "city.json"
    source.write_text(json.dumps(DATA_JSON), "utf-8")
    return harvest(source)


def test_data_json_maps_access_levels_frequencies_and_contacts(data_json) -> None:  # type: ignore[no-untyped-def]
    (org,) = [r for r in data_json if r.kind == "organization"]
    assert org.data == {"name": stable_name("city", "Permits Office"), "title": "Permits Office"}
    permits, register = datasets(data_json)["permits"], datasets(data_json)["register"]
    assert permits.location == "city.json:#0 (permits)"
    assert {
        k: permits.data.get(k) for k in ("open_type", "open_condition", "update_frequency")
    } == {
        "open_type": "conditional",
        "open_condition": "Apply to the permits office.",
        "update_frequency": "quarterly",
    }
    assert permits.data["issued"] == "2020-02-29" and "modified" not in permits.data
    assert permits.data["contact_email"] == "desk@example.org"
    assert permits.data["domain"] == "transport"
    assert permits.data["keywords"] == ["permits", "roads"]
    assert [r["name"] for r in permits.data["resources"]] == ["Data", "Data (2)"]
    assert permits.data["formats"] == ["csv"]
    assert sorted(english(permits)) == [
        "modified: 'yesterday' is not a date we can read; dropped.",
        "resources.format: 'Quipu' is not in the Format vocabulary; dropped.",
    ]
    assert register.data["open_type"] == "closed"
    # accrualPeriodicity R/P2Y has no code; the DCAT-US `modified` R/P1D says daily.
    assert register.data["update_frequency"] == "daily" and "modified" not in register.data
    assert "contact_email" not in register.data
    assert sorted(english(register)) == [
        "contact_email: 'not an email' is not a valid email; dropped.",
        "domain: 'Astrology' is not in the Domain vocabulary; dropped.",
        "update_frequency: 'R/P2Y' is not in the Update frequency vocabulary; dropped.",
    ]


def test_malformed_entries_become_failing_records_with_locations(data_json) -> None:  # type: ignore[no-untyped-def]
    results = validate(data_json, {"domain": "other"})
    counts = Counter((type(r).__name__, r.kind) for r in results)
    assert counts == {
        ("Validated", "organization"): 1,
        ("Validated", "dataset"): 2,
        ("Failed", "dataset"): 2,
    }
    failed = [r for r in results if isinstance(r, Failed)]
    assert [r.location for r in failed] == ["city.json:#2", "city.json:#3 (odd)"]
    assert all(r.errors and r.warnings for r in failed)
    assert "title" in failed[1].errors
    assert "title: the value is not text (list); dropped." in english(failed[1])


@pytest.mark.parametrize(
    "document",
    [
        # POD 1.1 often names a JSON-LD context; it is still data.json, not JSON-LD to fetch.
        {**DATA_JSON, "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"},
        DATA_JSON["dataset"],  # POD 1.0: a bare list of datasets
    ],
)
def test_data_json_flavours_are_told_from_json_ld(tmp_path: Path, document: Any) -> None:
    source = tmp_path / "city.json"
    source.write_text(json.dumps(document), "utf-8")
    assert sorted(datasets(harvest(source))) == ["odd", "permits", "register"]


def test_iso_durations_become_frequencies() -> None:
    cases = {
        "R/PT1S": "realtime",
        "R/PT1H": "daily",
        "R/P1D": "daily",
        "R/P1W": "weekly",
        "R/P0.5M": "monthly",
        "R/P1M": "monthly",
        "R/P3M": "quarterly",
        "R/P6M": "semiannual",
        "R/P1Y": "annual",
        "P1Y": "annual",
        "R/P2Y": None,
        "R/P": None,
        "weekly": None,
    }
    assert {text: frequency_of_duration(text) for text in cases} == cases


# --- sources that cannot be read ---------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "content", "problem"),
    [
        ("broken.ttl", "<a> <b> .", "cannot be parsed as turtle"),
        ("broken.json", "{not json", "is not valid JSON"),
        ("other.json", '{"items": []}', "neither JSON-LD"),
    ],
)
def test_an_unreadable_source_raises_a_source_error(
    tmp_path: Path, file_name: str, content: str, problem: str
) -> None:
    source = tmp_path / file_name
    source.write_text(content, "utf-8")
    with pytest.raises(HarvestSourceError, match=problem):
        harvest(source)
    with pytest.raises(HarvestSourceError, match="Cannot read"):
        harvest(tmp_path / "missing.ttl")


# --- over HTTP ------------------------------------------------------------------------------


@pytest.fixture
def web() -> Iterator[str]:
    """Serves the fixtures without file extensions: only Content-Type tells the syntax."""
    pages = {
        "/catalog": ("catalog.rdf", "application/rdf+xml"),
        "/pages/1": ("hydra-page1.ttl", "text/turtle; charset=utf-8"),
        "/pages/2": ("hydra-page2.ttl", "text/turtle"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server calls
            if self.path not in pages:
                self.send_error(404)
                return
            file_name, content_type = pages[self.path]
            body = (FIXTURES / file_name).read_bytes()
            # The page files link each other by file name; here they live at /pages/N.
            body = body.replace(b"hydra-page1.ttl", b"1").replace(b"hydra-page2.ttl", b"2")
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_catalog_over_http_by_content_type_with_relative_hydra_links(web: str) -> None:
    loopback = Reach.allowing("127.0.0.1")  # the test server is on loopback
    records = harvest(f"{web}/catalog", reach=loopback)
    expected = [(r.kind, r.data) for r in harvest(FIXTURES / "catalog.ttl", prefix="127-0-0-1")]
    assert [(r.kind, r.data) for r in records] == expected
    paged = harvest(f"{web}/pages/1", reach=loopback)
    assert [r.location for r in paged] == [
        f"{web}/pages/1 <https://data.example.cn/dataset/parks>",
        f"{web}/pages/2 <https://data.example.cn/dataset/libraries>",
    ]
    with pytest.raises(HarvestSourceError, match="Cannot fetch"):
        harvest(f"{web}/missing", reach=loopback)


# --- real catalogs ---------------------------------------------------------------------------


@cache
def harvested_once(path: Path) -> tuple[SourceRecord, ...]:
    # `shared` is a per-test fixture; the 402 datasets are read once for all tests.
    return tuple(harvest(path))


@pytest.fixture
def philadelphia(shared: Path) -> list[SourceRecord]:
    return list(harvested_once(shared / "realdata" / "dcat-us-philadelphia" / "data.json"))


def test_philadelphia_every_dataset_harvests_and_validates_given_a_domain(philadelphia) -> None:  # type: ignore[no-untyped-def]
    kinds = Counter(r.kind for r in philadelphia)
    assert kinds == {"organization": 51, "dataset": 402}
    # data.json has no themes: without a default domain each dataset fails on that alone.
    bare = validate(philadelphia)
    assert Counter(type(r).__name__ for r in bare if r.kind == "dataset") == {"Failed": 402}
    assert all(set(r.errors) == {"domain"} and r.location for r in bare if isinstance(r, Failed))
    results = validate(philadelphia, {"domain": "other"})
    assert Counter((type(r).__name__, r.kind) for r in results) == {
        ("Validated", "organization"): 51,
        ("Validated", "dataset"): 402,
    }
    names = [r.data["name"] for r in philadelphia if r.kind == "dataset"]
    assert len(set(names)) == 402


def test_philadelphia_sampled_datasets_map_exactly(philadelphia) -> None:  # type: ignore[no-untyped-def]
    by_id = datasets(philadelphia)
    city = stable_name("data", "City of Philadelphia")
    police = by_id["2009-2012-police-advisory-commission-complaints"]
    assert police.location == "data.json:#0 (2009-2012-police-advisory-commission-complaints)"
    assert police.warnings == ()
    assert {k: v for k, v in police.data.items() if k not in ("description", "resources")} == {
        "name": "data-2009-2012-police-advisory-commission-complaints-5007b504c2",
        "title": "2009-2012 Police Advisory Commission Complaints",
        "publisher": city,
        "open_type": "unconditional",
        "keywords": ["public safety", "Police Advisory Commission"],
        "contact_email": "maps@phila.gov",
        "license": "https://metadata.phila.gov/#help/help-faqs/what-are-the-terms-of-use/",
        "formats": ["csv", "other", "json", "api", "link"],
        "extras": {
            "source_id": "2009-2012-police-advisory-commission-complaints",
            "spatial": "Philadelphia, Pennsylvania",
            "contact_name": "City of Philadelphia Open Data Program",
        },
    }
    assert [(r["name"], r["kind"], r.get("format")) for r in police.data["resources"]] == [
        ("2009-2012 PAC Complaints (CSV)", "file", "csv"),
        ("2009-2012 PAC Complaints (SHP)", "file", "other"),
        ("2009-2012 PAC Complaints (GeoJSON)", "file", "json"),
        ("2009-2012 PAC Complaints (API)", "api", "api"),
        ("PAC Complaints (Metadata)", "link", "link"),
    ]
    # DCAT-US allows `modified` to be a repeating interval: it is the update frequency.
    crime = by_id["crime-incidents"]
    assert crime.data["update_frequency"] == "daily" and "modified" not in crime.data
    assert crime.warnings == ()
    # A misspelt URL (hhttps://) drops that API resource, with warnings, not the dataset.
    food = by_id["archived-philadelphia-food-access"]
    assert len(food.data["resources"]) == 9
    assert "resources: 'Walkable Access to Healthy Food (API)' has no usable URL; dropped." in (
        english(food)
    )


def test_philadelphia_names_are_stable_across_runs(philadelphia, shared) -> None:  # type: ignore[no-untyped-def]
    again = harvest(shared / "realdata" / "dcat-us-philadelphia" / "data.json")
    assert [r.data for r in again] == [r.data for r in philadelphia]


def test_the_argentine_pydatajson_catalog(shared: Path) -> None:
    records = harvest(shared / "realdata" / "ar-spreadsheet-catalog" / "catalogo-justicia.json")
    results = validate(records, OPEN_BY_DEFAULT)
    assert Counter((type(r).__name__, r.kind) for r in results) == {
        ("Validated", "organization"): 15,
        ("Validated", "dataset"): 18,
    }
    found = [r for r in records if r.kind == "dataset"]
    assert {r.data["domain"] for r in found} == {"legal-services"}  # superTheme JUST
    assert Counter(r.data.get("update_frequency") for r in found) == {
        "monthly": 11,  # R/P1M, and R/P0.5M (twice a month)
        "irregular": 3,  # "eventual"
        "quarterly": 2,
        "daily": 1,
        "annual": 1,
    }
    infoleg = datasets(records)["d9a963ea-8b1d-4ca3-9dd9-07a4773e8c23"]
    assert infoleg.location == "catalogo-justicia.json:#0 (d9a963ea-8b1d-4ca3-9dd9-07a4773e8c23)"
    expected = {
        "title": "Base de datos legislativos Infoleg",
        "issued": "2016-09-05",
        "modified": "2017-02-07",
        "update_frequency": "monthly",
        "contact_email": "datosabiertos@saij.gob.ar",
        "landing_page": "http://datos.jus.gob.ar/dataset/base-de-datos-legislativos-infoleg",
        "license": "Open Data Commons Open Database License (ODbL)",
        "formats": ["csv"],
    }
    assert {k: infoleg.data.get(k) for k in expected} == expected
    assert infoleg.data["extras"]["theme"] == "informacion-juridica; Información Jurídica; JUST"
    assert infoleg.data["resources"][0]["name"] == "Base Infoleg de Normativa Nacional"
    long_names = [r for r in records if r.kind == "organization" and "description" in r.data]
    assert len(long_names) == 2 and all(len(r.data["title"]) == 200 for r in long_names)


@pytest.mark.parametrize("example", ["example1.nt", "example2.nt"])
def test_the_dcat_ap_examples_in_n_triples(shared: Path, example: str) -> None:
    records = harvest(shared / "realdata" / "dcat-ap-shacl" / "2.1.1" / "examples" / example)
    org, dataset = records
    stem = example.removesuffix(".nt")
    # The publisher is a blank node: named by its foaf:name, which survives a re-parse.
    assert org.data == {
        "name": stable_name(stem, "Publisher"),
        "title": "Publisher",
        "title_en": "Publisher",
    }
    assert dataset.location == f"{example} <https://myorg.eu/opendata/datasets/1>"
    assert dataset.data == {
        "name": stable_name(
            stem, "https://myorg.eu/opendata/datasets/1", "visitors to the Open Swimming Pool"
        ),
        "title": "visitors to the Open Swimming Pool",
        "title_en": "visitors to the Open Swimming Pool",
        "description": "This dataset provides insight in the visitors to the Open Swimming Pool",
        "publisher": org.data["name"],
        "contact_email": "opendata@myorg.eu",
        "resources": [
            {
                "name": "The visitors to the Open Swimming Pool in CSV",
                "kind": "link",
                "url": "https://myorg.eu/opendata/datasets/1/distributions/csv",
            }
        ],
        "extras": {"source_id": "https://myorg.eu/opendata/datasets/1"},
    }
    results = validate(records, {**OPEN_BY_DEFAULT, "domain": "other"})
    assert all(isinstance(r, Validated) for r in results)


def test_the_harvester_is_registered() -> None:
    assert available_harvesters()["dcat"].load() is DcatHarvester
