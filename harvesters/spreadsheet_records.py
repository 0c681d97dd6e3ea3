"""From spreadsheet rows to profile records: columns → fields, one row → one dataset, the
publishers the rows name → organizations. Shared by both layouts of the spreadsheet harvester."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas import Message, message, vocab

from .base import SourceRecord, stable_name
from .spreadsheet_cells import Cells, as_text, config
from .spreadsheet_io import Table, is_empty

Lookup = Callable[[str], str | None]
INDUSTRY_LETTER = re.compile(r"^([A-Ta-t])(?![A-Za-z])")
# Fields a dataset row fills by one vocabulary term each.
SINGLE_TERMS = (
    ("basic_categories", "basic_category"),
    ("open_levels", "open_level"),
    ("share_types", "share_type"),
    ("share_methods", "share_method"),
    ("grades", "grade"),
    ("processing_levels", "processing_level"),
)
PLAIN_TEXT = ("title", "title_en", "description", "resource_code", "open_condition")
MORE_TEXT = ("share_condition", "landing_page", "license")
COUNTS = ("record_count", "api_count", "file_count")
ORGANIZATION_TITLE_MAX = 200  # schemas/organization.py


@dataclass
class Columns:
    """A table's header read once: which field each column fills, and what is unknown."""

    table: Table
    fields: dict[int, str]
    unknown: list[str]

    @classmethod
    def read(cls, table: Table, lookup: Lookup) -> Columns:
        fields: dict[int, str] = {}
        unknown: list[str] = []
        for index, label in enumerate(table.header):
            if not label:
                continue
            name = lookup(label)
            if name is None:
                unknown.append(label)
            elif name != "ignore":
                fields[index] = name
        return cls(table, fields, unknown)

    @property
    def labels(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for index, name in self.fields.items():
            out.setdefault(name, self.table.header[index])
        return out

    def header_warnings(self, required: tuple[str, ...] = ()) -> list[Message]:
        """Once per sheet: the columns nobody reads, and required ones that are missing."""
        out = []
        where = self.table.where()
        if self.unknown:
            names = "、".join(f"「{u}」" for u in self.unknown)
            out.append(
                message(
                    f"{where}：不认识的列 {names}，其值仅保存在 extras 中",
                    f"{where}: unknown columns {', '.join(map(repr, self.unknown))}; "
                    "their values are kept in extras only.",
                )
            )
        for name in required:
            if name not in self.fields.values():
                out.append(
                    message(
                        f"{where}：缺少必填列（{name}）",
                        f"{where}: the required column for {name} is missing.",
                    )
                )
        return out

    def cells(
        self, row: list[Any], warnings: list[Message], place: tuple[str, str] = ("", "")
    ) -> Cells:
        """A row's values by field; when two columns fill one field, the first non-empty
        wins and a different value in the other is reported, not lost silently."""
        values: dict[str, tuple[str, Any]] = {}
        cells = Cells(values, warnings, place, self.labels)
        for index, name in self.fields.items():
            label, value = self.table.header[index], row[index]
            if is_empty(value):
                continue
            if name not in values:
                values[name] = (label, value)
            elif as_text(values[name][1]) != as_text(value):
                cells.warn(
                    name,
                    f"与列「{label}」同指一项，列「{label}」的值「{value}」已忽略",
                    f"column {label} fills the same field; its value {value!r} is ignored.",
                )
        for index, label in enumerate(self.table.header):
            if label and label in self.unknown and not is_empty(row[index]):
                values.setdefault(f"extras:{label}", (label, row[index]))
        return cells


@dataclass
class Organizations:
    """The publishers rows name, each once, in the order first named."""

    prefix: str
    records: dict[str, SourceRecord] = field(default_factory=dict)

    def add(self, cells: Cells, location: str) -> str | None:
        title = cells.text("publisher_title")
        if title is None:
            return None
        key = " ".join(title.split())
        if key not in self.records:
            uscc = cells.text("uscc")
            short, warnings = _short_title(key)
            data = {
                "name": stable_name(self.prefix, uscc or key),
                "title": short,
                "description": key if short != key else None,
                "title_en": cells.text("publisher_title_en"),
                "uscc": uscc,
                "contact_email": cells.email("publisher_email"),
                "website": cells.text("publisher_website"),
            }
            clean = {k: v for k, v in data.items() if v is not None}
            self.records[key] = SourceRecord("organization", clean, location, warnings)
        return self.records[key].data["name"]

    def __iter__(self) -> Iterator[SourceRecord]:
        return iter(self.records.values())


def _short_title(title: str) -> tuple[str, tuple[Message, ...]]:
    """A department's name within the profile's limit; the full name becomes its description
    (hierarchical names such as 'Ministerio …. Secretaría …. Dirección …' run long)."""
    if len(title) <= ORGANIZATION_TITLE_MAX:
        return title, ()
    short = title[: ORGANIZATION_TITLE_MAX - 1].rstrip() + "…"
    return short, (
        message(
            f"数据提供方名称超过 {ORGANIZATION_TITLE_MAX} 个字符，已截断；全称见 description",
            f"The publisher's name is longer than {ORGANIZATION_TITLE_MAX} characters; "
            "shortened, the full name is the description.",
        ),
    )


def readable(text: str) -> str:
    """ASCII words of a title: Estadística → estadistica (accents folded, not cut)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def dataset_name(prefix: str, key: str, title: str | None) -> str:
    return stable_name(prefix, key, readable(title or ""))


def build_dataset(cells: Cells, publishers: Organizations, location: str) -> dict[str, Any]:
    """The profile fields a row fills (both layouts share their field names); `extras`
    keeps the rest. Name, resources and fields are the caller's."""
    data: dict[str, Any] = {name: cells.text(name) for name in (*PLAIN_TEXT, *MORE_TEXT)}
    data["publisher"] = publishers.add(cells, location)
    data["domain"] = _domain(cells)
    data["industry"] = _industry(cells)
    data["zones"] = cells.terms("zones", "zones") or None
    for vocabulary, name in SINGLE_TERMS:
        data[name] = cells.term(vocabulary, name)
    data["open_type"], data["open_condition"] = _openness(cells)
    data["update_frequency"] = _frequency(cells)
    data["formats"] = cells.terms("formats", "formats") or None
    for name in COUNTS:
        data[name] = cells.count(name)
    data["issued"], data["modified"] = cells.date("issued"), cells.date("modified")
    data["keywords"] = cells.words("keywords") or None
    data["contact_phone"] = cells.phone("contact_phone")
    data["contact_email"] = cells.email("contact_email")
    data["operable"] = cells.flag("operable")
    data["metadata_public"] = cells.flag("metadata_public")
    data["extras"] = _extras(cells)
    return {k: v for k, v in data.items() if v is not None}


def _domain(cells: Cells) -> str | None:
    if cells.has("domain") or not cells.has("super_theme"):
        return cells.term("domains", "domain")
    themes = cells.words("super_theme")
    codes = [config()["super_themes"].get(theme.upper()) for theme in themes]
    if not any(codes):
        cells.warn(
            "super_theme",
            f"「{'、'.join(themes)}」无对应的所属领域，已忽略",
            f"{', '.join(themes)!r} has no matching domain; dropped.",
        )
    return next((code for code in codes if code), None)


def _industry(cells: Cells) -> str | None:
    value = cells.text("industry")
    if value is None or vocab("industries").resolve(value):
        return cells.term("industries", "industry")
    letter = INDUSTRY_LETTER.match(value)  # "G 交通运输…", "G交通运输业": the section letter
    if letter and vocab("industries").resolve(letter.group(1).upper()):
        return letter.group(1).upper()
    return cells.term("industries", "industry")


def _openness(cells: Cells) -> tuple[str | None, str | None]:
    """开放属性 and 开放条件: a condition cell that holds an open type (as portals write it)
    gives the type when the type cell is empty, and is no condition text."""
    open_type = cells.term("open_types", "open_type")
    condition = cells.text("open_condition")
    condition_type = vocab("open_types").resolve(condition) if condition else None
    if condition_type:
        return open_type or condition_type, None
    return open_type, condition


def _frequency(cells: Cells) -> str | None:
    value = cells.text("update_frequency")
    if value is None:
        return None
    periodicity = {k.casefold(): v for k, v in config()["periodicity"].items()}
    return periodicity.get(value.casefold()) or cells.term("update_frequencies", "update_frequency")


def _extras(cells: Cells) -> dict[str, str]:
    out = {}
    for name in cells.values:
        if name.startswith("extras:"):
            text = cells.text(name)
            if text is not None:
                out[name.removeprefix("extras:")] = text
    return out
