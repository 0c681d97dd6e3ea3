"""What a harvester may read: the network, through the outbound client; local files only
when the operator typed the source's path at the command line (`local_files`), and then
only that file and the files below its folder that a local document links.

A link found in a fetched document (a next page, a context) is read only through
`read(..., found_in=...)`: from a remote document, only http(s) and only where the policy
allows; never a file."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .client import Limits, OutboundClient
from .errors import OutboundError, RefusedDestination, ResponseTooLarge, UpstreamFailed
from .policy import AllowList

HTTP = re.compile(r"^https?://", re.IGNORECASE)


@dataclass(frozen=True)
class Read:
    """One document read: its bytes, the type its server gave, and where it lives (the
    final URL, or the file's file: URI)."""

    data: bytes
    content_type: str | None
    url: str
    local: bool


@dataclass(frozen=True)
class Reach:
    client: OutboundClient = field(default_factory=OutboundClient)
    local_files: bool = False  # True only for a path an operator typed

    @classmethod
    def allowing(cls, *entries: str, local_files: bool = False) -> Reach:
        """A reach whose client may also go to these addresses or hosts (tests, tools)."""
        return cls(OutboundClient(AllowList.parse(entries)), local_files)

    @property
    def limits(self) -> Limits:
        return self.client.limits

    def read(
        self, location: str, *, found_in: str | None = None, accept: str | None = None
    ) -> Read:
        """The document at `location`: the source's own location, or (with `found_in`,
        the URL of the document that links it) a link."""
        if HTTP.match(location):
            data, fetched = self.client.fetch(location, {"Accept": accept} if accept else None)
            return Read(data, fetched.content_type, fetched.url, False)
        path = self.local_path(location, found_in)
        return Read(self._read_file(path), None, path.resolve().as_uri(), True)

    def local_path(self, location: str, found_in: str | None = None) -> Path:
        """The file `location` names, if this reach may read it; else RefusedDestination."""
        if not self.local_files:
            raise RefusedDestination(
                location,
                "只能读取 http(s) 网址；本地文件仅限在命令行输入的采集来源",
                "only http(s) URLs are read; local files only for a source typed at the "
                "command line",
            )
        scheme = urlsplit(location).scheme.lower()
        if found_in is None:
            return _file_path(location) if scheme == "file" else Path(location)
        if scheme != "file" or not found_in.lower().startswith("file:"):
            raise RefusedDestination(
                location,
                "文档中的链接只能是 http(s) 网址",
                "a link found in a document must be an http(s) URL",
            )
        path = _file_path(location).resolve()
        folder = _file_path(found_in).resolve().parent
        if not path.is_relative_to(folder):
            raise RefusedDestination(
                location,
                "本地文档只能链接其所在文件夹内的文件",
                "a local document may link only files in its own folder",
            )
        return path

    def _read_file(self, path: Path) -> bytes:
        try:
            if path.stat().st_size > self.limits.max_bytes:
                raise ResponseTooLarge(
                    str(path),
                    f"文件超过 {self.limits.max_bytes} 字节",
                    f"the file is larger than {self.limits.max_bytes} bytes",
                )
            return path.read_bytes()
        except OSError as error:
            raise UpstreamFailed(
                str(path), f"无法读取文件（{error.strerror}）", f"cannot read ({error.strerror})"
            ) from error


def _file_path(url: str) -> Path:
    return Path(urllib.request.url2pathname(urlsplit(url).path))


__all__ = ["OutboundError", "Reach", "Read"]
