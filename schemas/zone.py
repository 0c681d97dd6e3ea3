"""专区 (zones) and their scenarios (场景)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validates_schema

from .base import ProfileSchema, Text, VocabTerm, slug, unique_by
from .messages import message


class ScenarioSchema(ProfileSchema):
    code = Text(required=True, max_length=100, validate=[slug("场景标识", "scenario code")])
    title = Text(required=True, max_length=200)
    title_en = Text(max_length=300)
    description = Text(max_length=5000)


class ZoneSchema(ProfileSchema):
    code = VocabTerm("zones", required=True)
    title = Text(required=True, max_length=200)
    title_en = Text(max_length=300)
    description = Text(max_length=10000)
    operator = Text(max_length=300)  # the authorized operator (运营机构)
    scenarios = fields.List(fields.Nested(ScenarioSchema), load_default=list)

    @validates_schema
    def _scenario_codes_unique(self, data: dict[str, Any], **_: Any) -> None:
        repeated = unique_by(data.get("scenarios", []), "code")
        if repeated:
            raise ValidationError(
                {
                    "scenarios": [
                        message(
                            f"场景标识重复：{'、'.join(repeated)}",
                            f"Repeated scenario codes: {', '.join(repeated)}.",
                        )
                    ]
                }
            )
