"""The Chinese catalog template (see harvesters/spreadsheet.py): a catalog table, one row per
dataset, and an optional 信息项 table joined to it by 资源代码 or 目录名称."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from schemas import Message, message

from .base import SourceRecord
from .labels import field_for, fold
from .spreadsheet_cells import Cells, config, labels_of
from .spreadsheet_io import Table, find_table
from .spreadsheet_records import Columns, Organizations, build_dataset, dataset_name

# The type is everything before the bracket (stripped by the caller): a lazy type followed
# by optional spaces could be split in quadratically many ways on a long run of spaces.
TYPE_WITH_LENGTH = re.compile(r"^\s*+([^()（）]++)[(（]\s*+(\d++)(?:\s*+,\s*+\d++)?+\s*+[)）]\s*+$")


@cache
def catalog_labels() -> dict[str, str]:
    return labels_of(config()["catalog_labels"])


@cache
def item_labels() -> dict[str, str]:
    return {fold(label): name for label, name in labels_of(config()["field_labels"]).items()}


def catalog_field(label: str) -> str | None:
    return field_for(label, catalog_labels())


def item_field(label: str) -> str | None:
    return item_labels().get(fold(label))


def find_catalog(raw: list[list[Any]], file: str, sheet: str | None) -> Table | None:
    return find_table(raw, file, sheet, lambda label: catalog_field(label) is not None)


def find_items(raw: list[list[Any]], file: str, sheet: str | None) -> Table | None:
    """A 信息项 table: its header must name the item (信息项名称 or 中文名称)."""
    table = find_table(raw, file, sheet, lambda label: item_field(label) is not None)
    if table is None:
        return None
    named = {item_field(label) for label in table.header if label}
    return table if named & {"name", "title"} else None


@dataclass
class TemplateReader:
    """Reads a catalog table (and its 信息项 table) into organizations and datasets."""

    prefix: str
    catalog: Table
    items: Table | None = None
    sheet_warnings: list[Message] = field(default_factory=list)
    publishers: Organizations = field(init=False)

    def __post_init__(self) -> None:
        self.publishers = Organizations(self.prefix)

    def records(self) -> Iterator[SourceRecord]:
        datasets = self._datasets()
        orphans = self._join_items(datasets)
        if datasets:  # the sheets' own warnings travel with the first record
            datasets[0][1][:0] = self.sheet_warnings
        yield from self.publishers
        yield from finish(datasets)
        yield from orphans

    def _datasets(self) -> list[tuple[SourceRecord, list[Message]]]:
        columns = Columns.read(self.catalog, catalog_field)
        self.sheet_warnings += columns.header_warnings(tuple(config()["required"]["catalog"]))
        out = []
        for number, row in self.catalog.rows:
            warnings: list[Message] = []
            cells = columns.cells(row, warnings)
            location = self.catalog.where(number)
            data = build_dataset(cells, self.publishers, location)
            for name in config()["required"]["catalog"]:
                if not cells.has(name) and name in columns.fields.values():
                    cells.required_empty(name)
            data["name"] = dataset_name(self.prefix, _key(cells, location), data.get("title"))
            data["extras"] = {"source_id": _key(cells, location), **data.get("extras", {})}
            data["resources"] = _resources(cells, data) or None
            data = {k: v for k, v in data.items() if v is not None}
            out.append((SourceRecord("dataset", data, location), warnings))
        return out

    def _join_items(self, datasets: list[tuple[SourceRecord, list[Message]]]) -> list[SourceRecord]:
        """Puts each 信息项 row on its dataset; rows that name no dataset come back as
        records of their own (they fail validation, and their warnings say why)."""
        if self.items is None:
            return []
        columns = Columns.read(self.items, item_field)
        self.sheet_warnings += columns.header_warnings()
        index = _index(datasets)
        orphans: dict[str, tuple[str, list[dict[str, Any]], list[Message]]] = {}
        for number, row in self.items.rows:
            warnings: list[Message] = []
            cells = columns.cells(row, warnings, self.items.place(number))
            item = _item(cells)
            key = cells.text("join_code") or cells.text("join_title") or ""
            target = index.get(key) or (datasets[0] if len(datasets) == 1 and not key else None)
            if target is None:
                where = self.items.where(number)
                entry = orphans.setdefault(key, (where, [], []))
                entry[1].append(item)
                entry[2].extend([*warnings, _no_dataset(key, where)])
                continue
            record, record_warnings = target
            record.data.setdefault("fields", []).append(item)
            record_warnings.extend(warnings)
        return [
            SourceRecord(
                "dataset", {"fields": items, "extras": {"source_id": key}}, where, tuple(w)
            )
            for key, (where, items, w) in orphans.items()
        ]


def finish(datasets: list[tuple[SourceRecord, list[Message]]]) -> list[SourceRecord]:
    return [SourceRecord(r.kind, r.data, r.location, tuple(w)) for r, w in datasets]


def _key(cells: Cells, location: str) -> str:
    """What identifies a row in its source: 资源代码, an identifier, or title + publisher."""
    title = cells.text("title")
    return (
        cells.text("resource_code")
        or cells.text("identifier")
        or (f"{title}|{cells.text('publisher_title') or ''}" if title else location)
    )


def _index(
    datasets: list[tuple[SourceRecord, list[Message]]],
) -> dict[str, tuple[SourceRecord, list[Message]]]:
    index: dict[str, tuple[SourceRecord, list[Message]]] = {}
    for entry in datasets:
        data = entry[0].data
        for key in (data.get("resource_code"), data["extras"]["source_id"], data.get("title")):
            if key:
                index.setdefault(key, entry)
    return index


def _resources(cells: Cells, data: dict[str, Any]) -> list[dict[str, Any]]:
    title = data.get("title") or data["name"]
    formats = [f for f in data.get("formats", []) if f not in ("api", "link")]
    out = []
    if cells.has("file_url"):
        resource = {"name": title, "kind": "file", "url": cells.text("file_url")}
        if formats:
            resource["format"] = formats[0]
        out.append(resource)
    if cells.has("api_url"):
        out.append({"name": f"{title}（接口）", "kind": "api", "url": cells.text("api_url")})
    return out


def _item(cells: Cells) -> dict[str, Any]:
    """One 信息项 row; 数据类型 such as varchar(50) also gives the length."""
    type_text = cells.text("type")
    length = cells.count("length")
    sized = TYPE_WITH_LENGTH.match(type_text or "")
    if sized:
        type_text = sized.group(1).strip()
        length = length if length is not None else int(sized.group(2))
    if not cells.has("name") and not cells.has("title"):
        cells.required_empty("name")
    item = {
        "name": cells.text("name") or cells.text("title"),
        "title": cells.text("title"),
        "type": cells.term("field_types", "type", type_text) if type_text else None,
        "length": length,
        "grade": cells.term("grades", "grade"),
        "sensitive": cells.flag("sensitive"),
        "description": cells.text("description"),
    }
    return {k: v for k, v in item.items() if v is not None}


def _no_dataset(key: str, where: str) -> Message:
    if not key:
        return message(
            f"{where}：信息项未注明所属数据集（资源代码或目录名称）",
            f"{where}: the item names no dataset (资源代码 or 目录名称).",
        )
    return message(
        f"{where}：信息项所属数据集「{key}」不在目录表中",
        f"{where}: the item's dataset {key!r} is not in the catalog table.",
    )
