"""Every importer fed odd and broken input (hypothesis): no exception escapes but the one
each documents for a source that cannot be read at all (`HarvestSourceError`; for
`portal import`, `CatalogError` naming the lines), and every record that does not become
a valid one is explained: a `Failed` with its field errors and location, or a warning.

FUZZ_EXAMPLES=500 runs more examples than the default (a longer hunt, not for CI);
FUZZ_NO_SHRINK=1 reports every failure found as it was found (quicker when there are many).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from rdflib import BNode, Graph, Literal, URIRef, namespace
from sqlalchemy import func, select

from harvesters import Failed, HarvestSourceError, Pipeline, SourceRecord, Validated, dcat_rdf
from harvesters.ckan import CkanHarvester
from harvesters.cnportal import CnPortalHarvester
from harvesters.dcat import DcatHarvester
from harvesters.outbound import Reach
from harvesters.spreadsheet import SpreadsheetHarvester
from portal import create_app, lifecycle
from portal.catalog import Catalog, CatalogError
from portal.catalog.exchange import export_catalog, import_catalog
from portal.models import Organization
from portal.services import database, policy

from ..factories import dataset

LOCAL = Reach(local_files=True)  # the tests name files as an operator would

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
PHASES = [p for p in Phase if not (p == Phase.shrink and os.environ.get("FUZZ_NO_SHRINK"))]
FUZZ = settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    database=None,  # no .hypothesis folder in the repository
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # the app is shared; each example rolls back
    ],
)

# -- odd values ---------------------------------------------------------------------------

SPECIAL = [
    "",
    " ",
    "\u3000",
    "暂无",
    "null",
    "None",
    "NaN",
    "-1",
    "1e309",
    "9" * 40,
    "2024-13-45",
    "2024年2月30日",
    "0000-00-00",
    "45000",
    "https://",
    "https://a.cn/x?y=<z>",
    "javascript:alert(1)",
    "<script>alert(1)</script>",
    "\u202eevil",
    "\ufeffbom",
    "a\x00b",
    "无条件开放",
    "有条件开放",
    "不予开放",
    "有条件",
    "每日",
    "R/P1D",
    "交通",
    "transport",
    "general1",
    "core",
    "csv、xlsx、接口",
    "['xls', 'xml']",
    '["a", 1, null]',
    "a@b",
    "028****9322",
    "青岛市交通运输局",
    "G",
    "A",
]
CHARS = st.one_of(
    st.characters(max_codepoint=0x1F),  # control characters
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.sampled_from(list("<>&\"'\\/%;,，、|：:\n\r\t -_.@#[]{}年月日")),
    st.characters(exclude_categories=("Cs",)),
)
TEXT = st.one_of(st.text(CHARS, max_size=30), st.sampled_from(SPECIAL))
NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**100, 0, -0.0]),
)
SCALAR = st.one_of(st.none(), st.booleans(), NUMBER, TEXT)
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
VALUE = st.one_of(TEXT, TEXT, SCALAR, JUNK)  # mostly text, as sources mostly give
GARBAGE = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(
        [
            *(b"", b"\xef\xbb\xbf", b"\xff\xfe\x00", b"{", b"[", b"[]", b"{}", b"null", b"<"),
            *(b"[" * 100_000, b'{"a":' * 50_000, b"<a>" * 50_000),  # nested past any stack
            *(b"5", b'"text"', b"true", b'{"dataset": 5}', b'{"dataset": [5, null]}'),
        ]
    ),
)


def odd(*keys: str) -> dict[str, st.SearchStrategy[Any]]:
    return {key: VALUE for key in keys}


# -- the property -------------------------------------------------------------------------


def harvested(records: Callable[[], Iterable[SourceRecord]]) -> list[SourceRecord] | None:
    """The harvester's records, or None for a source it refused as a whole (with a
    bilingual message)."""
    try:
        return list(records())
    except HarvestSourceError as error:
        assert error.message["zh"].strip() and error.message["en"].strip()
        return None


def assert_explained(records: list[SourceRecord] | None) -> list[Validated | Failed]:
    if records is None:
        return []
    for record in records:
        assert isinstance(record, SourceRecord)
        assert record.kind in ("organization", "zone", "dataset")
        assert isinstance(record.data, dict)
        assert isinstance(record.location, str) and record.location.strip()
        for warning in record.warnings:
            assert warning["zh"].strip() and warning["en"].strip(), warning
    results = list(Pipeline().process(records))
    assert len(results) == len(records)
    for result in results:
        assert result.location.strip()
        if isinstance(result, Failed):
            assert isinstance(result.errors, dict) and result.errors, result
        else:
            assert isinstance(result, Validated)
            json.dumps(result.data)  # what the catalog stores: JSON-ready
    return results


def datasets(records: list[SourceRecord] | None) -> list[SourceRecord]:
    return [r for r in records or [] if r.kind == "dataset"]


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        yield Path(folder)


# -- CKAN ---------------------------------------------------------------------------------

CKAN_OURS = [
    "open_type",
    "开放属性",
    "grade",
    "domain",
    "所属领域",
    "update_frequency",
    "frequency",
    "zones",
    "formats",
    "record_count",
    "issued",
    "modified",
    "contact_phone",
    "contact_email",
    "landing_page",
    "operable",
    "metadata_public",
    "fields",
    "resource_code",
    "title_en",
]
CKAN_EXTRA = st.one_of(
    st.fixed_dictionaries(
        {"key": st.one_of(st.sampled_from(CKAN_OURS), TEXT), "value": VALUE},
        optional={"state": st.sampled_from(["active", "deleted"])},
    ),
    JUNK,
)
CKAN_ORG = st.one_of(
    st.fixed_dictionaries(
        {"id": st.one_of(st.uuids().map(str), TEXT)},
        optional={
            **odd("name", "title", "display_name", "description", "uscc", "email", "url"),
            "extras": st.one_of(st.lists(CKAN_EXTRA, max_size=3), JUNK),
        },
    ),
    st.fixed_dictionaries({}, optional=odd("name", "title")),
    JUNK,
)
CKAN_RESOURCE = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            **odd(
                "id",
                "name",
                "description",
                "format",
                "url",
                "mimetype",
                "size",
                "resource_type",
                "resource_locator_protocol",
            ),
            "state": st.sampled_from(["active", "deleted", None]),
        },
    ),
    JUNK,
)
CKAN_PACKAGE = st.fixed_dictionaries(
    {"id": st.one_of(st.uuids().map(str), TEXT, JUNK)},
    optional={
        **odd(
            "name",
            "title",
            "notes",
            "metadata_created",
            "metadata_modified",
            "license_title",
            "license_id",
            "url",
            "maintainer_email",
            "author_email",
            *CKAN_OURS,
        ),
        "private": st.one_of(st.booleans(), JUNK),
        "state": st.sampled_from(["active", "draft", "deleted"]),
        "tags": st.one_of(
            st.lists(st.one_of(st.fixed_dictionaries({}, optional=odd("name")), JUNK)), JUNK
        ),
        "extras": st.one_of(st.lists(CKAN_EXTRA, max_size=4), JUNK),
        "groups": st.one_of(
            st.lists(
                st.one_of(st.fixed_dictionaries({}, optional=odd("name", "title")), JUNK),
                max_size=3,
            ),
            JUNK,
        ),
        "organization": st.one_of(CKAN_ORG, st.none()),
        "resources": st.one_of(st.lists(CKAN_RESOURCE, max_size=4), JUNK),
    },
)


def ckan_portal(organizations: list[Any], packages: list[Any]) -> CkanHarvester:
    """The harvester over a portal that answers with these (no server: `_call` answers)."""
    harvester = CkanHarvester("https://data.example.cn", backoff=0)

    def call(action: str, **params: Any) -> Any:
        if action == "organization_list":
            return organizations if params["offset"] == 0 else []
        assert action == "package_search"
        page = packages if params["start"] == 0 else []
        return {"count": len(packages), "results": page}

    harvester._call = call  # type: ignore[method-assign]
    return harvester


@FUZZ
@given(
    organizations=st.lists(CKAN_ORG, max_size=3),
    packages=st.lists(st.one_of(CKAN_PACKAGE, CKAN_PACKAGE, JUNK), max_size=5),
)
def test_ckan_packages(organizations: list[Any], packages: list[Any]) -> None:
    records = harvested(ckan_portal(organizations, packages).records)
    assert_explained(records)


@FUZZ
@given(packages=st.lists(CKAN_PACKAGE, min_size=1, max_size=4))
def test_every_active_public_ckan_package_becomes_one_record(packages: list[Any]) -> None:
    for number, package in enumerate(packages):
        package.update(id=f"package-{number}", state="active", private=False)
        package.pop("organization", None)  # organizations are another test's business
    records = harvested(ckan_portal([], packages).records)
    assert records is not None and len(datasets(records)) == len(packages)
    assert_explained(records)


# -- DCAT in RDF --------------------------------------------------------------------------

IRIS = st.sampled_from(
    [
        "https://example.cn/a",
        "http://publications.europa.eu/resource/authority/frequency/DAILY",
        "http://publications.europa.eu/resource/authority/data-theme/TRAN",
        "https://www.iana.org/assignments/media-types/text/csv",
        "http://publications.europa.eu/resource/authority/file-type/CSV",
        "mailto:a@example.cn",
        "tel:+86-532-1234567",
        "urn:x:1",
    ]
)
LANGS = st.sampled_from([None, "zh", "zh-CN", "en", "fr", "x-junk"])
TYPES = st.sampled_from(
    [
        None,
        namespace.XSD.date,
        namespace.XSD.dateTime,
        namespace.XSD.integer,
        namespace.XSD.decimal,
        namespace.XSD.boolean,
        namespace.XSD.gYear,
        namespace.XSD.duration,
    ]
)


@st.composite
def rdf_value(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["text", "typed", "iri", "node"]))
    text = draw(TEXT)
    if kind == "text":
        return Literal(text, lang=draw(LANGS))
    if kind == "typed":
        return Literal(draw(st.one_of(TEXT, NUMBER.map(str))), datatype=draw(TYPES))
    if kind == "iri":
        return URIRef(draw(IRIS))
    return BNode()


DATASET_PREDICATES = [
    namespace.DCTERMS.title,
    namespace.DCTERMS.description,
    namespace.DCTERMS.identifier,
    namespace.DCAT.keyword,
    namespace.DCTERMS.publisher,
    namespace.DCAT.contactPoint,
    namespace.DCAT.theme,
    namespace.DCTERMS.accrualPeriodicity,
    namespace.DCTERMS.issued,
    namespace.DCTERMS.modified,
    namespace.DCTERMS.accessRights,
    namespace.DCTERMS.rights,
    namespace.DCAT.landingPage,
    namespace.DCTERMS.license,
    namespace.DCAT.distribution,
    dcat_rdf.PORTAL.openType,
    dcat_rdf.PORTAL.grade,
    dcat_rdf.PORTAL.domain,
    dcat_rdf.PORTAL.zones,
    dcat_rdf.PORTAL.openCondition,
]
NODE_PREDICATES = [
    namespace.FOAF.name,
    namespace.SKOS.prefLabel,
    namespace.RDFS.label,
    dcat_rdf.VCARD.fn,
    dcat_rdf.VCARD.hasEmail,
    dcat_rdf.VCARD.hasTelephone,
    dcat_rdf.VCARD.hasValue,
    namespace.FOAF.mbox,
    namespace.FOAF.homepage,
    namespace.DCTERMS.title,
    namespace.DCAT.downloadURL,
    namespace.DCAT.accessURL,
    namespace.DCTERMS.format,
    namespace.DCAT.mediaType,
    namespace.DCAT.byteSize,
    namespace.DCAT.accessService,
    dcat_rdf.PORTAL.position,
]


@st.composite
def dcat_graph(draw: st.DrawFn) -> Graph:
    graph = Graph()
    catalog = URIRef("https://example.cn/catalog")
    graph.add((catalog, namespace.RDF.type, namespace.DCAT.Catalog))
    if draw(st.booleans()):
        graph.add((catalog, namespace.DCTERMS.publisher, draw(rdf_value())))
    for number in range(draw(st.integers(0, 4))):
        node = URIRef(f"https://example.cn/ds/{number}") if draw(st.booleans()) else BNode()
        graph.add((node, namespace.RDF.type, namespace.DCAT.Dataset))
        if draw(st.booleans()):
            graph.add((catalog, namespace.DCAT.dataset, node))
        for predicate in draw(st.lists(st.sampled_from(DATASET_PREDICATES), max_size=10)):
            value = draw(rdf_value())
            graph.add((node, predicate, value))
            if isinstance(value, BNode | URIRef):  # the node an agent, contact, distribution
                for inner in draw(st.lists(st.sampled_from(NODE_PREDICATES), max_size=4)):
                    graph.add((value, inner, draw(rdf_value())))
    if draw(st.booleans()):  # a Hydra link to a page that is not there
        graph.add((catalog, URIRef("http://www.w3.org/ns/hydra/core#next"), URIRef("urn:x:1")))
    return graph


@FUZZ
@given(
    graph=dcat_graph(),
    syntax=st.sampled_from(
        [("turtle", ".ttl"), ("xml", ".rdf"), ("json-ld", ".jsonld"), ("nt", ".nt")]
    ),
)
def test_dcat_rdf_in_every_serialization(
    scratch: Path, graph: Graph, syntax: tuple[str, str]
) -> None:
    name, suffix = syntax
    try:
        data = graph.serialize(format=name, encoding="utf-8")
    except Exception:  # a graph rdflib itself cannot write (not the harvester's input)
        return
    path = scratch / f"catalog{suffix}"
    path.write_bytes(data)
    for options in ({}, {"format": name}):
        assert_explained(harvested(DcatHarvester(str(path), reach=LOCAL, **options).records))


@FUZZ
@given(
    garbage=GARBAGE,
    suffix=st.sampled_from([".ttl", ".rdf", ".jsonld", ".nt", ".json", ".xml", ".n3", ""]),
    syntax=st.sampled_from([None, "datajson", "json", "jsonld", "turtle", "nt", "xml"]),
)
def test_dcat_garbage(scratch: Path, garbage: bytes, suffix: str, syntax: str | None) -> None:
    path = scratch / f"garbage{suffix}"
    path.write_bytes(garbage)
    assert_explained(harvested(DcatHarvester(str(path), format=syntax, reach=LOCAL).records))


# -- DCAT-US data.json --------------------------------------------------------------------

DISTRIBUTION = st.one_of(
    st.fixed_dictionaries(
        {},
        optional=odd(
            "downloadURL", "accessURL", "mediaType", "format", "title", "description", "byteSize"
        ),
    ),
    JUNK,
)
DATA_JSON_DATASET = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            **odd(
                "title",
                "description",
                "identifier",
                "keyword",
                "theme",
                "superTheme",
                "accrualPeriodicity",
                "issued",
                "modified",
                "landingPage",
                "license",
                "accessLevel",
                "rights",
                "spatial",
                "temporal",
                "title_en",
                "iri",
            ),
            "publisher": st.one_of(st.fixed_dictionaries({}, optional=odd("name", "mbox")), JUNK),
            "contactPoint": st.one_of(
                st.fixed_dictionaries({}, optional=odd("fn", "hasEmail", "hasTelephone")), JUNK
            ),
            "distribution": st.one_of(st.lists(DISTRIBUTION, max_size=3), JUNK),
            "portal": st.one_of(
                st.fixed_dictionaries(
                    {}, optional=odd("open_type", "grade", "domain", "zones", "open_condition")
                ),
                JUNK,
            ),
        },
    ),
    JUNK,
)
DATA_JSON = st.fixed_dictionaries(
    {"dataset": st.lists(DATA_JSON_DATASET, max_size=5)},
    optional={
        "conformsTo": st.one_of(st.just("https://project-open-data.cio.gov/v1.1/schema"), VALUE),
        "publisher": VALUE,
        "themeTaxonomy": st.one_of(
            st.lists(st.fixed_dictionaries({}, optional=odd("id", "label")), max_size=3), JUNK
        ),
    },
)


@FUZZ
@given(catalog=DATA_JSON, bare_list=st.booleans(), named=st.booleans())
def test_data_json(scratch: Path, catalog: dict[str, Any], bare_list: bool, named: bool) -> None:
    document = catalog["dataset"] if bare_list else catalog
    path = scratch / "data.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    options = {"format": "datajson"} if named else {}
    records = harvested(DcatHarvester(str(path), reach=LOCAL, **options).records)
    assert_explained(records)
    if records is not None and (named or not bare_list):
        # one record per entry: an unreadable entry is a record with a warning, not a gap
        assert len(datasets(records)) == len(catalog["dataset"])


# -- Chinese portal JSON ------------------------------------------------------------------

CN_LABELS = [
    "标题",
    "资源名称",
    "subjectBaseName",
    "描述",
    "数据摘要",
    "数据提供方",
    "来源部门",
    "orgName",
    "所属领域",
    "主题分类",
    "所属行业",
    "开放属性",
    "开放条件",
    "openTypeName",
    "开放条件说明",
    "数据分级",
    "更新频率",
    "数据格式",
    "数据量",
    "发布时间",
    "更新时间",
    "关键字",
    "标签",
    "联系电话",
    "联系邮箱",
    "详情页网址",
    "url",
    "资源代码",
    "英文名称",
    "专区",
]
CN_RECORD = st.one_of(
    st.fixed_dictionaries({}, optional=odd(*CN_LABELS)),
    st.dictionaries(TEXT, VALUE, max_size=4),
    JUNK,
)


@FUZZ
@given(
    records=st.lists(CN_RECORD, max_size=6),
    shape=st.sampled_from(["list", "data", "nested", "twice"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_cnportal_json(scratch: Path, records: list[Any], shape: str, encoding: str) -> None:
    text = {
        "list": lambda: json.dumps(records, ensure_ascii=False),
        "data": lambda: json.dumps({"code": 200, "data": records}, ensure_ascii=False),
        "nested": lambda: json.dumps({"result": {"data": records}}, ensure_ascii=False),
        "twice": lambda: json.dumps(records[:2]) + json.dumps(records[2:], ensure_ascii=False),
    }[shape]()
    path = scratch / "portal.json"
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8"))
    found = harvested(CnPortalHarvester(path, reach=LOCAL).records)
    assert found is not None, "a JSON array of records is never unreadable as a whole"
    assert_explained(found)
    kept = datasets(found)
    repeats = sum(1 for r in kept for w in r.warnings if "the repeat was skipped" in w["en"])
    assert len(kept) + repeats == len(records)  # a skipped repeat is named on the one kept


@FUZZ
@given(garbage=GARBAGE)
def test_cnportal_garbage(scratch: Path, garbage: bytes) -> None:
    path = scratch / "garbage.json"
    path.write_bytes(garbage)
    assert_explained(harvested(CnPortalHarvester(path, reach=LOCAL).records))


# -- spreadsheets -------------------------------------------------------------------------

CATALOG_LABELS = [
    "数据目录名称",
    "数据提供方",
    "所属领域",
    "开放属性",
    "开放条件",
    "所属行业",
    "专区",
    "数据分级",
    "更新频率",
    "数据格式",
    "数据量",
    "发布日期",
    "更新日期",
    "关键字",
    "资源代码",
    "联系电话",
    "联系邮箱",
    "详情页网址",
    "下载地址",
    "接口地址",
    "统一社会信用代码",
    "是否可授权运营",
    "数据摘要",
]
ITEM_LABELS = [
    "资源代码",
    "目录名称",
    "信息项名称",
    "中文名称",
    "数据类型",
    "长度",
    "分级",
    "是否敏感",
]
CELL = st.one_of(
    TEXT,
    TEXT,
    NUMBER,
    st.none(),
    st.booleans(),
    st.dates(min_value=date(1, 1, 1)),
    st.datetimes(min_value=datetime(1900, 1, 1)),
)


def table(labels: list[str]) -> st.SearchStrategy[list[list[Any]]]:
    header = st.lists(st.one_of(st.sampled_from(labels), TEXT), min_size=1, max_size=10)
    return header.flatmap(
        lambda head: st.lists(st.lists(CELL, min_size=0, max_size=len(head) + 2), max_size=5).map(
            lambda rows: [list(head), *rows]
        )
    )


def text_cell(value: Any) -> str:
    return "" if value is None else str(value)


@FUZZ
@given(
    rows=table(CATALOG_LABELS),
    items=st.one_of(st.none(), table(ITEM_LABELS)),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
    delimiter=st.sampled_from([",", "\t", ";"]),
)
def test_spreadsheet_csv(
    scratch: Path,
    rows: list[list[Any]],
    items: list[list[Any]] | None,
    encoding: str,
    delimiter: str,
) -> None:
    folder = scratch / f"csv-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    write_csv(folder / "catalog.csv", rows, encoding, delimiter)
    if items is not None:
        write_csv(folder / "catalog.信息项.csv", items, encoding, delimiter)
    assert_explained(
        harvested(SpreadsheetHarvester(str(folder / "catalog.csv"), reach=LOCAL).records)
    )


def write_csv(path: Path, rows: list[list[Any]], encoding: str, delimiter: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([[text_cell(c) for c in r] for r in rows])
    try:
        path.write_bytes(buffer.getvalue().encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(buffer.getvalue().encode("utf-8", "surrogatepass"))


def xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # openpyxl cannot write them
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)  # a cell holds a double
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)
    return value


DCAT_SHEETS = {
    "Catalog": ["catalog_title", "catalog_publisher_name", "catalog_license"],
    "Dataset": [
        "dataset_identifier",
        "dataset_title",
        "dataset_description",
        "dataset_publisher_name",
        "dataset_superTheme",
        "dataset_accrualPeriodicity",
        "dataset_issued",
        "dataset_keyword",
    ],
    "Distribution": [
        "dataset_identifier",
        "distribution_title",
        "distribution_downloadURL",
        "distribution_format",
        "distribution_byteSize",
    ],
    "Field": ["dataset_identifier", "field_title", "field_type", "field_description"],
}


@FUZZ
@given(
    layout=st.sampled_from(["template", "dcat"]),
    sheets=st.lists(st.tuples(table(CATALOG_LABELS), table(ITEM_LABELS)), min_size=1, max_size=1),
    dcat=st.fixed_dictionaries({name: table(labels) for name, labels in DCAT_SHEETS.items()}),
    extra_sheet=st.booleans(),
)
def test_spreadsheet_xlsx(
    scratch: Path,
    layout: str,
    sheets: list[tuple[list[list[Any]], list[list[Any]]]],
    dcat: dict[str, list[list[Any]]],
    extra_sheet: bool,
) -> None:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    if layout == "template":
        catalog, items = sheets[0]
        contents = {"数据目录": catalog, "信息项": items}
    else:
        contents = dcat
    if extra_sheet:
        contents = {**contents, "说明": [["填写说明"], ["<script>"]]}
    for name, rows in contents.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append([xlsx_cell(c) for c in row])
    path = scratch / "catalog.xlsx"
    workbook.save(path)
    assert_explained(harvested(SpreadsheetHarvester(str(path), reach=LOCAL).records))


@FUZZ
@given(garbage=GARBAGE, suffix=st.sampled_from([".csv", ".xlsx", ".tsv", ".xls"]))
def test_spreadsheet_garbage(scratch: Path, garbage: bytes, suffix: str) -> None:
    path = scratch / f"garbage{suffix}"
    path.write_bytes(garbage)
    assert_explained(harvested(SpreadsheetHarvester(str(path), reach=LOCAL).records))


# -- the JSON Lines import ----------------------------------------------------------------


@pytest.fixture
def export_lines(app: Flask, seeded: Catalog) -> list[str]:
    seeded.datasets.create(
        dataset(keywords=["公交"], fields=[{"name": "line_no", "title": "线路编号"}])
    )
    seeded.datasets.create(dataset(name="metro", title="地铁线路"))
    seeded.datasets.withdraw("metro", reason="合并")
    seeded.session.commit()
    out = io.StringIO()
    export_catalog(seeded.session, out)
    return out.getvalue().splitlines()


@pytest.fixture
def empty_app(tmp_path: Path, new_database_url: Callable[[], str]) -> Iterator[Flask]:
    app = create_app({"instance_path": str(tmp_path / "empty"), "database_url": new_database_url()})
    lifecycle.initialize(app)
    yield app
    database(app).dispose()


def mutate(draw: st.DrawFn, line: str) -> str:
    """One line of an export, broken in one of the ways a hand-edited file breaks."""
    how = draw(st.sampled_from(["keep", "value", "drop", "garbage", "type", "truncate"]))
    if how == "keep":
        return line
    if how == "garbage":
        return draw(st.one_of(TEXT, GARBAGE.map(lambda b: b.decode("utf-8", "replace"))))
    if how == "truncate":
        return line[: draw(st.integers(0, max(0, len(line) - 1)))]
    record = json.loads(line)
    target = (
        record.get("data")
        if isinstance(record.get("data"), dict) and draw(st.booleans())
        else record
    )
    if not target:
        return draw(JUNK.map(json.dumps))
    key = draw(st.sampled_from(sorted(target)))
    if how == "drop":
        del target[key]
    elif how == "type":
        target[key] = draw(
            st.one_of(st.lists(SCALAR, max_size=2), st.dictionaries(TEXT, SCALAR, max_size=2))
        )
    else:
        target[key] = draw(VALUE)
    return json.dumps(record, ensure_ascii=False)


@st.composite
def broken_exports(draw: st.DrawFn, lines: list[str]) -> list[str]:
    out = [mutate(draw, line) for line in lines]
    if draw(st.booleans()):  # a line repeated, or one from nowhere
        out.insert(draw(st.integers(0, len(out))), draw(st.sampled_from(lines)))
    return out


def test_import_of_broken_exports(export_lines: list[str], empty_app: Flask) -> None:
    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        lines = data.draw(broken_exports(export_lines))
        with database(empty_app).sessions() as session:
            session.begin()
            try:
                counts = import_catalog(Catalog(session, "fuzz", policy(empty_app)), lines)
            except CatalogError as error:
                assert error.errors
                for where, problems in error.errors.items():
                    assert where.startswith("line ") or where == "_", where
                    assert problems
            else:
                assert sum(counts.values()) <= len(lines)
            finally:
                session.rollback()

    run()
    with database(empty_app).sessions() as session:  # all or nothing: nothing stayed
        assert not session.scalar(select(func.count()).select_from(Organization))
