"""The dataset: every field of the catalog table (domain.md section 4) and the cross-field rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from marshmallow import ValidationError, post_load, validate, validates_schema
from marshmallow import fields as ma

from .base import (
    INT_MAX,
    ProfileSchema,
    Text,
    VocabTerm,
    bilingual,
    count_field,
    date_field,
    email_field,
    phone_field,
    slug,
    unique_by,
    url_field,
)
from .field import FieldSchema
from .messages import Message, message
from .policy import GradePolicy, load_policy
from .resource import ResourceSchema
from .vocab import grade_rank, vocab

# 资源代码: 类 (1 基础, 2 主题, 3 部门) + 项 (2) + 目 (3) + optional 细目 + 6-digit sequence.
RESOURCE_CODE = re.compile(r"^[123]\d{2}\d{3}\d{0,6}[/-]?\d{6}$")


def _resource_code() -> Callable[[Any], None]:
    return bilingual(
        validate.Regexp(RESOURCE_CODE),
        message(
            "资源代码格式应为：类（1 位：1 基础、2 主题、3 部门）+ 项（2 位）+ 目（3 位）"
            "+ 细目（0–6 位）+ 6 位顺序码，例如 306001000123",
            "A resource code is class (1 digit: 1, 2 or 3) + item (2) + entry (3) "
            "+ optional sub-entry (0–6 digits) + a 6-digit sequence, e.g. 306001000123.",
        ),
    )


class DatasetSchema(ProfileSchema):
    """Loads and checks one dataset record. Pass ``policy=`` for a city's own grade policy."""

    name = Text(required=True, max_length=100, validate=[slug("数据集标识", "dataset name")])
    title = Text(required=True, max_length=300)
    title_en = Text(max_length=500)
    description = Text(required=True, max_length=20000)
    resource_code = Text(max_length=40, validate=[_resource_code()])
    publisher = Text(
        required=True, max_length=100, validate=[slug("机构标识", "organization name")]
    )

    domain = VocabTerm("domains", required=True)
    industry = VocabTerm("industries")
    basic_category = VocabTerm("basic_categories")
    zones = ma.List(VocabTerm("zones"), load_default=list)

    open_type = VocabTerm("open_types", required=True)
    open_condition = Text(max_length=5000)
    open_level = VocabTerm("open_levels")
    metadata_public = ma.Boolean()  # for 不予开放: may the public see the catalog entry?
    share_type = VocabTerm("share_types")
    share_condition = Text(max_length=5000)
    share_method = VocabTerm("share_methods")
    grade = VocabTerm("grades", required=True)
    processing_level = VocabTerm("processing_levels")
    update_frequency = VocabTerm("update_frequencies")
    formats = ma.List(VocabTerm("formats"), load_default=list)

    record_count = count_field()
    api_count = count_field(INT_MAX)
    file_count = count_field(INT_MAX)
    issued = date_field()
    modified = date_field()
    keywords = ma.List(Text(max_length=100), load_default=list)
    contact_phone = phone_field()
    contact_email = email_field()
    landing_page = url_field()
    license = Text(max_length=200)
    operable = ma.Boolean(load_default=False)

    fields = ma.List(ma.Nested(FieldSchema), load_default=list)
    resources = ma.List(ma.Nested(ResourceSchema), load_default=list)
    extras = ma.Dict(keys=ma.String(), values=ma.String(), load_default=dict)

    def __init__(self, *, policy: GradePolicy | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy or load_policy()

    @post_load
    def _normalize(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # Open data is listed for everyone; a closed dataset's entry only if the department says so.
        if data.get("metadata_public") is None:
            data["metadata_public"] = data["open_type"] != "closed"
        data["zones"] = sorted(set(data["zones"]))  # membership, not order
        return data

    @validates_schema
    def _cross_field_rules(self, data: dict[str, Any], **_: Any) -> None:
        errors: dict[str, list[Message]] = {}
        for rule in (
            self._openness_allowed_by_grade,
            _condition_for_conditional_openness,
            _grade_covers_fields,
            _dates_in_order,
            _unique_children,
        ):
            for key, msg in rule(data):
                errors.setdefault(key, []).append(msg)
        if errors:
            raise ValidationError(errors)

    def _openness_allowed_by_grade(self, data: dict[str, Any]) -> list[tuple[str, Message]]:
        grade, open_type = data.get("grade"), data.get("open_type")
        if not grade or not open_type or self.policy.allows(grade, open_type):
            return []
        grades, open_types = vocab("grades"), vocab("open_types")
        allowed = self.policy.allowed.get(grade, ())
        msg = message(
            f"数据分级（grade）为「{grades.label(grade)}」的数据集不能设为开放属性（open_type）"
            f"「{open_types.label(open_type)}」；允许："
            + "、".join(open_types.label(o) for o in allowed),
            f"A dataset whose grade is {grades.label(grade, 'en')!r} ({grade}) may not have "
            f"open_type {open_types.label(open_type, 'en')!r} ({open_type}); allowed: "
            + ", ".join(allowed)
            + ".",
        )
        return [("grade", msg), ("open_type", msg)]


def _condition_for_conditional_openness(
    data: dict[str, Any],
) -> list[tuple[str, Message]]:
    out = []
    if data.get("open_type") == "conditional" and not data.get("open_condition"):
        out.append(
            (
                "open_condition",
                message(
                    "有条件开放的数据集必须填写开放条件（open_condition）",
                    "open_condition is required when open_type is conditional.",
                ),
            )
        )
    if data.get("open_level") and data.get("open_type") != "conditional":
        out.append(
            (
                "open_level",
                message(
                    "开放方式（open_level）仅适用于有条件开放",
                    "open_level applies only when open_type is conditional.",
                ),
            )
        )
    return out


def _grade_covers_fields(data: dict[str, Any]) -> list[tuple[str, Message]]:
    grade = data.get("grade")
    items = data.get("fields") or []
    if not grade or not items:
        return []
    highest = max(items, key=lambda item: grade_rank(item["grade"]))
    if grade_rank(highest["grade"]) <= grade_rank(grade):
        return []
    grades = vocab("grades")
    return [
        (
            "grade",
            message(
                f"数据集分级（grade）「{grades.label(grade)}」低于其信息项「{highest['name']}」的分级"
                f"「{grades.label(highest['grade'])}」；数据集应就高从严",
                f"The dataset's grade ({grade}) is lower than that of its field "
                f"{highest['name']!r} ({highest['grade']}); "
                "a dataset takes the highest grade of its fields.",
            ),
        )
    ]


def _dates_in_order(data: dict[str, Any]) -> list[tuple[str, Message]]:
    issued, modified = data.get("issued"), data.get("modified")
    if issued and modified and modified < issued:
        return [
            (
                "modified",
                message(
                    "更新日期不能早于发布日期",
                    "modified may not be earlier than issued.",
                ),
            )
        ]
    return []


def _unique_children(data: dict[str, Any]) -> list[tuple[str, Message]]:
    out = []
    for key, zh in (("fields", "信息项名称"), ("resources", "资源名称")):
        repeated = unique_by(data.get(key) or [], "name")
        if repeated:
            out.append(
                (
                    key,
                    message(
                        f"{zh}重复：{'、'.join(map(str, repeated))}",
                        f"Repeated {key} names: {', '.join(map(str, repeated))}.",
                    ),
                )
            )
    return out


@cache
def dataset_schema(policy: GradePolicy | None = None) -> DatasetSchema:
    """A shared schema for `policy`: building one is costly, using one is not."""
    return DatasetSchema(policy=policy)
