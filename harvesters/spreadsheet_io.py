"""Reading spreadsheets for the spreadsheet harvester: XLSX sheets and CSV files (with their
encoding detected) as tables of numbered rows under a header row."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from .base import HarvestSourceError
from .spreadsheet_limits import LIMITS, SheetLimits, check_zip, column_name, refuse

# Detectors take short Chinese text for Korean, Japanese or Big5; any of them means "a CJK
# legacy encoding", and a Chinese department's file in one is GBK or its superset GB18030.
CJK_LEGACY = (
    "gb2312",
    "gbk",
    "gb18030",
    "hz",
    "cp936",
    "big5",
    "big5hkscs",
    "cp950",
    "cp949",
    "euc_kr",
    "johab",
    "cp932",
    "shift_jis",
    "shift_jis_2004",
    "euc_jp",
    "euc_jis_2004",
    "iso2022_jp",
)
HEADER_SCAN_ROWS = 10  # a template may put a title or notes above its header row


@dataclass
class Table:
    """A sheet (or CSV file): its header and its non-empty rows with their row numbers
    (1-based, as a spreadsheet program shows them)."""

    file: str
    sheet: str | None
    header: list[str] = field(default_factory=list)
    header_row: int = 0
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)

    def where(self, row: int | None = None) -> str:
        """`catalog.xlsx, sheet 数据目录, row 7` (or `catalog.csv, row 7`)."""
        parts = [self.file]
        if self.sheet is not None:
            parts.append(f"sheet {self.sheet}")
        if row is not None:
            parts.append(f"row {row}")
        return ", ".join(parts)

    def place(self, row: int) -> tuple[str, str]:
        """The same as a prefix for a message about another table than the record's own."""
        if self.sheet is None:
            return f"「{self.file}」第 {row} 行，", f"{self.file}, row {row}, "
        return f"「{self.sheet}」表第 {row} 行，", f"sheet {self.sheet}, row {row}, "


RawSheet = list[list[Any]]


