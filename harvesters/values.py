"""Cleaning source values and mapping them onto the profile's vocabularies (all data-driven)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from schemas import Message, message, vocab

PLACEHOLDERS_FILE = Path(__file__).parent / "data" / "placeholders.yaml"


@cache
def placeholders() -> frozenset[str]:
    return frozenset(
        str(p).strip().casefold() for p in yaml.safe_load(PLACEHOLDERS_FILE.read_text("utf-8"))
    )


def clean(value: Any) -> Any:
    """Trimmed text, or None for empty values and placeholders (暂无, 默认主题 …)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return None if not text or text.casefold() in placeholders() else text
    return value


def map_term(vocabulary: str, value: Any, field: str, warnings: list[Message]) -> str | None:
    """The vocabulary code for a source value (code, label or alias); None, with a warning
    naming the field and the value, when nothing matches."""
    value = clean(value)
    if value is None:
        return None
    code = vocab(vocabulary).resolve(value)
    if code is None:
        warnings.append(
            message(
                f"{field}：「{value}」不在词表「{vocab(vocabulary).zh}」中，已忽略",
                f"{field}: {value!r} is not in the {vocab(vocabulary).en} vocabulary; dropped.",
            )
        )
    return code


def map_terms(vocabulary: str, values: Any, field: str, warnings: list[Message]) -> list[str]:
    """Like `map_term` for a list, or a string with commas / 、 / ; between the values."""
    if isinstance(values, str):
        for separator in ("、", ";", "；", "，", "|"):
            values = values.replace(separator, ",")
        values = values.split(",")
    codes = [map_term(vocabulary, v, field, warnings) for v in values or []]
    return list(dict.fromkeys(c for c in codes if c))
