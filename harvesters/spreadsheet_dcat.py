"""The DCAT-style workbook (pydatajson's template, as datos.gob.ar publishes catalogs): sheets
Catalog, Theme, Dataset, Distribution and Field, joined on dataset_identifier."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas import Message, message

from .base import SourceRecord
from .labels import fold
from .spreadsheet_cells import Cells, config
from .spreadsheet_io import HarvestSourceError, RawSheet, Table, find_table
from .spreadsheet_records import Columns, Lookup, Organizations, build_dataset, dataset_name

SHEETS = ("Catalog", "Theme", "Dataset", "Distribution", "Field")
PUBLISHER_DEFAULTS = ("publisher_title", "publisher_email", "publisher_website")
OTHER_DEFAULTS = ("license", "extras:catalog", "extras:language", "extras:spatial")

Entry = tuple[SourceRecord, list[Message]]
AddRow = Callable[[Cells, dict[str, Any]], None]


def is_dcat_workbook(sheets: dict[str, RawSheet]) -> bool:
    """Sheets named Dataset and Distribution, or a header with dataset_title."""
    names = {fold(name) for name in sheets}
    if {"dataset", "distribution"} <= names:
        return True
    return any(
        "dataset_title" in {fold(str(c)) for c in row if c}
        for raw in sheets.values()
        for row in raw[:5]
    )


def column_lookup(sheet: str) -> Lookup:
    columns = {fold(label): name for label, name in config()["dcat"][sheet].items()}
    return lambda label: columns.get(fold(label))


@dataclass
class DcatReader:
    prefix: str
    file: str
    sheets: dict[str, RawSheet]
    publishers: Organizations = field(init=False)
    sheet_warnings: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.publishers = Organizations(self.prefix)

    def records(self) -> Iterator[SourceRecord]:
        defaults = self._catalog_defaults()
        themes = self._themes()
        entries = self._datasets(defaults, themes)
        index = _index(entries)
        orphans: dict[str, Entry] = {}
        self._join("Distribution", index, orphans, _add_resource)
        self._join("Field", index, orphans, _add_field)
        for record, _ in entries:
            formats = [r["format"] for r in record.data.get("resources", []) if "format" in r]
            if formats:
                record.data["formats"] = list(dict.fromkeys(formats))
        if entries:  # the sheets' own warnings travel with the first record
            entries[0][1][:0] = self.sheet_warnings
        yield from self.publishers
        for record, warnings in [*entries, *orphans.values()]:
            yield SourceRecord(record.kind, record.data, record.location, tuple(warnings))

    def _table(self, sheet: str) -> tuple[Table, Columns] | None:
        actual = next((name for name in self.sheets if fold(name) == fold(sheet)), None)
        if actual is None:
            return None
        raw = self.sheets[actual]
        lookup = column_lookup(sheet)
        table = find_table(raw, self.file, actual, lambda label: lookup(label) is not None)
        if table is None:
            self.sheet_warnings.append(
                message(
                    f"{self.file}：「{actual}」表没有可识别的表头，已跳过",
                    f"{self.file}: sheet {actual} has no header row we know; skipped.",
                )
            )
            return None
        columns = Columns.read(table, lookup)
        required = tuple(config()["dcat_required"].get(sheet, ()))
        self.sheet_warnings += columns.header_warnings(required)
        return table, columns

    def _catalog_defaults(self) -> dict[str, tuple[str, Any]]:
        found = self._table("Catalog")
        if found is None or not found[0].rows:
            return {}
        table, columns = found
        number, row = table.rows[0]
        cells = columns.cells(row, self.sheet_warnings, table.place(number))
        return cells.values

    def _themes(self) -> dict[str, str]:
        found = self._table("Theme")
        if found is None:
            return {}
        table, columns = found
        themes = {}
        for number, row in table.rows:
            cells = columns.cells(row, self.sheet_warnings, table.place(number))
            if cells.has("id"):
                themes[cells.text("id") or ""] = cells.text("label") or cells.text("id") or ""
        return themes

    def _datasets(
        self, defaults: dict[str, tuple[str, Any]], themes: dict[str, str]
    ) -> list[Entry]:
        found = self._table("Dataset")
        if found is None:
            raise HarvestSourceError(
                f"{self.file}: a DCAT workbook needs a Dataset sheet with a header row "
                "(dataset_identifier, dataset_title …)"
            )
        table, columns = found
        out: list[Entry] = []
        for number, row in table.rows:
            warnings: list[Message] = []
            cells = columns.cells(row, warnings)
            _inherit(cells, defaults)
            location = table.where(number)
            data = build_dataset(cells, self.publishers, location)
            if not cells.has("title"):
                cells.required_empty("title")
            key = cells.text("identifier") or _title_key(cells) or location
            data["name"] = dataset_name(self.prefix, key, data.get("title"))
            data["extras"] = {"source_id": key, **data.get("extras", {}), **_theme(cells, themes)}
            out.append((SourceRecord("dataset", data, location), warnings))
        return out

    def _join(
        self, sheet: str, index: dict[str, Entry], orphans: dict[str, Entry], add: AddRow
    ) -> None:
        """Puts each row of `sheet` on the dataset it names (by identifier, else title);
        rows naming none become records of their own, which fail with a warning saying why."""
        found = self._table(sheet)
        if found is None:
            return
        table, columns = found
        for number, row in table.rows:
            place = table.place(number)
            code, title = _cell(columns, row, "join_code"), _cell(columns, row, "join_title")
            target = index.get(code or "") or index.get(f"title:{title}")
            if target is None:
                target = _orphan(orphans, code or title or "", table, number)
            add(columns.cells(row, target[1], place), target[0].data)


def _cell(columns: Columns, row: list[Any], name: str) -> str | None:
    return columns.cells(row, []).text(name)


def _index(entries: list[Entry]) -> dict[str, Entry]:
    """Datasets by identifier and by title (a row of another sheet may name either); the
    first of two rows with one identifier takes the joins, the pipeline reports the second."""
    index: dict[str, Entry] = {}
    for entry in entries:
        data = entry[0].data
        index.setdefault(data["extras"]["source_id"], entry)
        if data.get("title"):
            index.setdefault(f"title:{data['title']}", entry)
    return index


def _orphan(orphans: dict[str, Entry], key: str, table: Table, number: int) -> Entry:
    if key not in orphans:
        where = table.where(number)
        warning = message(
            f"{where}：所属数据集「{key}」不在「Dataset」表中",
            f"{where}: its dataset {key!r} is not in sheet Dataset.",
        )
        record = SourceRecord("dataset", {"extras": {"source_id": key}}, where)
        orphans[key] = (record, [warning])
    return orphans[key]


def _inherit(cells: Cells, defaults: dict[str, tuple[str, Any]]) -> None:
    """A dataset row without a publisher is the catalog publisher's; a license, language
    or spatial coverage the row lacks is the catalog's."""
    if not cells.has("publisher_title"):
        for name in PUBLISHER_DEFAULTS:
            if name in defaults:
                cells.values[name] = defaults[name]
    for name in OTHER_DEFAULTS:
        if name in defaults and not cells.has(name):
            cells.values[name] = defaults[name]


