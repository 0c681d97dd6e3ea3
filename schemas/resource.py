"""A distribution of a dataset: a file, an API or a link."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .base import ProfileSchema, Text, VocabTerm, count_field, url_field
from .messages import message


class ResourceSchema(ProfileSchema):
    id = fields.String(validate=validate.Length(min=1, max=64))
    name = Text(required=True, max_length=300)
    description = Text(max_length=5000)
    kind = VocabTerm("resource_kinds", required=True)
    format = VocabTerm("formats")
    url = url_field()
    media_type = Text(max_length=200)
    size = count_field()  # bytes
    record_count = count_field()

    @validates_schema
    def _url_for_remote_kinds(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("kind") in ("api", "link") and not data.get("url"):
            raise ValidationError(
                {
                    "url": [
                        message(
                            "接口和链接类资源必须有网址",
                            "An API or link resource needs a url.",
                        )
                    ]
                }
            )
