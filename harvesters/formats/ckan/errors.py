"""Out: our field errors as CKAN reports them (its key names, each message one string)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas import Message

from .fields import CORE_KEYS, RESOURCE_KEYS


def ckan_errors(errors: Mapping[str, Any]) -> dict[str, Any]:
    """Our field errors under CKAN's key names, each message one string (zh (en))."""
    out: dict[str, Any] = {}
    for key, value in errors.items():
        name = CORE_KEYS.get(key, key)
        if key == "resources" and isinstance(value, Mapping):
            out[name] = _indexed(value)
        else:
            out.setdefault(name, []).extend(_messages(value))
    return out


def _indexed(errors: Mapping[Any, Any]) -> list[Any]:
    """Per-resource errors as CKAN lists them: one dict per resource, in order."""
    numbered = {int(k): v for k, v in errors.items() if str(k).isdigit()}
    rows: list[Any] = [{} for _ in range(max(numbered, default=-1) + 1)]
    for index, value in numbered.items():
        if isinstance(value, Mapping):
            rows[index] = {RESOURCE_KEYS.get(k, k): _messages(v) for k, v in value.items()}
        else:
            rows[index] = {"_": _messages(value)}
    rest = [m for k, v in errors.items() if not str(k).isdigit() for m in _messages(v)]
    return rows + rest


def _messages(value: Any) -> list[str]:
    if isinstance(value, Mapping) and set(value) == {"zh", "en"}:
        return [f"{value['zh']} ({value['en']})"]
    if isinstance(value, Mapping):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    return [str(value)]


def message_text(errors: Mapping[str, Any]) -> str:
    return "; ".join(m for value in errors.values() for m in _messages(value))


def as_message(msg: Message) -> str:
    return f"{msg['zh']} ({msg['en']})"
