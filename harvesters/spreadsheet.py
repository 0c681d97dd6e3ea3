"""Catalogs kept as spreadsheets by city departments: XLSX workbooks and CSV files.

Two layouts, told apart by their sheet names and header labels (a CSV file is always the
Chinese template):

**1. The Chinese catalog template (公共数据目录模板)** — for a department to fill in.

Sheet ``数据目录`` (or the first sheet): one row per dataset under one header row (title or
note rows above the header are fine; empty rows are skipped). Column labels are matched
without spaces, a trailing colon or case, and the usual variants are accepted
(``harvesters/data/labels.yaml`` plus ``harvesters/data/spreadsheet.yaml``):

=================  =========================================================================
required           数据目录名称 (标题 / 资源名称), 所属领域, 开放属性; 数据提供方 (来源部门)
                   unless the harvest source names the department; 开放条件 when 有条件开放
classification     所属行业 (GB/T 4754 门类: G or 交通运输、仓储和邮政业), 基础信息分类, 专区
                   (several: 交通专区、港航专区), 数据分级 (一般数据1级 … 核心数据; empty: from
                   openness), 数据加工程度, 共享属性, 共享条件, 共享方式, 是否可授权运营 (是/否)
description        数据摘要, 关键字 (separated by , 、 or ;), 资源代码 (306001000123),
                   更新频率 (每日 … 不定期), 数据格式 (csv、xlsx、接口), 数据量, 发布日期,
                   更新日期 (date cells or 2024-01-05 / 2024年1月5日), 联系电话, 联系邮箱,
                   详情页网址, 下载地址, 接口地址, 统一社会信用代码 (of the 数据提供方)
=================  =========================================================================

Sheet ``信息项`` (or the second sheet, if its header names 信息项名称): one row per column of
a dataset: 资源代码 or 目录名称 (which dataset; may be left out when the catalog has one
dataset), 信息项名称 (required, or 中文名称), 中文名称, 数据类型 (字符串/数值/日期/时间;
varchar(50) also gives the length), 长度, 分级 (一般数据4级 for 身份证号 …), 是否敏感 (是/否),
描述. A dataset's 数据分级 must be at least its highest 信息项 分级: the profile checks it.

As CSV: the catalog table as one file, the 信息项 table as ``<name>.信息项.csv`` beside it (or
``fields_file``). Encodings: UTF-8 with or without BOM, GBK / GB18030 (any Chinese legacy
encoding is read as GB18030, its superset), else what charset-normalizer detects.

**2. The DCAT-style workbook** (pydatajson's template, datos.gob.ar): sheets Catalog, Theme,
Dataset, Distribution, Field with columns such as dataset_identifier, dataset_title,
dataset_publisher_name, dataset_accrualPeriodicity (R/P1M → monthly: the map is data),
distribution_downloadURL and field_title; distributions and fields join their dataset on
dataset_identifier. The column map is in ``harvesters/data/spreadsheet.yaml``.

Records: first the organizations the rows name (数据提供方 / dataset_publisher_name), each
once, then one dataset per row. Locations read ``catalog.xlsx, sheet 数据目录, row 7``;
warnings name the column (``列「更新频率」：「每两年」不在词表…``), and, for a row of another
sheet, that sheet and row. Warnings about a whole sheet (unknown columns) come once, with the
first dataset record.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from schemas import Message, message

from .base import SourceRecord
from .labels import fold
from .outbound import OutboundError, Reach
from .spreadsheet_cells import config
from .spreadsheet_dcat import DcatReader, is_dcat_workbook
from .spreadsheet_io import HarvestSourceError, RawSheet, Table, read_csv, read_workbook
from .spreadsheet_template import TemplateReader, find_catalog, find_items

__all__ = ["HarvestSourceError", "SpreadsheetHarvester"]
DEFAULT_PREFIX = "catalog"
FIELDS_SUFFIX = ".信息项.csv"


class SpreadsheetHarvester:
    """Harvests one spreadsheet catalog (see the module docstring for the two layouts).

    Options:
        prefix: start of every dataset and organization name; default: the ASCII words of
            the file's name (``catalogo-justicia.xlsx`` → ``catalogo-justicia``), or
            ``catalog`` when it has none.
        fields_file: for a CSV catalog, the 信息项 CSV; default ``<name>.信息项.csv`` beside
            it, if present.
        layout: ``auto`` (default), ``template`` or ``dcat`` to skip the detection.
        reach: what may be read (`outbound.Reach`): a URL is downloaded through its
            outbound client; a file (and ``fields_file``) only if it allows local files.
    """

    name = "spreadsheet"

    def __init__(
        self,
        path_or_url: str,
        prefix: str | None = None,
        fields_file: str | None = None,
        layout: str = "auto",
        *,
        reach: Reach | None = None,
    ) -> None:
        if layout not in ("auto", "template", "dcat"):
            raise ValueError(f"layout must be auto, template or dcat, not {layout!r}")
        self.source = path_or_url
        self.file_name = _file_name(path_or_url)
        self.prefix = prefix or _prefix_from(self.file_name)
        self.fields_file = fields_file
        self.layout = layout
        self.reach = reach or Reach()

    def records(self) -> Iterator[SourceRecord]:
        path = _local(self.source, self.reach)
        try:
            if path.suffix.lower() in (".csv", ".txt", ".tsv"):
                yield from self._csv(path)
            else:
                yield from self._workbook(read_workbook(path))
        finally:
            if _is_url(self.source):  # our downloaded copy
                path.unlink(missing_ok=True)

    def _workbook(self, sheets: dict[str, RawSheet]) -> Iterator[SourceRecord]:
        dcat = self.layout == "dcat" or (self.layout == "auto" and is_dcat_workbook(sheets))
        if dcat:
            yield from DcatReader(self.prefix, self.file_name, sheets).records()
            return
        catalog_sheet, catalog = self._catalog_sheet(sheets)
        items, warnings = self._items_sheet(sheets, catalog_sheet)
        yield from TemplateReader(self.prefix, catalog, items, warnings).records()

    def _catalog_sheet(self, sheets: dict[str, RawSheet]) -> tuple[str, Table]:
        names = _named(sheets, config()["sheets"]["catalog"]) or list(sheets)[:1]
        for name in names:
            table = find_catalog(sheets[name], self.file_name, name)
            if table is not None:
                return name, table
        raise HarvestSourceError(
            f"{self.file_name}: no catalog sheet with a header row of known columns "
            f"(数据目录名称, 数据提供方 …) in sheet {', '.join(names) or '(none)'}"
        )

    def _items_sheet(
        self, sheets: dict[str, RawSheet], catalog_sheet: str
    ) -> tuple[Table | None, list[Message]]:
        """The sheet named 信息项 (a warning if it cannot be read), else the second sheet
        if its header names 信息项 (else it is notes or anything else: not ours)."""
        named = [n for n in _named(sheets, config()["sheets"]["fields"]) if n != catalog_sheet]
        others = [n for n in sheets if n != catalog_sheet]
        for name in named or others[:1]:
            table = find_items(sheets[name], self.file_name, name)
            if table is not None:
                return table, []
        if not named:
            return None, []
        where = f"{self.file_name}, sheet {named[0]}"
        return None, [
            message(
                f"{where}：找不到信息项表头（信息项名称或中文名称），此表未读取",
                f"{where}: no 信息项 header row (信息项名称 or 中文名称); sheet not read.",
            )
        ]

    def _csv(self, path: Path) -> Iterator[SourceRecord]:
        catalog = find_catalog(read_csv(path), self.file_name, None)
        if catalog is None:
            raise HarvestSourceError(
                f"{self.file_name}: no header row of known columns (数据目录名称, 数据提供方 …)"
            )
        items = None
        companion = _companion(path)
        if self.fields_file:
            try:
                companion = self.reach.local_path(self.fields_file)
            except OutboundError as error:
                raise HarvestSourceError(error.describe()["en"]) from error
        if companion is not None:
            items = find_items(read_csv(companion), companion.name, None)
            if items is None:
                raise HarvestSourceError(
                    f"{companion.name}: no 信息项 header row (信息项名称 or 中文名称)"
                )
        yield from TemplateReader(self.prefix, catalog, items).records()


def _named(sheets: dict[str, Any], wanted: list[str]) -> list[str]:
    folded = [fold(w) for w in wanted]
    return sorted((n for n in sheets if fold(n) in folded), key=lambda n: folded.index(fold(n)))


def _companion(path: Path) -> Path | None:
    candidate = path.with_name(path.stem + FIELDS_SUFFIX)
    return candidate if candidate.is_file() else None


def _prefix_from(file_name: str) -> str:
    words = re.findall(r"[a-z0-9]+", Path(file_name).stem.lower())
    return "-".join(words) or DEFAULT_PREFIX


def _file_name(path_or_url: str) -> str:
    if _is_url(path_or_url):
        return unquote(Path(urlparse(path_or_url).path).name) or "download"
    return Path(path_or_url).name


def _is_url(text: str) -> bool:
    return urlparse(text).scheme in ("http", "https")


def _local(path_or_url: str, reach: Reach) -> Path:
    """The file itself (if the reach allows local files), or a downloaded copy of a URL
    (keeping its suffix), fetched through the outbound client."""
    if not _is_url(path_or_url):
        try:
            path = reach.local_path(path_or_url)
        except OutboundError as error:
            raise HarvestSourceError(error.describe()["en"]) from error
        if not path.is_file():
            raise HarvestSourceError(f"{path}: no such file")
        return path
    suffix = Path(urlparse(path_or_url).path).suffix or ".xlsx"
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as out:
        try:
            reach.client.fetch_into(path_or_url, out)
        except OutboundError as error:
            out.close()
            Path(out.name).unlink(missing_ok=True)
            reason = error.describe()
            raise HarvestSourceError(
                f"cannot download: {reason['en']} / 无法下载：{reason['zh']}"
            ) from error
    return Path(out.name)