def read_workbook(path: Path, limits: SheetLimits = LIMITS) -> dict[str, RawSheet]:
    """Every sheet of an XLSX workbook as rows of cell values (cached formula results)."""
    import openpyxl  # imported here: a CSV harvest does without it

    if path.suffix.lower() == ".xls":
        raise HarvestSourceError(
            f"{path.name}: the old .xls format is not read; save the workbook as .xlsx"
        )
    if not path.is_file():
        raise HarvestSourceError(f"{path}: no such file")
    check_zip(path, limits)
    try:
        workbook = openpyxl.load_workbook(path, data_only=True, read_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise HarvestSourceError(f"{path.name}: not a readable XLSX workbook ({error})") from error
    try:
        cells = [0]  # non-empty cells so far, over every sheet
        return {ws.title: _bounded_rows(ws, path.name, limits, cells) for ws in workbook}
    except HarvestSourceError:
        raise
    except Exception as error:  # a damaged sheet is found only while streaming it
        raise HarvestSourceError(f"{path.name}: not a readable XLSX workbook ({error})") from error
    finally:
        workbook.close()


def _bounded_rows(sheet: Any, file: str, limits: SheetLimits, cells: list[int]) -> RawSheet:
    """A sheet's rows, streamed, trailing empty cells dropped, within the limits."""
    sheet.reset_dimensions()  # the declared dimension (A1:XFD1048576) is not to be trusted
    rows: RawSheet = []
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number > limits.max_rows:
            if all(is_empty(value) for value in row):
                continue  # formatted but empty rows far below: read past, not kept
            raise refuse(
                file,
                f"「{sheet.title}」表超过 {limits.max_rows:,} 行",
                f"sheet {sheet.title} has more than {limits.max_rows:,} rows",
            )
        values = list(row)
        while values and is_empty(values[-1]):
            values.pop()
        if len(values) > limits.max_columns:
            raise refuse(
                file,
                f"「{sheet.title}」表第 {number} 行超过 {limits.max_columns} 列"
                f"（{column_name(len(values))} 列有内容）",
                f"sheet {sheet.title}, row {number} goes past {limits.max_columns} columns "
                f"(a value in column {column_name(len(values))})",
            )
        cells[0] += sum(1 for value in values if not is_empty(value))
        if cells[0] > limits.max_cells:
            raise refuse(
                file,
                f"工作簿超过 {limits.max_cells:,} 个非空单元格",
                f"the workbook has more than {limits.max_cells:,} non-empty cells",
            )
        rows.append(values)
    while rows and not rows[-1]:
        rows.pop()  # formatting far below the table is no content
    return rows


def read_csv(path: Path, limits: SheetLimits = LIMITS) -> RawSheet:
    """A CSV file's rows, its encoding and delimiter detected."""
    try:
        if path.stat().st_size > limits.max_total_bytes:
            raise refuse(
                path.name,
                f"文件超过 {limits.max_total_bytes:,} 字节",
                f"the file is over {limits.max_total_bytes:,} bytes",
            )
        raw = path.read_bytes()
    except OSError as error:
        raise HarvestSourceError(f"{path}: cannot read ({error.strerror})") from error
    text = raw.decode(detect_encoding(raw, path.name))
    sample = text[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [list(row) for row in csv.reader(io.StringIO(text, newline=""), dialect)]
    except csv.Error as error:  # e.g. a "cell" of megabytes: no catalog
        raise HarvestSourceError(f"{path.name}: not a readable CSV file ({error})") from error
    if len(rows) > limits.max_rows or any(len(row) > limits.max_columns for row in rows):
        raise refuse(
            path.name,
            f"超过 {limits.max_rows:,} 行或 {limits.max_columns} 列",
            f"more than {limits.max_rows:,} rows or {limits.max_columns} columns",
        )
    return rows


def detect_encoding(raw: bytes, name: str = "") -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, GB18030 for any Chinese legacy file,
    else what charset-normalizer finds."""
    # A BOM followed by bytes that do not decode is no proof of anything: guess below.
    if raw.startswith(codecs.BOM_UTF8) and _decodes(raw, "utf-8-sig"):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _decodes(raw, "utf-16"):
        return "utf-16"
    if _decodes(raw, "utf-8"):
        return "utf-8"
    best = from_bytes(raw).best()
    guess = codecs.lookup(best.encoding).name if best else None
    # UTF-16/32 without a BOM is what detectors say of short text, never what portals
    # write; a guess that does not decode is no guess.
    unusable = (
        guess is None
        or _is_cjk_legacy(guess)
        or guess.startswith(("utf-16", "utf-32"))
        or not _decodes(raw, guess)
    )
    if unusable and _decodes(raw, "gb18030"):
        # GBK is a subset of GB18030: decoding with the superset never loses a character.
        return "gb18030"
    if guess is None or not _decodes(raw, guess):
        raise HarvestSourceError(f"{name}: cannot tell the text encoding of this file")
    return guess


def _is_cjk_legacy(encoding: str) -> bool:
    return encoding.replace("-", "_") in CJK_LEGACY


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def numbered_rows(raw: RawSheet, after: int = 0) -> Iterator[tuple[int, list[Any]]]:
    """Non-empty rows after row `after`, with their 1-based numbers."""
    for number, row in enumerate(raw[after:], start=after + 1):
        if not all(is_empty(cell) for cell in row):
            yield number, row


def find_table(
    raw: RawSheet,
    file: str,
    sheet: str | None,
    known: Callable[[str], bool],
    first_row_only: bool = False,
) -> Table | None:
    """The table under the first row naming two or more known columns (or one, for a
    one-column sheet); None when no such row opens the sheet."""
    candidates = list(numbered_rows(raw))[: 1 if first_row_only else HEADER_SCAN_ROWS]
    for number, row in candidates:
        labels = [_label(cell) for cell in row]
        hits = sum(1 for label in labels if label and known(label))
        if hits >= min(2, len([label for label in labels if label])):
            rows = list(numbered_rows(raw, after=number))
            width = len(labels)
            return Table(file, sheet, labels, number, [(n, _pad(r, width)) for n, r in rows])
    return None


def _label(cell: Any) -> str:
    return "" if cell is None else " ".join(str(cell).split())


def _pad(row: list[Any], width: int) -> list[Any]:
    return row[:width] + [None] * (width - len(row))
