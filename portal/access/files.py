"""Resource files the portal keeps, under the instance folder.

A stored file is named by a random key kept on its resource (`Resource.file_key`), made
anew at each upload, never by the resource's id: an id freed when a resource goes may be
given again (a CKAN document names its resource ids), and the file of the old resource
must not become the new one's (issue 15). A replaced file, and the file of a resource an
update removes, is moved to `quarantine/` (kept for an operator, never served).

A file is written to a temporary name and renamed into place when complete, so a failed
upload (a full disk, a dropped connection) leaves nothing behind and the previous file,
if any, stays. Paths come from keys the database knows, never from a request.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from schemas import message

from ..catalog.errors import CatalogError, Invalid
from ..models import Resource

CHUNK = 64 * 1024
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
QUARANTINE = "quarantine"  # beside the two-character folders of keys: never a key's path


class StorageFull(CatalogError):
    status = 507


@dataclass(frozen=True)
class StoredFile:
    path: Path
    size: int
    sha256: str


@dataclass
class FileStore:
    root: Path
    max_bytes: int = 2 * 1024**3

    def path(self, resource_id: str) -> Path:
        if not SAFE_ID.match(resource_id):  # ids are ours; refuse anything path-like
            raise Invalid({"resource": [message("资源标识无效", "Not a resource id.")]})
        return self.root / resource_id[:2] / resource_id

    def exists(self, resource_id: str) -> bool:
        return self.path(resource_id).is_file()

    def save(self, resource_id: str, stream: BinaryIO) -> StoredFile:
        target = self.path(resource_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise Invalid(
                            {
                                "file": [
                                    message(
                                        f"文件超过 {self.max_bytes:,} 字节",
                                        f"The file is over {self.max_bytes:,} bytes.",
                                    )
                                ]
                            }
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except OSError as error:
            _remove(temporary)
            raise StorageFull(
                {
                    "file": [
                        message(
                            f"文件未能保存（{error.strerror}），未保留任何部分",
                            f"The file could not be stored ({error.strerror}); nothing "
                            "of it was kept.",
                        )
                    ]
                }
            ) from error
        except BaseException:
            _remove(temporary)
            raise
        return StoredFile(target, size, digest.hexdigest())

    # -- a resource's own file ------------------------------------------------------------
    def store(self, resource: Resource, stream: BinaryIO) -> StoredFile:
        """Keep `stream` as `resource`'s file, under a new random key set on the resource;
        the file it replaces is quarantined."""
        key = secrets.token_hex(16)
        stored = self.save(key, stream)
        previous, resource.file_key = resource.file_key, key
        if previous:
            self.quarantine(previous)
        return stored

    def stored(self, resource: Resource) -> Path | None:
        """The resource's own stored file, if it has one: found by the key on the
        resource, so it is never another resource's."""
        if not resource.file_key:
            return None
        path = self.path(resource.file_key)
        return path if path.is_file() else None

    def quarantine(self, key: str) -> None:
        """Take a file out of service (its resource is gone, or it was replaced)."""
        source = self.path(key)
        if not source.is_file():
            return
        target = self.root / QUARANTINE / key
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def read(self, resource_id: str) -> Iterator[bytes]:
        with self.path(resource_id).open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
