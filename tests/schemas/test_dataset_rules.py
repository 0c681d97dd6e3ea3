"""Every rule of the dataset profile, each with a valid and an invalid case."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from schemas import DatasetSchema, GradePolicy, flatten


def valid_dataset(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "bus-lines",
        "title": "青岛市公交线路信息",
        "description": "全市公交线路、站点与首末班时间。",
        "publisher": "qd-transport",
        "domain": "transport",
        "open_type": "unconditional",
        "grade": "general1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def errors_of(data: dict[str, Any], **schema_options: Any) -> dict[str, Any]:
    try:
        DatasetSchema(**schema_options).load(data)
    except ValidationError as error:
        return error.messages
    return {}


def bilingual(errors: dict[str, Any]) -> bool:
    return all(msg["zh"] and msg["en"] and msg["zh"] != msg["en"] for _, msg in flatten(errors))


# (rule, valid changes, invalid changes, fields the error must name)
RULES = [
    ("title required", {}, {"title": "   "}, {"title"}),
    ("description required", {}, {"description": None}, {"description"}),
    ("name is a slug", {"name": "bus_lines-2"}, {"name": "公交 lines"}, {"name"}),
    ("domain from vocabulary (code)", {"domain": "environment"}, {"domain": "港航"}, {"domain"}),
    ("domain by Chinese label", {"domain": "交通运输"}, {"domain": "交通"}, {"domain"}),
    ("domain by numeric id", {"domain": 6}, {"domain": 23}, {"domain"}),
    ("industry GB/T 4754 A–T", {"industry": "G"}, {"industry": "Z"}, {"industry"}),
    ("basic category", {"basic_category": "人"}, {"basic_category": "动物"}, {"basic_category"}),
    ("zones", {"zones": ["transport", "港航专区"]}, {"zones": ["ocean"]}, {"zones"}),
    (
        "update frequency alias",
        {"update_frequency": "按年更新"},
        {"update_frequency": "偶尔"},
        {"update_frequency"},
    ),
    ("formats", {"formats": ["CSV", "api"]}, {"formats": ["docx"]}, {"formats"}),
    (
        "processing level",
        {"processing_level": "脱敏"},
        {"processing_level": "加密"},
        {"processing_level"},
    ),
    (
        "share type and method",
        {"share_type": "有条件共享", "share_method": "接口"},
        {"share_method": "邮件"},
        {"share_method"},
    ),
    ("open type typo alias", {"open_type": "无条件开发"}, {"open_type": "半开放"}, {"open_type"}),
    (
        "core data only closed",
        {"grade": "core", "open_type": "closed"},
        {"grade": "core", "open_type": "unconditional"},
        {"grade", "open_type"},
    ),
    (
        "important data only closed",
        {"grade": "重要数据", "open_type": "不予开放"},
        {"grade": "重要数据", "open_type": "有条件开放", "open_condition": "x"},
        {"grade", "open_type"},
    ),
    (
        "general level 4 only closed",
        {"grade": "general4", "open_type": "closed"},
        {"grade": "general4", "open_type": "conditional", "open_condition": "x"},
        {"grade", "open_type"},
    ),
    (
        "general level 3 conditional but not open to all",
        {"grade": "general3", "open_type": "conditional", "open_condition": "实名认证"},
        {"grade": "general3", "open_type": "unconditional"},
        {"grade", "open_type"},
    ),
    (
        "general level 2 conditional but not open to all",
        {"grade": "general2", "open_type": "conditional", "open_condition": "实名认证"},
        {"grade": "general2", "open_type": "无条件开放"},
        {"grade", "open_type"},
    ),
    (
        "condition required for conditional openness",
        {"open_type": "conditional", "open_condition": "签署《公共数据安全承诺书》"},
        {"open_type": "conditional"},
        {"open_condition"},
    ),
    (
        "open level only with conditional openness",
        {"open_type": "conditional", "open_condition": "实名", "open_level": "实名认证开放"},
        {"open_level": "reviewed"},
        {"open_level"},
    ),
    (
        "resource code format",
        {"resource_code": "306001000123"},
        {"resource_code": "4060010001"},
        {"resource_code"},
    ),
    (
        "resource code with sub-entry",
        {"resource_code": "2010020101/000045"},
        {"resource_code": "30600A000123"},
        {"resource_code"},
    ),
    (
        "dataset grade covers its fields",
        {
            "grade": "general4",
            "open_type": "closed",
            "fields": [{"name": "sfzh", "title": "身份证号", "grade": 4, "sensitive": True}],
        },
        {"fields": [{"name": "sfzh", "title": "身份证号", "grade": "general4", "sensitive": True}]},
        {"grade"},
    ),
    (
        "field type vocabulary",
        {"fields": [{"name": "a", "type": "数值"}]},
        {"fields": [{"name": "a", "type": "blob"}]},
        {"fields"},
    ),
    (
        "field names unique",
        {"fields": [{"name": "a"}, {"name": "b"}]},
        {"fields": [{"name": "a"}, {"name": "a"}]},
        {"fields"},
    ),
    (
        "resource kind and url",
        {
            "resources": [
                {"name": "接口", "kind": "api", "url": "https://data.qingdao.gov.cn/api/x"}
            ]
        },
        {"resources": [{"name": "接口", "kind": "api"}]},
        {"resources"},
    ),
    (
        "resource url scheme",
        {"resources": [{"name": "f", "kind": "file", "url": "https://a.cn/f.csv"}]},
        {"resources": [{"name": "f", "kind": "link", "url": "javascript:alert(1)"}]},
        {"resources"},
    ),
    ("counts are not negative", {"record_count": 0}, {"record_count": -5}, {"record_count"}),
    ("dates are dates", {"issued": "2024-02-29"}, {"issued": "2023-02-29"}, {"issued"}),
    (
        "modified not before issued",
        {"issued": "2024-01-01", "modified": "2024-06-01"},
        {"issued": "2024-06-01", "modified": "2024-01-01"},
        {"modified"},
    ),
    (
        "contact email",
        {"contact_email": "jtj@qingdao.gov.cn"},
        {"contact_email": "jtj@"},
        {"contact_email"},
    ),
    (
        "contact phone",
        {"contact_phone": "0532-85912345"},
        {"contact_phone": "call us"},
        {"contact_phone"},
    ),
    ("no unknown keys", {"keywords": ["公交"]}, {"colour": "blue"}, {"colour"}),
]


@pytest.mark.parametrize(("rule", "valid", "invalid", "named"), RULES, ids=[r[0] for r in RULES])
def test_rule_accepts_valid_and_rejects_invalid(rule, valid, invalid, named) -> None:
    assert errors_of(valid_dataset(**valid)) == {}, rule
    errors = errors_of(valid_dataset(**invalid))
    assert named <= set(errors), f"{rule}: expected errors on {named}, got {errors}"
    assert bilingual(errors)


def test_core_data_open_to_all_names_grade_and_open_type_in_both_languages() -> None:
    errors = errors_of(valid_dataset(grade="核心数据", open_type="无条件开放"))
    assert set(errors) == {"grade", "open_type"}
    for key in ("grade", "open_type"):
        [msg] = errors[key]
        for lang in ("zh", "en"):
            assert "grade" in msg[lang] and "open_type" in msg[lang]
        assert "核心数据" in msg["zh"] and "无条件开放" in msg["zh"]
        assert "core" in msg["en"] and "unconditional" in msg["en"]


def test_labels_are_stored_as_codes() -> None:
    loaded = DatasetSchema().load(
        valid_dataset(domain="交通运输", open_type="有条件", open_condition="实名", grade="一般2级")
    )
    assert (loaded["domain"], loaded["open_type"], loaded["grade"]) == (
        "transport",
        "conditional",
        "general2",
    )


def test_closed_metadata_is_private_unless_the_department_says_so() -> None:
    closed = valid_dataset(grade="core", open_type="closed")
    assert DatasetSchema().load(closed)["metadata_public"] is False
    assert DatasetSchema().load({**closed, "metadata_public": True})["metadata_public"] is True
    assert DatasetSchema().load(valid_dataset())["metadata_public"] is True


def test_a_city_policy_file_changes_what_is_allowed(tmp_path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "allowed:\n  core: [closed]\n  important: [closed]\n  general4: [closed]\n"
        "  general3: [closed]\n  general2: [closed]\n  general1: [conditional, closed]\n",
        encoding="utf-8",
    )
    policy = GradePolicy.from_file(strict)
    data = valid_dataset()  # general1, open to all: fine by default
    assert errors_of(data) == {}
    assert set(errors_of(data, policy=policy)) == {"grade", "open_type"}


def test_a_policy_file_must_cover_every_grade(tmp_path) -> None:
    partial = tmp_path / "partial.yaml"
    partial.write_text("allowed:\n  core: [closed]\n  general1: [open-ish]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="general2"):
        GradePolicy.from_file(partial)
