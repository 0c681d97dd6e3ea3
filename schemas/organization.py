"""A department (数据开放主体) that publishes datasets."""

from __future__ import annotations

from marshmallow import ValidationError

from . import uscc as uscc_rules
from .base import ProfileSchema, Text, email_field, phone_field, slug, url_field
from .messages import message


def validate_uscc(value: str) -> None:
    if not uscc_rules.is_valid(value):
        raise ValidationError(
            [
                message(
                    "统一社会信用代码无效：应为 18 位代码字符且校验位正确（GB 32100-2015）",
                    "Not a valid unified social credit code: 18 code characters "
                    "with a correct check character (GB 32100-2015).",
                )
            ]
        )


class OrganizationSchema(ProfileSchema):
    name = Text(required=True, max_length=100, validate=[slug("机构标识", "organization name")])
    title = Text(required=True, max_length=200)
    title_en = Text(max_length=300)
    uscc = Text(max_length=18, validate=[validate_uscc])
    description = Text(max_length=5000)
    contact_phone = phone_field()
    contact_email = email_field()
    website = url_field()
