"""Schemas of the access flow: an application for conditional data, a review decision,
a usage report. Same rules as the catalog profile: unknown keys refused, messages in
Chinese and English."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates

from .base import ProfileSchema, Text, bilingual
from .messages import message

MAX_TERM_DAYS = 3 * 365
MAX_QUOTA = 100_000_000


def _term_days(**kwargs: Any) -> fields.Integer:
    return fields.Integer(
        validate=bilingual(
            validate.Range(min=1, max=MAX_TERM_DAYS),
            message(f"期限为 1–{MAX_TERM_DAYS} 天", f"The term is 1–{MAX_TERM_DAYS} days."),
        ),
        **kwargs,
    )


def _quota(**kwargs: Any) -> fields.Integer:
    return fields.Integer(
        validate=bilingual(
            validate.Range(min=1, max=MAX_QUOTA),
            message(f"调用次数为 1–{MAX_QUOTA:,}", f"The call quota is 1–{MAX_QUOTA:,}."),
        ),
        **kwargs,
    )


def _resources(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        validate=bilingual(
            validate.Length(min=1, max=100), message("请选择资源", "Choose the resources.")
        ),
        **kwargs,
    )


class ApplicationSchema(ProfileSchema):
    """申请: which resources of which dataset, why, for how long, how many calls."""

    dataset = Text(required=True, max_length=100)
    resources = _resources(required=True)
    purpose = Text(required=True, max_length=2000)
    scenario = Text(required=True, max_length=2000)
    term_days = _term_days(required=True)
    quota_calls = _quota(required=True)
    commitment_accepted = fields.Boolean(required=True)

    @validates("commitment_accepted")
    def _must_accept(self, value: bool, **_kwargs: Any) -> None:
        if value is not True:
            raise ValidationError(
                [
                    message(
                        "须接受《公共数据安全承诺书》",
                        "The data security commitment must be accepted.",
                    )
                ]
            )


class ResubmissionSchema(ApplicationSchema):
    """A returned application, completed: the same fields, the dataset fixed."""

    dataset = Text(load_default=None, max_length=100)


class FormalitySchema(ProfileSchema):
    """The authority's formality review: the materials are complete (pass), incomplete
    (return, with what is missing) or unacceptable (reject, with why)."""

    decision = fields.String(
        required=True,
        validate=bilingual(
            validate.OneOf(["pass", "return", "reject"]),
            message("决定须为 pass、return 或 reject", "Decide pass, return or reject."),
        ),
    )
    reason = Text(load_default=None, max_length=2000)


class DecisionSchema(ProfileSchema):
    """A reviewer's decision. Approving may grant less than asked; rejecting or returning
    needs a reason."""

    decision = fields.String(
        required=True,
        validate=bilingual(
            validate.OneOf(["approve", "reject", "return"]),
            message("决定须为 approve、reject 或 return", "Decide approve, reject or return."),
        ),
    )
    reason = Text(load_default=None, max_length=2000)
    term_days = _term_days(load_default=None)
    quota_calls = _quota(load_default=None)
    resources = _resources(load_default=None)
    conditions = Text(load_default=None, max_length=2000)


class UsageReportSchema(ProfileSchema):
    """利用情况、成果与效益."""

    usage = Text(required=True, max_length=5000)
    results = Text(required=True, max_length=5000)
    benefits = Text(load_default=None, max_length=5000)
