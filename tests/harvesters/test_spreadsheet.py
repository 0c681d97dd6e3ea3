"""The spreadsheet harvester: the Chinese catalog template (XLSX and CSV in four encodings)
and the DCAT-style workbook, checked against its JSON twin."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from harvesters import Failed, Pipeline, SourceRecord, SourceSettings, Validated
from harvesters.base import stable_name
from harvesters.outbound import Reach
from harvesters.spreadsheet import HarvestSourceError, SpreadsheetHarvester
from harvesters.spreadsheet_io import detect_encoding
from schemas import vocab

LOCAL = Reach(local_files=True)  # the tests name files as an operator would

AR = Path("realdata/ar-spreadsheet-catalog")
USCC = "11370200004012340B"

CATALOG_HEADER = [
    "数据目录名称", "资源代码", "数据提供方", "统一社会信用代码", "所属领域", "所属行业",
    "基础信息分类", "专区", "开放属性", "开放条件", "共享属性", "共享方式", "数据分级",
    "数据加工程度", "更新频率", "数据格式", "数据量", "发布日期", "更新日期", "关键字",
    "联系电话", "联系邮箱", "是否可授权运营", "下载地址", "内部编号",
]  # fmt: skip
BUS = {
    "数据目录名称": "公交线路基础信息", "资源代码": "306001000001",
    "数据提供方": "青岛市交通运输局", "统一社会信用代码": USCC, "所属领域": "交通运输",
    "所属行业": "G 交通运输、仓储和邮政业", "基础信息分类": "物", "专区": "交通专区、港航专区",
    "开放属性": "无条件开放", "共享属性": "无条件共享", "共享方式": "接口",
    "数据分级": "一般数据1级", "数据加工程度": "原始", "更新频率": "每日",
    "数据格式": "csv、json", "数据量": "12,345", "关键字": "公交、线路,站点",
    "联系电话": "0532-88888888", "联系邮箱": "jtj@qingdao.gov.cn", "是否可授权运营": "是",
    "下载地址": "https://data.qingdao.gov.cn/files/bus-lines.csv", "内部编号": "JT-01",
}  # fmt: skip
ELDERLY = {
    "数据目录名称": "养老服务对象信息", "资源代码": "306002000002",
    "数据提供方": "青岛市民政局", "所属领域": "社保就业", "开放属性": "不予开放",
    "数据分级": "一般数据4级", "更新频率": "每两年", "联系邮箱": "not-an-email",
    "发布日期": "去年",
}  # fmt: skip
HOMES = {
    "数据目录名称": "养老机构入住人员名单", "数据提供方": "青岛市民政局",
    "所属领域": "社保就业", "开放属性": "有条件开放", "开放条件": "实名认证后申请",
    "数据分级": "一般数据2级", "更新频率": "R/P1M",
}  # fmt: skip
UNTITLED = {"数据提供方": "青岛市民政局", "所属领域": "社保就业", "开放属性": "无条件开放"}
ITEMS_HEADER = [
    "资源代码",
    "目录名称",
    "信息项名称",
    "中文名称",
    "数据类型",
    "长度",
    "分级",
    "是否敏感",
]
ITEMS = [
    ["306002000002", None, "xm", "姓名", "字符串", 50, "一般数据3级", "是"],
    ["306002000002", None, "sfzh", "身份证号", "varchar(18)", None, "一般数据4级", "是"],
    ["306002000002", None, "fwlx", "服务类型", "字符串", None, None, "否"],
    [None, "养老机构入住人员名单", "sfzh", "身份证号", "字符串", 18, "一般数据4级", "是"],
    [None, "不存在的目录", "x", "某项", "字符串", None, None, None],
]


def _row(values: dict[str, Any], header: list[str]) -> list[Any]:
    return [values.get(label) for label in header]


def _make_template_xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    catalog = workbook.active
    catalog.title = "数据目录"
    catalog.append(["青岛市公共数据资源目录（2025 年）"])  # a title row above the header
    catalog.append(CATALOG_HEADER)
    bus = {**BUS, "发布日期": datetime(2024, 1, 5, 8, 30), "更新日期": "2024年3月1日"}
    catalog.append(_row(bus, CATALOG_HEADER))
    catalog.append([])  # empty rows are skipped
    for values in (ELDERLY, HOMES, UNTITLED):
        catalog.append(_row(values, CATALOG_HEADER))
    items = workbook.create_sheet("信息项")
    items.append(ITEMS_HEADER)
    for item in ITEMS:
        items.append(item)
    workbook.save(path)
    return path


Harvest = tuple[list[SourceRecord], list[Validated | Failed]]


def _harvest(path: Path, **options: Any) -> Harvest:
    records = list(SpreadsheetHarvester(str(path), reach=LOCAL, **options).records())
    settings = SourceSettings(defaults={"open_type": "unconditional"})
    return records, list(Pipeline(source=settings).process(records))


def _datasets(records: list[SourceRecord]) -> dict[str, SourceRecord]:
    return {r.data.get("title", r.location): r for r in records if r.kind == "dataset"}


def _messages(record: SourceRecord | Failed | Validated) -> list[str]:
    return [w["zh"] for w in record.warnings]


# --- The Chinese template as XLSX ---------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Harvest:
    path = _make_template_xlsx(tmp_path_factory.mktemp("xlsx") / "qd-catalog.xlsx")
    return _harvest(path)


def test_template_xlsx_maps_every_column_exactly(template: Harvest) -> None:
    records, _ = template
    organizations = [r for r in records if r.kind == "organization"]
    assert [r.data for r in organizations] == [
        {"name": stable_name("qd-catalog", USCC), "title": "青岛市交通运输局", "uscc": USCC},
        {"name": stable_name("qd-catalog", "青岛市民政局"), "title": "青岛市民政局"},
    ]
    assert records.index(organizations[-1]) < min(
        i for i, r in enumerate(records) if r.kind == "dataset"
    ), "organizations come first"
    bus = _datasets(records)["公交线路基础信息"]
    assert bus.location == "qd-catalog.xlsx, sheet 数据目录, row 3"
    assert bus.data == {
        "name": stable_name("qd-catalog", "306001000001"),
        "title": "公交线路基础信息",
        "resource_code": "306001000001",
        "publisher": stable_name("qd-catalog", USCC),
        "domain": "transport",
        "industry": "G",
        "basic_category": "object",
        "zones": ["transport", "port"],
        "open_type": "unconditional",
        "share_type": "unconditional",
        "share_method": "api",
        "grade": "general1",
        "processing_level": "raw",
        "update_frequency": "daily",
        "formats": ["csv", "json"],
        "record_count": 12345,
        "issued": "2024-01-05",
        "modified": "2024-03-01",
        "keywords": ["公交", "线路", "站点"],
        "contact_phone": "0532-88888888",
        "contact_email": "jtj@qingdao.gov.cn",
        "operable": True,
        "resources": [
            {
                "name": "公交线路基础信息",
                "kind": "file",
                "url": "https://data.qingdao.gov.cn/files/bus-lines.csv",
                "format": "csv",
            }
        ],
        "extras": {"source_id": "306001000001", "内部编号": "JT-01"},
    }


def test_template_unknown_columns_are_reported_once(template: Harvest) -> None:
    records, _ = template
    notes = [m for r in records for m in _messages(r) if "不认识的列" in m]
    assert notes == [
        "qd-catalog.xlsx, sheet 数据目录：不认识的列 「内部编号」，其值仅保存在 extras 中"
    ]


def test_template_items_join_their_dataset_and_grades_follow_the_profile(template: Harvest) -> None:
    records, results = template
    elderly = _datasets(records)["养老服务对象信息"]
    assert elderly.data["fields"] == [
        {"name": "xm", "title": "姓名", "type": "string", "length": 50, "grade": "general3",
         "sensitive": True},
        {"name": "sfzh", "title": "身份证号", "type": "string", "length": 18,
         "grade": "general4", "sensitive": True},
        {"name": "fwlx", "title": "服务类型", "type": "string", "sensitive": False},
    ]  # fmt: skip
    by_location = {r.location: r for r in results}
    # Graded 一般数据4级 like its 身份证号 column, and closed: valid.
    assert isinstance(by_location[elderly.location], Validated)
    # The same column in a dataset graded 2级: the profile rejects the grade.
    homes = _datasets(records)["养老机构入住人员名单"]
    assert [f["name"] for f in homes.data["fields"]] == ["sfzh"]
    failed = by_location[homes.location]
    assert isinstance(failed, Failed) and set(failed.errors) == {"grade"}
    assert "身份证号" not in str(failed.errors) and "sfzh" in str(failed.errors)


def test_template_bad_values_are_dropped_with_warnings_naming_the_column(template: Harvest) -> None:
    records, _ = template
    elderly = _datasets(records)["养老服务对象信息"]
    assert elderly.location == "qd-catalog.xlsx, sheet 数据目录, row 5"
    assert _messages(elderly) == [
        "列「更新频率」：「每两年」不在词表「更新频率」中，已忽略",
        "列「发布日期」：「去年」不是可识别的日期，已忽略",
        "列「联系邮箱」：「not-an-email」不是有效的电子邮箱，已忽略",
    ]
    assert elderly.warnings[0]["en"].startswith("column 更新频率: '每两年' is not in")
    for dropped in ("update_frequency", "issued", "contact_email"):
        assert dropped not in elderly.data
    homes = _datasets(records)["养老机构入住人员名单"]
    assert homes.data["update_frequency"] == "monthly" and homes.data["open_condition"]


def test_template_rows_that_cannot_validate_fail_with_a_location(template: Harvest) -> None:
    _, results = template
    failed = [r for r in results if isinstance(r, Failed)]
    assert Counter(type(r).__name__ for r in results) == {"Validated": 4, "Failed": 3}
    untitled = next(r for r in failed if r.location.endswith("row 7"))
    assert "title" in untitled.errors
    assert _messages(untitled) == ["列「数据目录名称」：必填项为空"]
    orphan = next(r for r in failed if "信息项" in r.location)
    assert orphan.location == "qd-catalog.xlsx, sheet 信息项, row 6"
    assert "「不存在的目录」不在目录表中" in _messages(orphan)[0]
    assert all(r.errors and r.location for r in failed)


def test_names_are_stable_across_runs(tmp_path: Path) -> None:
    path = _make_template_xlsx(tmp_path / "qd-catalog.xlsx")
    first = [r.data.get("name") for r in SpreadsheetHarvester(str(path), reach=LOCAL).records()]
    second = [r.data.get("name") for r in SpreadsheetHarvester(str(path), reach=LOCAL).records()]
    assert first == second and len(set(first)) == len(first)
    renamed = SpreadsheetHarvester(str(path), prefix="minzheng", reach=LOCAL).records()
    assert all(r.data.get("name", "minzheng").startswith("minzheng") for r in renamed)


# --- The Chinese template as CSV ------------------------------------------------------------

CSV_HEADER = [
    "标题",
    "数据提供方",
    "所属领域",
    "开放属性",
    "更新频率",
    "数据格式",
    "发布日期",
    "关键字",
]
CSV_ROWS = [
    ["𠮷野家门店名录", "青岛市商务局", "商贸流通", "无条件", "按月更新", "CSV", "2024/1/5",
     "餐饮;门店"],
    ["居民身份核验", "青岛市公安局", "公共安全", "不予开放", "实时", "接口",
     "2023-12-31 10:00", ""],
]  # fmt: skip
CSV_ITEMS = [
    ["目录名称", "信息项名称", "中文名称", "数据类型", "分级", "是否敏感"],
    ["居民身份核验", "sfzh", "身份证号", "字符串", "一般数据4级", "是"],
]
EXPECTED_CSV = {
    "𠮷野家门店名录": {
        "title": "𠮷野家门店名录",
        "publisher": stable_name("shop", "青岛市商务局"),
        "domain": "commerce",
        "open_type": "unconditional",
        "update_frequency": "monthly",
        "formats": ["csv"],
        "issued": "2024-01-05",
        "keywords": ["餐饮", "门店"],
    },
    "居民身份核验": {
        "title": "居民身份核验",
        "publisher": stable_name("shop", "青岛市公安局"),
        "domain": "public-security",
        "open_type": "closed",
        "update_frequency": "realtime",
        "formats": ["api"],
        "issued": "2023-12-31",
        "fields": [
            {"name": "sfzh", "title": "身份证号", "type": "string", "grade": "general4",
             "sensitive": True}
        ],
    },
}  # fmt: skip


def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_encoding_harvests_to_the_same_records(tmp_path: Path, encoding: str) -> None:
    rows = [CSV_HEADER, *CSV_ROWS]
    if encoding == "gbk":  # 𠮷 is beyond GBK
        rows[1] = [rows[1][0].replace("𠮷", "吉"), *rows[1][1:]]
    _write_csv(tmp_path / "shop.csv", rows, encoding)
    _write_csv(tmp_path / "shop.信息项.csv", CSV_ITEMS, encoding)
    records, results = _harvest(tmp_path / "shop.csv")
    expected = {
        k.replace("𠮷", "吉") if encoding == "gbk" else k: v for k, v in EXPECTED_CSV.items()
    }
    datasets = _datasets(records)
    assert set(datasets) == set(expected)
    for title, want in expected.items():
        got = {k: v for k, v in datasets[title].data.items() if k not in ("name", "extras")}
        assert got == {**want, "title": title}
        assert datasets[title].warnings == ()
    assert datasets[title].location == "shop.csv, row 3"
    # 身份证号 is 一般数据4级 and the pipeline grades a closed dataset 4级: valid.
    assert all(isinstance(r, Validated) for r in results), [
        (r.location, r.errors) for r in results if isinstance(r, Failed)
    ]


def test_short_gbk_text_that_detectors_take_for_korean_still_reads_as_gbk(tmp_path: Path) -> None:
    # The trap: charset-normalizer alone takes this for cp949 (Korean), which also decodes it.
    raw = "标题,数据提供方\n名称,青岛\n".encode("gbk")
    assert raw.decode("cp949") != raw.decode("gbk")
    assert detect_encoding(raw) == "gb18030"
    spanish = "título,descripción\nEstadística,Año\n".encode("cp1252")
    assert spanish.decode("gb18030")  # decodes as GB18030 too, but is no Chinese text
    assert detect_encoding(spanish) not in ("gb18030", "utf-8")
    (tmp_path / "short.csv").write_bytes(raw)
    records, _ = _harvest(tmp_path / "short.csv")
    assert [r.data["title"] for r in records] == ["青岛", "名称"]


def test_a_source_that_cannot_be_read_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HarvestSourceError, match="no such file"):
        list(SpreadsheetHarvester(str(tmp_path / "missing.xlsx"), reach=LOCAL).records())
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(HarvestSourceError, match="not a readable XLSX"):
        list(SpreadsheetHarvester(str(tmp_path / "broken.xlsx"), reach=LOCAL).records())
    _write_csv(tmp_path / "notes.csv", [["a", "b"], ["1", "2"]], "utf-8")
    with pytest.raises(HarvestSourceError, match="no header row"):
        list(SpreadsheetHarvester(str(tmp_path / "notes.csv"), reach=LOCAL).records())


# --- The DCAT-style workbook and its JSON twin ------------------------------------------------


@cache
def _harvest_once(path: str) -> Harvest:
    return _harvest(Path(path))


Golden = tuple[dict[str, Any], list[SourceRecord], list[Validated | Failed]]


@pytest.fixture
def golden(shared: Path) -> Golden:
    folder = shared / AR
    twin = json.loads((folder / "catalogo-justicia.json").read_text("utf-8"))
    return (twin, *_harvest_once(str(folder / "catalogo-justicia.xlsx")))


def _strip(text: str | None) -> str | None:
    return text.strip() if text else text


def test_dcat_workbook_matches_its_json_twin(golden: Golden) -> None:
    twin, records, _ = golden
    harvested = {r.data["extras"]["source_id"]: r.data for r in records if r.kind == "dataset"}
    assert len(harvested) == len(twin["dataset"]) == 18
    assert sum(len(d.get("resources", [])) for d in harvested.values()) == 71
    for expected in twin["dataset"]:
        got = harvested[expected["identifier"]]
        assert got["title"] == _strip(expected["title"])
        assert got["description"] == _strip(expected["description"])
        assert got["publisher"] == stable_name("catalogo-justicia", expected["publisher"]["name"])
        assert got["keywords"] == expected["keyword"]
        assert got["landing_page"] == expected["landingPage"]
        assert got["issued"] == expected["issued"][:10]
        distributions = [
            (d["title"], d["downloadURL"], d["format"].lower()) for d in expected["distribution"]
        ]
        resources = [(r["name"], r["url"], r["format"]) for r in got["resources"]]
        assert resources == distributions
        fields: dict[str, tuple[str, str]] = {}
        for distribution in expected["distribution"]:
            for f in distribution.get("field", []):
                fields.setdefault(
                    f["title"], (vocab("field_types").resolve(f["type"]), f["description"])
                )
        assert {f["name"]: (f["type"], f["description"]) for f in got.get("fields", [])} == fields


def test_dcat_workbook_validates_and_maps_periodicity(golden: Golden) -> None:
    twin, records, results = golden
    assert Counter((r.kind, type(r).__name__) for r in results) == {
        ("organization", "Validated"): 15,
        ("dataset", "Validated"): 18,
    }
    periodicity = {d["identifier"]: d["accrualPeriodicity"] for d in twin["dataset"]}
    for record in (r for r in records if r.kind == "dataset"):
        iso = periodicity[record.data["extras"]["source_id"]]
        expected = {"R/P1M": "monthly", "R/P3M": "quarterly", "R/P1D": "daily",
                    "R/P1Y": "annual", "eventual": "irregular"}.get(iso)  # fmt: skip
        assert record.data.get("update_frequency") == expected
        if expected is None:  # R/P0.5M: twice a month has no term
            assert _messages(record) == [
                "列「dataset_accrualPeriodicity」：「R/P0.5M」不在词表「更新频率」中，已忽略"
            ]
        assert record.data["domain"] == "legal-services"  # superTheme JUST


def test_erroneous_workbook_is_reported_row_by_row(shared: Path) -> None:
    path = shared / AR / "catalogo-justicia-con-error-datasets.xlsx"
    records, results = _harvest(path)
    failed = [r for r in results if isinstance(r, Failed)]
    datasets = [r for r in records if r.kind == "dataset"]
    assert len(datasets) == 16 and len(failed) == 16  # rows 18–19 are empty, 2–17 untitled
    for number, result in enumerate(failed, start=2):
        assert (
            result.location
            == f"catalogo-justicia-con-error-datasets.xlsx, sheet Dataset, row {number}"
        )
        assert set(result.errors) == {"title"}
        assert "列「dataset_title」：必填项为空" in _messages(result)


def test_dcat_rows_of_other_sheets_are_reported_with_sheet_row_and_column(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    dataset = workbook.active
    dataset.title = "Dataset"
    dataset.append(["dataset_identifier", "dataset_title", "dataset_superTheme", "dataset_color"])
    dataset.append(["a1", "Bus stops", "TRAN", "blue"])
    distribution = workbook.create_sheet("Distribution")
    distribution.append(
        [
            "dataset_identifier",
            "distribution_title",
            "distribution_downloadURL",
            "distribution_format",
        ]
    )
    distribution.append(["a1", "stops", "https://example.org/stops.zip", "ZIP"])
    distribution.append(["zz", "lost", "https://example.org/lost.csv", "CSV"])
    workbook.save(tmp_path / "dcat.xlsx")
    records, results = _harvest(tmp_path / "dcat.xlsx")
    bus = _datasets(records)["Bus stops"]
    assert bus.data["domain"] == "transport" and bus.data["extras"]["dataset_color"] == "blue"
    assert bus.data["resources"] == [
        {"name": "stops", "kind": "file", "url": "https://example.org/stops.zip"}
    ]
    assert _messages(bus) == [
        "dcat.xlsx, sheet Dataset：不认识的列 「dataset_color」，其值仅保存在 extras 中",
        "「Distribution」表第 2 行，列「distribution_format」："
        "「ZIP」不在词表「数据格式」中，已忽略",
    ]
    lost = next(r for r in results if isinstance(r, Failed) and "Distribution" in r.location)
    assert lost.location == "dcat.xlsx, sheet Distribution, row 3"
    assert _messages(lost) == [
        "dcat.xlsx, sheet Distribution, row 3：所属数据集「zz」不在「Dataset」表中"
    ]


def test_an_unreadable_items_sheet_is_reported(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "数据目录"
    workbook.active.append(["数据目录名称", "数据提供方"])
    workbook.active.append(["公交站点", "青岛市交通运输局"])
    workbook.create_sheet("信息项").append(["甲", "乙"])
    workbook.save(tmp_path / "x.xlsx")
    records, _ = _harvest(tmp_path / "x.xlsx")
    assert "x.xlsx, sheet 信息项：找不到信息项表头" in _messages(_datasets(records)["公交站点"])[0]
