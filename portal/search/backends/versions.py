"""Index versions on disk for the embedded engine: a folder per version and a LIVE pointer.

`portal reindex` writes a new version beside the live one and then swaps the pointer
(an atomic rename), so searches never see a half-built index.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from .base import SearchUnavailable

LIVE = "LIVE"
KEEP = 2  # the live version and the one before it (a process may still be reading it)


def new_version_dir(root: Path) -> Path:
    path = root / f"v{time.time_ns()}"
    path.mkdir(parents=True)
    return path


def live_version(root: Path, schema: str) -> str | None:
    """The live version, if there is one built with this `schema` (an index written by an
    older release of the portal counts as none: it is rebuilt, never half-read)."""
    try:
        pointer = json.loads((root / LIVE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    except OSError as error:  # not a folder, unreadable: the engine is down, not empty
        raise SearchUnavailable(f"the search index cannot be read ({error.strerror})") from error
    if not isinstance(pointer, dict):
        return None
    return pointer.get("version") if pointer.get("schema") == schema else None


def publish(root: Path, version: str, schema: str) -> None:
    tmp = root / f".{LIVE}.{os.getpid()}"
    tmp.write_text(json.dumps({"version": version, "schema": schema}))
    os.replace(tmp, root / LIVE)
    versions = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")), key=lambda p: p.name
    )
    for old in versions[:-KEEP]:
        if old.name != version:
            shutil.rmtree(old, ignore_errors=True)


def read_cursor(version_dir: Path) -> int:
    try:
        return int(json.loads((version_dir / "cursor.json").read_text())["cursor"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def write_cursor(version_dir: Path, cursor: int) -> None:
    tmp = version_dir / "cursor.json.tmp"
    tmp.write_text(json.dumps({"cursor": cursor}))
    os.replace(tmp, version_dir / "cursor.json")
