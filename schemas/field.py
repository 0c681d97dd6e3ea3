"""信息项: one column of a dataset, with its own grade."""

from __future__ import annotations

from marshmallow import fields

from .base import INT_MAX, ProfileSchema, Text, VocabTerm, count_field


class FieldSchema(ProfileSchema):
    name = Text(required=True, max_length=200)
    title = Text(max_length=200)  # the Chinese column label, e.g. 身份证号
    type = VocabTerm("field_types", load_default="string")
    length = count_field(INT_MAX)
    grade = VocabTerm("grades", load_default="general1")
    sensitive = fields.Boolean(load_default=False)
    description = Text(max_length=2000)
