"""Bounds on a workbook before and while it is read, so that a small file cannot make the
reader build a huge grid (one cell at column XFD or row 1,048,576 declares one) or inflate
a zip member to gigabytes.

Before openpyxl opens the file, its zip directory is checked: the uncompressed size of
each member and of all together, and how much a member grows. While reading (read-only,
streaming), rows, columns and cells are counted against their own limits; the declared
dimension of a sheet is never trusted.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from .base import HarvestSourceError


@dataclass(frozen=True)
class SheetLimits:
    max_rows: int = 20_000  # a department's catalog has hundreds of rows, a few thousand
    max_columns: int = 256
    max_cells: int = 1_000_000  # non-empty cells over the whole workbook
    max_member_bytes: int = 64 * 1024**2  # one zip member, uncompressed
    max_total_bytes: int = 128 * 1024**2  # all members, uncompressed
    max_ratio: int = 200  # uncompressed / compressed size of a member above 1 MB


LIMITS = SheetLimits()


class TooLarge(HarvestSourceError):
    """A spreadsheet past one of the limits; the message names it, in Chinese and English."""


def refuse(file: str, zh: str, en: str) -> TooLarge:
    return TooLarge(f"{file}: {zh} / {en}")


def check_zip(path: Path, limits: SheetLimits = LIMITS) -> None:
    """Refuses a workbook whose members would inflate past the limits (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise HarvestSourceError(f"{path.name}: not a readable XLSX workbook ({error})") from error
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > limits.max_member_bytes:
            raise refuse(
                path.name,
                f"工作簿成员 {member.filename} 解压后超过 {limits.max_member_bytes:,} 字节",
                f"member {member.filename} is over {limits.max_member_bytes:,} bytes uncompressed",
            )
        grows = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1024**2 and grows > limits.max_ratio:
            raise refuse(
                path.name,
                f"工作簿成员 {member.filename} 的压缩比超过 {limits.max_ratio}",
                f"member {member.filename} expands more than {limits.max_ratio} times",
            )
    if total > limits.max_total_bytes:
        raise refuse(
            path.name,
            f"工作簿解压后超过 {limits.max_total_bytes:,} 字节",
            f"the workbook is over {limits.max_total_bytes:,} bytes uncompressed",
        )


def column_name(number: int) -> str:
    """1 → A, 16384 → XFD."""
    name = ""
    while number:
        number, rest = divmod(number - 1, 26)
        name = chr(65 + rest) + name
    return name
