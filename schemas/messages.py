"""Messages a person reads, in Chinese and English.

A validation message is a dict ``{"zh": ..., "en": ...}``; marshmallow keeps such
messages as they are, so field errors come out as
``{"grade": [{"zh": "...", "en": "..."}]}`` all the way to the API and the pages.
"""

from __future__ import annotations

from typing import Any

Message = dict[str, str]

# Replacements for marshmallow's built-in English-only field messages.
FIELD_MESSAGES: dict[str, Message] = {
    "required": {"zh": "此项必填", "en": "Missing data for required field."},
    "null": {"zh": "此项不能为空值", "en": "Field may not be null."},
    "validator_failed": {"zh": "取值无效", "en": "Invalid value."},
    "invalid": {
        "zh": "格式或类型不正确",
        "en": "Not a valid value of the expected type.",
    },
    "invalid_utf8": {"zh": "不是有效的 UTF-8 文本", "en": "Not a valid utf-8 string."},
    "too_large": {"zh": "数值过大", "en": "Number too large."},
    "format": {"zh": "格式不正确", "en": "Value cannot be formatted."},
    "special": {
        "zh": "不能为特殊数值",
        "en": "Special numeric values are not permitted.",
    },
}
SCHEMA_MESSAGES: dict[str, Message] = {
    "unknown": {"zh": "不认识的字段", "en": "Unknown field."},
    "type": {"zh": "应为一个对象", "en": "Invalid input type."},
}


def message(zh: str, en: str) -> Message:
    return {"zh": zh, "en": en}


def flatten(errors: Any, prefix: str = "") -> list[tuple[str, Message]]:
    """marshmallow's nested error dict as ``[(dotted.path, message), ...]``."""
    if isinstance(errors, dict) and not _is_message(errors):
        out: list[tuple[str, Message]] = []
        for key, value in errors.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten(value, path))
        return out
    if isinstance(errors, list):
        return [item for value in errors for item in flatten(value, prefix)]
    if _is_message(errors):
        return [(prefix, errors)]
    return [(prefix, {"zh": str(errors), "en": str(errors)})]


def render(errors: Any, lang: str = "both") -> str:
    """Field errors as readable lines: ``grade: 核心数据不得…（Core data may not…）``."""
    lines = []
    for path, msg in flatten(errors):
        text = {"zh": msg["zh"], "en": msg["en"]}.get(lang, f"{msg['zh']} ({msg['en']})")
        lines.append(f"{path or '_'}: {text}")
    return "\n".join(lines)


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"zh", "en"}
