"""The bundled plan catalog: zones, departments and datasets written from "Digital Qingdao 2025"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from .base import HarvestSourceError, RecordKind, SourceRecord
from .outbound import OutboundError, Reach

PLAN_FILE = Path(__file__).parent / "data" / "plan-2025.yaml"
SECTIONS: tuple[tuple[str, RecordKind], ...] = (
    ("organizations", "organization"),
    ("zones", "zone"),
    ("datasets", "dataset"),
)


class PlanHarvester:
    name = "plan"

    def __init__(self, path: str | Path = "bundled", *, reach: Reach | None = None) -> None:
        # "bundled" (or nothing) is the file shipped with the package, wherever it is installed.
        self.bundled = str(path) in ("", "bundled")
        self.path = PLAN_FILE if self.bundled else Path(path)
        self.reach = reach or Reach()  # another file: only if it allows local files

    def records(self) -> Iterator[SourceRecord]:
        if not self.bundled:
            try:
                self.reach.local_path(str(self.path))
            except OutboundError as error:
                raise HarvestSourceError(error.describe()) from error
        # Parse once into nodes (libyaml when present), which keep their line numbers.
        root = yaml.compose(self.path.read_text(encoding="utf-8"), Loader=_Loader)
        sections = dict((k.value, v) for k, v in root.value) if _is_mapping(root) else {}
        for section, kind in SECTIONS:
            node = sections.get(section)
            for index, item in enumerate(node.value if node is not None else []):
                data = yaml.SafeLoader("").construct_document(item)
                location = f"{self.path.name}:{item.start_mark.line + 1} ({section}[{index}])"
                yield SourceRecord(kind, data, location)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _is_mapping(node: yaml.Node | None) -> bool:
    return isinstance(node, yaml.MappingNode)