def _title_key(cells: Cells) -> str | None:
    title = cells.text("title")
    return f"{title}|{cells.text('publisher_title') or ''}" if title else None


def _theme(cells: Cells, themes: dict[str, str]) -> dict[str, str]:
    ids = cells.words("theme")
    return {"theme": ", ".join(themes.get(i, i) for i in ids)} if ids else {}


def _add_resource(cells: Cells, data: dict[str, Any]) -> None:
    if not cells.has("name"):
        cells.required_empty("name")
    download, access = cells.text("download_url"), cells.text("access_url")
    resource = {
        "name": cells.text("name"),
        "kind": "file" if download or not access else "link",
        "url": download or access,
        "format": cells.term("formats", "format"),
        "media_type": cells.text("media_type"),
        "size": cells.count("size"),
        "description": cells.text("description"),
    }
    data.setdefault("resources", []).append({k: v for k, v in resource.items() if v is not None})


def _add_field(cells: Cells, data: dict[str, Any]) -> None:
    """Fields belong to a distribution in DCAT and to the dataset here: a name repeated by
    another distribution is one field (a different type is reported)."""
    if not cells.has("name"):
        cells.required_empty("name")
        return
    item = {
        "name": cells.text("name"),
        "type": cells.term("field_types", "type"),
        "description": cells.text("description"),
    }
    item = {k: v for k, v in item.items() if v is not None}
    fields = data.setdefault("fields", [])
    earlier = next((f for f in fields if f["name"] == item["name"]), None)
    if earlier is None:
        fields.append(item)
    elif earlier.get("type") != item.get("type"):
        cells.warn(
            "type",
            f"信息项「{item['name']}」前面已有类型「{earlier.get('type')}」，此处的类型已忽略",
            f"field {item['name']!r} already has type {earlier.get('type')!r}; ignored here.",
        )
