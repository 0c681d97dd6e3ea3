"""The cnportal harvester: Chinese portal JSON exports, real (../shared/realdata/cn-portals)
and synthetic."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from harvesters import (
    Failed,
    HarvestSourceError,
    Pipeline,
    SourceRecord,
    Validated,
    available_harvesters,
)
from harvesters.cnportal import CnPortalHarvester, load_rules, read_export
from harvesters.labels import field_for
from harvesters.outbound import Reach
from harvesters.pipeline import SourceSettings
from portal.harvest.runner import run_harvest
from portal.services import database, policy
from schemas import flatten, vocab

LOCAL = Reach(local_files=True)  # the tests name files as an operator would

REAL_RECORDS = 36_006
REPEATED_EXACTLY = {"sichuan_yibin.json": 654, "sichuan_meishan.json": 1}

GUIZHOU = {
    "标题": "公交线路信息",
    "数据摘要": "公交线路走向与站点",
    "主题名称": "交通运输",
    "数据提供方": "遵义市交通运输局",
    "所属行业": "交通运输、仓储和邮政业",
    "更新时间": "2023-06-16",
    "发布时间": "2022-06-12 06:57:02",
    "开放属性": "无条件开放",
    "更新频率": "每年",
    "详情页网址": "http://data.guizhou.gov.cn/open-data/0001",
    "数据格式": ["json", "xls"],
}


def harvest(path: Path, **options: Any) -> list[SourceRecord]:
    return list(CnPortalHarvester(path, reach=LOCAL, **options).records())


def by_location(records: list[SourceRecord]) -> dict[str, SourceRecord]:
    return {r.location: r for r in records if r.kind == "dataset"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def record(**changes: Any) -> dict[str, Any]:
    return {**GUIZHOU, **changes}


def warned(item: SourceRecord | Validated | Failed, text: str) -> bool:
    return any(text in w["zh"] or text in w["en"] for w in item.warnings)


def warned_about(item: SourceRecord, field: str, value: str) -> bool:
    """A warning on `field` that names `value` (「其他」 in a domain warning does not count)."""
    return any(
        w["zh"].startswith(f"{field}：") and f"「{value}」" in w["zh"] for w in item.warnings
    )


# --- the real exports ---------------------------------------------------------------


@pytest.fixture(scope="module")
def portals() -> Path:
    folder = Path(__file__).resolve().parents[2].parent / "shared/realdata/cn-portals"
    if not folder.is_dir():
        pytest.skip("../shared is absent (a fresh clone); real-data tests skipped")
    return folder


@pytest.fixture(scope="module")
def real(portals: Path) -> dict[str, Any]:
    """All 13 exports, harvested and through the pipeline once."""
    records = harvest(portals)
    return {"records": records, "results": list(Pipeline().process(records))}


@pytest.mark.realdata
def test_every_real_record_goes_through_and_every_failure_says_why(real) -> None:  # type: ignore[no-untyped-def]
    datasets = [r for r in real["records"] if r.kind == "dataset"]
    # Exact repeats are yielded once (the kept record names the repeats); nothing else is lost.
    skipped = sum(REPEATED_EXACTLY.values())
    assert len(datasets) + skipped == REAL_RECORDS
    repeats = Counter(
        r.location.split(":")[0]
        for r in datasets
        for w in r.warnings
        if "the repeat was skipped" in w["en"]
    )
    assert repeats == REPEATED_EXACTLY

    results = real["results"]
    assert len(results) == len(real["records"])
    failed = [r for r in results if isinstance(r, Failed)]
    by_field = Counter(path for item in failed for path, _ in flatten(item.errors))
    # The one record that fails: 眉山 #5249 names no 提供单位.
    assert by_field == {"publisher": 1}, by_field
    assert [f.location for f in failed] == ["sichuan_meishan.json:#5249"]
    assert all(f.errors[field] for f in failed for field in f.errors)  # a reason each
    valid = Counter(r.kind for r in results if isinstance(r, Validated))
    assert valid["dataset"] == len(datasets) - 1
    assert valid["organization"] == 1189  # publishers, each once per portal
    # How fast: bench/harvest.py (cnportal), not a timed test that fails on a busy machine.


@pytest.mark.realdata
def test_every_open_type_and_frequency_value_is_mapped_or_warned(portals, real) -> None:  # type: ignore[no-untyped-def]
    harvested = by_location(real["records"])
    rules = load_rules()
    fields = {"open_type", "open_type_or_condition", "update_frequency"}
    outcomes: dict[tuple[str, str], set[str]] = defaultdict(set)  # (field, raw) → outcomes
    for file in sorted(portals.glob("*.json")):
        if file.name in rules.ignore_files:
            continue
        for n, raw in enumerate(read_export(file), start=1):
            mapped = harvested.get(f"{file.name}:#{n}")
            if mapped is None:  # an exact repeat, skipped
                continue
            for label, value in raw.items():
                name = field_for(label, rules.labels)
                if name not in fields or value in (None, ""):
                    continue
                target = "update_frequency" if name == "update_frequency" else "open_type"
                terms = vocab(
                    "update_frequencies" if target == "update_frequency" else "open_types"
                )
                expected = terms.resolve(value)
                if expected and mapped.data.get(target) == expected:
                    outcomes[(target, value)].add("mapped")
                elif warned_about(mapped, target, value):
                    outcomes[(target, value)].add("warned")
                elif (
                    name == "open_type_or_condition" and mapped.data.get("open_condition") == value
                ):
                    outcomes[(target, value)].add("condition")
                else:
                    outcomes[(target, value)].add("lost")
    assert outcomes, "no values found"
    lost = sorted(key for key, seen in outcomes.items() if "lost" in seen)
    assert not lost, lost
    distinct = {key: seen.pop() for key, seen in outcomes.items() if len(seen) == 1}
    assert distinct == {
        ("open_type", "无条件开放"): "mapped",
        ("open_type", "有条件开放"): "mapped",
        ("open_type", "无条件"): "mapped",
        ("open_type", "有条件"): "mapped",
        ("update_frequency", "实时"): "mapped",
        ("update_frequency", "每年"): "mapped",
        ("update_frequency", "每月"): "mapped",
        ("update_frequency", "每季度"): "mapped",
        ("update_frequency", "每半年"): "mapped",
        ("update_frequency", "每周"): "mapped",
        ("update_frequency", "每天"): "mapped",
        ("update_frequency", "每日"): "mapped",
        ("update_frequency", "不定期"): "mapped",
        ("update_frequency", "其他"): "warned",  # 眉山: no frequency of ours
    }


@pytest.mark.realdata
def test_the_first_guiyang_record_maps_exactly(portals: Path) -> None:
    records = harvest(portals / "guizhou_guiyang.json")
    url = "http://data.guizhou.gov.cn/open-data/2b81cbc4-32df-46fa-b843-59ca708b65e5"
    first = by_location(records)["guizhou_guiyang.json:#1"]
    assert first.data == {
        "name": "guizhou_guiyang-53cd3e8e1f",
        "title": "城市管理-勤务动态-行业在岗人数统计_各区县行业在岗人数",
        "description": "城市管理-勤务动态-行业在岗人数统计_各区县行业在岗人数",
        "publisher": "guizhou_guiyang-9c9b930b0e",
        "domain": "other",  # 默认主题
        "open_type": "conditional",
        "open_condition": f"依申请开放，具体条件见原平台（{url}）",
        "update_frequency": "realtime",
        "issued": "2023-06-16",
        "modified": "2023-06-16",
        "formats": ["json"],
        "landing_page": url,
        "extras": {
            "defaulted": "open_condition, domain",
            "portal": "guizhou_guiyang",
            "source_id": url,
        },
    }
    assert [w["en"] for w in first.warnings] == [
        "domain: the record names no known domain; registered as 'other'."
    ]
    # 所属行业 默认行业 is a placeholder: no industry, and no warning for it.
    assert records[0] == SourceRecord(
        "organization",
        {"name": "guizhou_guiyang-9c9b930b0e", "title": "贵阳市综合行政执法局"},
        "guizhou_guiyang.json:#1",
    )
    names = [r.data["name"] for r in records if r.kind == "organization"]
    assert len(names) == len(set(names)) == 133  # 数据提供方: 133 departments
    assert all(r.kind == "organization" for r in records[:133])  # publishers first


@pytest.mark.realdata
def test_the_first_aba_record_maps_exactly(portals: Path) -> None:
    records = harvest(portals / "sichuan_aba.json")
    url = "http://abadata.cn/ABaPrefectureGateway/open/api/getTableDetail?tableId1586"
    first = by_location(records)["sichuan_aba.json:#1"]
    assert first.data == {
        "name": "sichuan_aba-8652c57d9c",
        "title": "猪、牛、羊生产季度报表",  # subjectBaseName
        "description": "展示猪、牛、羊生产季度报表",  # tableRemark
        "publisher": "sichuan_aba-c6704ef963",  # orgName 松潘县
        "domain": "other",  # fieldName 暂无
        "open_type": "conditional",  # openTypeName 有条件
        "open_condition": f"依申请开放，具体条件见原平台（{url}）",
        "update_frequency": "irregular",  # 不定期
        "issued": "2022-06-12",  # "2022-06-12 06:57:02"
        "record_count": 0,
        "formats": ["xls", "xml", "json", "csv"],  # "xls,xml,json,csv"
        "contact_phone": "7232639",
        "contact_email": "ababigdata@217.com",
        "landing_page": url,
        "extras": {
            "defaulted": "open_condition, domain",
            "portal": "sichuan_aba",
            "source_id": url,
        },
    }
    second = by_location(records)["sichuan_aba.json:#2"]
    assert second.data["industry"] == "S"  # 公共管理、社会保障和社会组织
    assert second.data["modified"] == "2022-11-11"  # updateTime with its time


@pytest.mark.realdata
def test_the_first_dazhou_record_takes_its_condition_from_the_description(portals: Path) -> None:
    first = by_location(harvest(portals / "sichuan_dazhou.json"))["sichuan_dazhou.json:#1"]
    url = "http://dazhoudata.cn/oportal/catalog/0c1b20716f6d4728a8d28e5f88f1321b"
    assert first.data == {
        "name": "sichuan_dazhou-b2f957b098",
        "title": "城管案卷信息",
        "description": "城管案卷信息包括任务编号、上报时间、问题来源、大类名称、小类名称、"
        "所属区域、所属街道、所属社区、专业部门等内容。申请条件:根据实际需要,提供应用场景并与"
        "数据提供方联系取得同意。",
        "publisher": "sichuan_dazhou-dcead72403",  # 来源部门 达州市城管执法局
        "domain": "housing",  # 重点领域 城建住房
        "industry": "S",
        "open_type": "conditional",  # 开放条件 有条件开放: the open type here
        "open_condition": "根据实际需要,提供应用场景并与数据提供方联系取得同意。",
        "update_frequency": "annual",
        "issued": "2023-05-26",
        "modified": "2023-05-26",
        "record_count": 121265,  # "121,265"
        "keywords": [
            "信息",
            "城",
            "管",
            "公共管理、社会保障和社会组织",
            "案卷",
            "城乡建设、环境保护",
        ],
        "formats": ["xls", "xml", "json", "csv", "rdf"],  # "['xls', 'xml', …]"
        "landing_page": url,
        "extras": {"portal": "sichuan_dazhou", "source_id": url},
    }
    assert first.warnings == ()  # 部门电话 and 部门邮箱 are empty: nothing to say


@pytest.mark.realdata
def test_meishan_records_share_one_url_and_are_named_by_their_content(portals: Path) -> None:
    records = by_location(harvest(portals / "sichuan_meishan.json"))
    first = records["sichuan_meishan.json:#1"]
    shared = "http://data.ms.gov.cn/portal/service_detail"
    assert first.data == {
        "name": "sichuan_meishan-19b04a0d7e",
        "title": "仁寿县农产品仓储保鲜冷链建设",
        "publisher": "sichuan_meishan-3552e2d18b",  # 提供单位 县农业农村局
        "domain": "industry-agriculture",  # 数据领域 农业, an alias
        "industry": "A",
        "open_type": "conditional",
        "open_condition": f"依申请开放，具体条件见原平台（{shared}）",
        "update_frequency": "annual",
        "issued": "2023-06-12",  # "2023/06/12 17:33:10"
        "extras": {
            "defaulted": "open_condition",
            "portal": "sichuan_meishan",
            "source_url": shared,
            "格式类型": "mysql",
            "联系电话": "028****9322",
        },
    }
    assert [w["en"] for w in first.warnings] == [
        "contact_phone: '028****9322' is not valid; dropped.",
        "formats: 'mysql' is not in the Format vocabulary; dropped.",
        f"The detail URL {shared!r} is shared by 6154 records: it names none of them and is "
        "no landing page.",
    ]
    names = [r.data["name"] for r in records.values()]
    assert len(names) == len(set(names)) == 6153  # one exact repeat skipped


@pytest.mark.realdata
def test_a_folder_skips_the_crawler_s_mapping_files_and_a_prefix_names_all(portals: Path) -> None:
    records = harvest(portals, prefix="SC Portals")
    assert {r.location.split(":")[0] for r in records} == {
        p.name for p in portals.glob("*.json") if "mapping" not in p.name
    }
    assert all(r.data["name"].startswith("sc-portals-") for r in records)


# --- synthetic exports --------------------------------------------------------------


def test_arrays_back_to_back_a_broken_and_a_placeholder_only_record(tmp_path: Path) -> None:
    placeholders = {key: "暂无" for key in GUIZHOU} | {
        "主题名称": "默认主题",
        "所属行业": "默认行业",
    }
    first = [record(), 42]
    second = [record(标题="第二个数组", 详情页网址="http://x.cn/2"), placeholders]
    third = [
        record(标题="第三个", 详情页网址="http://x.cn/3", 更新时间="不是日期", 数据格式="csv，pdf")
    ]
    text = json.dumps(first, ensure_ascii=False) + json.dumps(second, ensure_ascii=False)
    text += "\n\n  " + json.dumps(third, ensure_ascii=False) + "\n"
    path = write(tmp_path / "zunyi_test.json", text)

    records = harvest(path)
    assert [r.location for r in records] == ["zunyi_test.json:#1"] + [
        f"zunyi_test.json:#{n}" for n in range(1, 6)
    ]
    assert records[0].kind == "organization"
    results = {r.location: r for r in Pipeline().process(records) if r.kind == "dataset"}

    good = results["zunyi_test.json:#1"]
    assert isinstance(good, Validated)
    assert good.data["issued"] == "2022-06-12" and good.data["industry"] == "G"
    assert good.data["grade"] == "general1"  # implied by 无条件开放, by the pipeline

    broken = results["zunyi_test.json:#2"]  # 42: not an object
    assert isinstance(broken, Failed) and {"title", "publisher", "open_type"} <= set(broken.errors)
    assert warned(broken, "not a JSON object (int)")

    assert isinstance(results["zunyi_test.json:#3"], Validated)  # second array, first record

    empty = results["zunyi_test.json:#4"]  # every value a placeholder: nothing at all
    assert isinstance(empty, Failed)
    assert {"title", "publisher", "open_type"} <= set(empty.errors)
    assert not any("暂无" in w["zh"] for w in empty.warnings)  # empty, not unknown

    odd = results["zunyi_test.json:#5"]  # a bad date and an unknown format: dropped, kept raw
    assert isinstance(odd, Validated)
    assert "modified" not in odd.data and odd.data["formats"] == ["csv", "pdf"]
    assert odd.data["extras"]["更新时间"] == "不是日期"
    assert warned(odd, "「不是日期」不是日期")


def test_an_object_with_its_records_under_data_or_result(tmp_path: Path) -> None:
    one = write(tmp_path / "a.json", json.dumps({"code": 200, "data": [record()]}))
    two = write(
        tmp_path / "b.json", json.dumps({"result": {"records": [record(), record(标题="二")]}})
    )
    assert len(harvest(one)) == 2  # publisher and dataset
    assert [r.location for r in harvest(two)] == ["b.json:#1", "b.json:#1", "b.json:#2"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ('[{"标题": "a"}] [{"标题": ', "line 1 column"),
        ('{"code": 500, "msg": "error"}', "holds none under data"),
        ('[{"标题": "a"}]\n"trailing"', "no array of records"),
    ],
)
def test_a_file_that_is_not_an_export_is_a_source_error(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path / "bad.json", text)
    with pytest.raises(HarvestSourceError) as caught:
        harvest(path)
    assert problem in caught.value.message["en"] and "bad.json" in caught.value.message["en"]


def test_a_missing_path_or_an_empty_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(HarvestSourceError, match="No such file"):
        harvest(tmp_path / "nowhere.json")
    with pytest.raises(HarvestSourceError, match="no JSON file"):
        harvest(tmp_path)


@pytest.mark.parametrize(
    "label, value, field, code",
    [
        ("开放属性", "有条件开放", "open_type", "conditional"),
        ("开放属性", "有条件", "open_type", "conditional"),
        ("开放属性", "无条件/有条件", "open_type", "conditional"),
        ("开放属性", "无条件开发", "open_type", "unconditional"),  # the typo, as portals have it
        ("openTypeName", "无条件", "open_type", "unconditional"),
        ("开放条件", "无条件开放", "open_type", "unconditional"),
        ("更新频率", "每年", "update_frequency", "annual"),
        ("更新周期", "年", "update_frequency", "annual"),
        ("frequency", "按年更新", "update_frequency", "annual"),
        ("更新频率", "每天", "update_frequency", "daily"),
        ("重点领域", "能源资源", "domain", "resources-energy"),
        ("数据领域", "空间地理", "domain", "geospatial"),
        ("所属行业", "公共管理、社会保障和社会组织", "industry", "S"),
        ("行业名称", "农、林、牧、渔业", "industry", "A"),
    ],
)
def test_values_that_differ_per_portal(
    tmp_path: Path, label: str, value: str, field: str, code: str
) -> None:
    raw = {k: v for k, v in record().items() if field_for(k) != field} | {label: value}
    path = write(tmp_path / "p.json", json.dumps([raw], ensure_ascii=False))
    dataset = harvest(path)[-1]
    assert dataset.data[field] == code and not dataset.warnings


def test_unknown_values_are_dropped_with_a_warning_and_kept_raw(tmp_path: Path) -> None:
    raw = record(主题名称="质量统计", 更新频率="其他", 所属行业="默认行业")
    path = write(tmp_path / "p.json", json.dumps([raw], ensure_ascii=False))
    dataset = harvest(path)[-1]
    assert dataset.data["domain"] == "other" and "update_frequency" not in dataset.data
    assert "industry" not in dataset.data  # a placeholder: empty, no warning
    assert dataset.data["extras"]["主题名称"] == "质量统计"
    assert dataset.data["extras"]["更新频率"] == "其他"
    assert dataset.data["extras"]["defaulted"] == "domain"
    assert [w["zh"] for w in dataset.warnings] == [
        "domain：「质量统计」不在词表「所属领域」中，已忽略",
        "update_frequency：「其他」不在词表「更新频率」中，已忽略",
        "domain：源记录没有可识别的领域，按「其他」登记",
    ]


def test_several_values_in_a_one_value_field_keep_the_first(tmp_path: Path) -> None:
    raw = record(
        主题名称="城建住房,科技创新", 所属行业="农、林、牧、渔业\r\n公共管理、社会保障和社会组织"
    )
    dataset = harvest(write(tmp_path / "p.json", json.dumps([raw], ensure_ascii=False)))[-1]
    assert dataset.data["domain"] == "housing" and dataset.data["industry"] == "A"
    assert dataset.data["extras"]["主题名称"] == "城建住房,科技创新"
    assert len(dataset.warnings) == 2


def test_kai_fang_tiao_jian_that_is_no_open_type_is_the_condition_text(tmp_path: Path) -> None:
    raw = record(开放属性="有条件开放", 开放条件="仅限科研用途，需签署承诺书")
    dataset = harvest(write(tmp_path / "p.json", json.dumps([raw], ensure_ascii=False)))[-1]
    assert dataset.data["open_type"] == "conditional"
    assert dataset.data["open_condition"] == "仅限科研用途，需签署承诺书"
    assert "defaulted" not in dataset.data["extras"]


def test_a_conditional_record_without_a_url_gets_the_plain_default(tmp_path: Path) -> None:
    raw = record(开放属性="有条件", 详情页网址="")
    dataset = harvest(write(tmp_path / "p.json", json.dumps([raw], ensure_ascii=False)))[-1]
    assert dataset.data["open_condition"] == "依申请开放，具体条件见原平台"
    assert dataset.data["extras"]["defaulted"] == "open_condition"


def test_repeats_identical_are_skipped_different_are_refused(tmp_path: Path) -> None:
    same, changed = record(), record(数据摘要="另一份摘要")
    path = write(tmp_path / "p.json", json.dumps([same, same, changed], ensure_ascii=False))
    records = harvest(path)
    datasets = [r for r in records if r.kind == "dataset"]
    assert [r.location for r in datasets] == ["p.json:#1", "p.json:#3"]
    assert warned(datasets[0], "appears again at p.json:#2 with the same content")
    failed = [r for r in Pipeline().process(records) if isinstance(r, Failed)]
    assert [f.location for f in failed] == ["p.json:#3"] and "name" in failed[0].errors


def test_html_summaries_placeholders_phones_and_counts(tmp_path: Path) -> None:
    raw = record(
        数据摘要="<p>政协提案&nbsp;答复</p>\r\n",
        部门电话="2522979、2524989",
        部门邮箱="暂无",
        数据量="1,234",
        标签="清单\r\n\t车辆\r\n\t暂无",
    )
    dataset = harvest(write(tmp_path / "p.json", json.dumps([raw], ensure_ascii=False)))[-1]
    assert dataset.data["description"] == "政协提案 答复"
    assert dataset.data["contact_phone"] == "2522979" and "contact_email" not in dataset.data
    assert dataset.data["record_count"] == 1234
    assert dataset.data["keywords"] == ["清单", "车辆"]
    assert dataset.data["extras"]["部门电话"] == "2522979、2524989"


def test_since_leaves_out_datasets_updated_before(tmp_path: Path) -> None:
    old = record(更新时间="2020-01-01", 详情页网址="http://x.cn/old")
    undated = record(更新时间="", 详情页网址="http://x.cn/undated")
    path = write(tmp_path / "p.json", json.dumps([record(), old, undated], ensure_ascii=False))
    datasets = [r for r in harvest(path, since="2023-01-01T08:00:00") if r.kind == "dataset"]
    assert [r.location for r in datasets] == ["p.json:#1", "p.json:#3"]


def test_registered_and_harvested_into_the_catalog(app: Flask, tmp_path: Path) -> None:
    assert available_harvesters()["cnportal"].load() is CnPortalHarvester
    rows = [record(), record(标题="二", 详情页网址="http://x.cn/2", 开放属性="有条件开放")]
    path = write(tmp_path / "guizhou_zunyi.json", json.dumps(rows, ensure_ascii=False))
    report = run_harvest(
        database(app),
        CnPortalHarvester(str(path), reach=LOCAL),
        actor="test",
        policy=policy(app),
        settings=SourceSettings(),
    )
    assert not report.failures, report.describe()
    assert report.counts == {"organization.added": 1, "dataset.added": 2}


@pytest.mark.parametrize(
    "value, day",
    [
        ("2022-06-12", "2022-06-12"),
        ("2022-06-12 06:57:02", "2022-06-12"),
        ("2023/06/12 17:33:10", "2023-06-12"),
        ("2021年7月2日", "2021-07-02"),
        (1655000000000, "2022-06-12"),  # epoch milliseconds, China time
    ],
)
def test_dates_with_and_without_times(tmp_path: Path, value: Any, day: str) -> None:
    raw = record(发布时间=value, 更新时间="")
    dataset = harvest(write(tmp_path / "p.json", json.dumps([raw], ensure_ascii=False)))[-1]
    assert dataset.data["issued"] == day and not dataset.warnings
