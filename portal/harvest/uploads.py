"""Spreadsheet catalogs uploaded for a dry run, kept under the instance folder until the
department commits them, and never longer: a failed dry run and a commit remove the file,
and files older than `STALE_AFTER` (a dry run nobody committed) go at the next upload."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SUFFIXES = (".xlsx", ".csv")
NAME = re.compile(r"^[0-9a-f]{32}\.(xlsx|csv)$")
STALE_AFTER = 24 * 3600  # seconds
CHUNK = 64 * 1024


class UploadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"over {limit} bytes")
        self.limit = limit


@dataclass
class Uploads:
    folder: Path
    max_bytes: int

    def save(self, stream: BinaryIO, suffix: str) -> str:
        """The new upload's name; the stream is copied in chunks, refused past max_bytes."""
        self.sweep()
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid.uuid4().hex}{suffix}"
        size = 0
        try:
            with (self.folder / name).open("wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadTooLarge(self.max_bytes)
                    out.write(chunk)
        except BaseException:
            self.discard(name)
            raise
        return name

    def path(self, name: str) -> Path | None:
        """The upload's file, or None for a name that is not ours or no longer there."""
        if not NAME.match(name):  # names are ours: anything else is a guess or a traversal
            return None
        path = self.folder / name
        return path if path.is_file() else None

    def discard(self, name: str) -> None:
        if NAME.match(name):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()

    def sweep(self, now: float | None = None) -> None:
        """Removes uploads older than STALE_AFTER."""
        if not self.folder.is_dir():
            return
        cutoff = (now if now is not None else time.time()) - STALE_AFTER
        for path in self.folder.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if NAME.match(path.name) and path.stat().st_mtime < cutoff:
                    path.unlink()
