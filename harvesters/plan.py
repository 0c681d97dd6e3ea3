"""The bundled plan catalog: zones, departments and datasets written from "Digital Qingdao 2025"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from .base import RecordKind, SourceRecord

PLAN_FILE = Path(__file__).parent / "data" / "plan-2025.yaml"
SECTIONS: tuple[tuple[str, RecordKind], ...] = (
    ("organizations", "organization"),
    ("zones", "zone"),
    ("datasets", "dataset"),
)


class PlanHarvester:
    name = "plan"

    def __init__(self, path: str | Path = PLAN_FILE) -> None:
        self.path = Path(path)

    def records(self) -> Iterator[SourceRecord]:
        text = self.path.read_text(encoding="utf-8")
        document = yaml.safe_load(text) or {}
        lines = _item_lines(text)
        for section, kind in SECTIONS:
            for index, data in enumerate(document.get(section) or []):
                line = lines.get((section, index), 0)
                yield SourceRecord(kind, data, f"{self.path.name}:{line} ({section}[{index}])")


def _item_lines(text: str) -> dict[tuple[str, int], int]:
    """Line number of each item of each top-level list, for error reports."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out: dict[tuple[str, int], int] = {}
    if not isinstance(root, yaml.MappingNode):
        return out
    for key, value in root.value:
        if isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                out[(key.value, index)] = item.start_mark.line + 1
    return out
