"""Source labels → profile fields, from the label map kept as data (data/labels.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LABELS_FILE = Path(__file__).parent / "data" / "labels.yaml"


def fold(label: str) -> str:
    """Labels compare without spaces, a trailing colon, or case: 数据提供方： = 数据提供方."""
    return "".join(str(label).split()).rstrip(":：").casefold()


@cache
def label_map(path: Path = LABELS_FILE) -> dict[str, str]:
    """folded label → profile field."""
    out: dict[str, str] = {}
    for field, labels in yaml.safe_load(path.read_text("utf-8")).items():
        for label in labels:
            out.setdefault(fold(label), field)
    return out


def field_for(label: str, extra: Mapping[str, str] | None = None) -> str | None:
    """The profile field a source label stands for; `extra` (a source's own labels) first."""
    folded = fold(label)
    if extra:
        own = _folded(tuple(extra.items())).get(folded)
        if own is not None:
            return own
    return label_map().get(folded)


@cache
def _folded(extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    # A source's own labels are folded once, not once per cell.
    return {fold(label): field for label, field in extra}


def relabel(
    record: Mapping[str, Any], extra: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a source record into (profile field → value, unmapped label → value). When
    two labels map to one field, the first non-empty value wins."""
    mapped: dict[str, Any] = {}
    unmapped: dict[str, Any] = {}
    # A portal's records repeat the same dozen labels: fold each label once per source.
    known = _known_labels(tuple(extra.items()) if extra else ())
    for label, value in record.items():
        try:
            field = known[label]
        except (KeyError, TypeError):  # TypeError: a label that is no string (a number)
            field = field_for(label, extra)
            if isinstance(label, str) and len(known) < 10_000:
                known[label] = field
        if field is None:
            unmapped[label] = value
        elif mapped.get(field) in (None, "", [], "暂无"):
            mapped[field] = value
    return mapped, unmapped


@cache
def _known_labels(extra: tuple[tuple[str, str], ...]) -> dict[str, str | None]:
    return {}  # label as written → profile field (None: unmapped), filled as labels come
