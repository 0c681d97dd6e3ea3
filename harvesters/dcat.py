"""The DCAT harvester: DCAT / DCAT-AP catalogs in RDF (Turtle, RDF/XML, JSON-LD, N-Triples;
Hydra-paged or not) and DCAT-US / Project Open Data `data.json`, from a file or a URL.

Reading is split by syntax: `dcat_rdf` reads graphs, `dcat_json` reads data.json and maps
both onto our profile (the vocabulary mappings are data in data/dcat.yaml).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rdflib import Graph

from schemas import message

from .base import HarvestSourceError, SourceRecord
from .dcat_json import DcatMapper, read_data_json
from .dcat_rdf import next_pages, read_datasets

log = logging.getLogger(__name__)

# Our names for a syntax → rdflib's; "json" is decided by content (JSON-LD or data.json).
FORMAT_NAMES = {
    "turtle": "turtle",
    "ttl": "turtle",
    "n3": "n3",
    "xml": "xml",
    "rdf": "xml",
    "rdfxml": "xml",
    "rdf/xml": "xml",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "trig": "trig",
    "nquads": "nquads",
    "json": "json",
    "datajson": "data.json",
    "data.json": "data.json",
    "dcat-us": "data.json",
}
EXTENSIONS = {
    ".ttl": "turtle",
    ".n3": "n3",
    ".rdf": "xml",
    ".xml": "xml",
    ".owl": "xml",
    ".jsonld": "json-ld",
    ".json": "json",
    ".nt": "nt",
    ".trig": "trig",
    ".nq": "nquads",
}
CONTENT_TYPES = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "text/n3": "n3",
    "application/rdf+xml": "xml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/ld+json": "json-ld",
    "application/json": "json",
    "application/n-triples": "nt",
    "application/trig": "trig",
    "application/n-quads": "nquads",
}
ACCEPT = (
    "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.9, "
    "application/n-triples;q=0.8, application/json;q=0.8, */*;q=0.1"
)


@dataclass(frozen=True)
class Document:
    """One fetched page: its bytes, what the server called them, and where it lives."""

    data: bytes
    content_type: str | None
    base: str  # absolute IRI that relative IRIs (hydra:next …) resolve against
    display: str  # what a location shows: the file name, or the URL


class DcatHarvester:
    """Harvests a DCAT catalog from `path_or_url` (a local file or an http(s) URL).

    Options:
    - format: the syntax: turtle/ttl, xml/rdfxml, json-ld/jsonld, nt/ntriples, n3, trig,
      json (JSON-LD or data.json, told apart by content) or datajson. Default: from the file
      extension or the Content-Type, else guessed from the first character.
    - prefix: prefix of harvested names (stable_name). Default: the file stem or URL host.
    - max_pages: how many Hydra pages to read at most (default 100).
    - timeout: seconds per HTTP request (default 30).
    - since: a date, datetime or ISO string (an incremental run): leave out datasets whose
      dct:modified is older; a dataset that gives no date is always kept.
    """

    name = "dcat"

    def __init__(
        self,
        path_or_url: str,
        *,
        format: str | None = None,
        prefix: str | None = None,
        max_pages: int = 100,
        timeout: float = 30.0,
        since: date | str | None = None,
    ) -> None:
        self.location = str(path_or_url)
        self.format = _format_option(format)
        self.prefix = _slug(prefix or _default_prefix(self.location))
        self.max_pages = max(1, int(max_pages))
        self.timeout = timeout
        self.since = _since_option(since)

    def records(self) -> Iterator[SourceRecord]:
        mapper = DcatMapper(self.prefix)
        datasets = [_map_safely(mapper, raw, where) for where, raw in self._read()]
        if self.since:
            datasets = [d for d in datasets if d.data.get("modified", self.since) >= self.since]
        yield from mapper.organizations.values()  # publishers first, each once
        yield from datasets

    def _read(self) -> Iterator[tuple[str, Any]]:
        first = self._fetch(self.location)
        syntax = self.format or _syntax_of(self.location, first)
        if syntax in ("json", "data.json"):
            doc = _load_json(first)
            if syntax == "data.json" or _is_data_json(doc):
                catalog = {"dataset": doc} if isinstance(doc, list) else doc
                if not isinstance(catalog, dict):  # the format option said data.json
                    raise _source_error(
                        f"{first.display} 不是 data.json（应为对象或数据集数组）",
                        f"{first.display} is no data.json (an object or a list of datasets).",
                        first.base,
                    )
                yield from read_data_json(catalog, first.display)
                return
            syntax = "json-ld"
        yield from read_datasets(self._pages(first, syntax))

    def _pages(self, first: Document, syntax: str) -> list[tuple[str, Graph]]:
        """The first page and the Hydra pages after it, until none is left, one repeats, or
        max_pages are read."""
        pages: list[tuple[str, Graph]] = []
        seen: set[str] = set()
        document: Document | None = first
        while document is not None:
            seen.add(document.base)
            graph = _parse(document, syntax if not pages else self._page_syntax(document))
            pages.append((document.display, graph))
            following = [n for n in next_pages(graph) if n not in seen]
            if not following:
                break
            if len(pages) >= self.max_pages:
                log.warning("%s: stopped after max_pages=%d", self.location, self.max_pages)
                break
            seen.add(following[0])  # as linked, in case the server redirects it elsewhere
            document = self._fetch(following[0])
        return pages

    def _page_syntax(self, document: Document) -> str:
        syntax = self.format or _syntax_of(document.base, document)
        return "json-ld" if syntax in ("json", "data.json") else syntax

    def _fetch(self, location: str) -> Document:
        if re.match(r"^https?://", location, re.I):
            return _fetch_http(location, self.timeout)
        if location.lower().startswith("file:"):  # a Hydra link, resolved against a file
            path = Path(urllib.request.url2pathname(urlparse(location).path))
        else:
            path = Path(location)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise _source_error(
                f"无法读取 DCAT 目录文件 {path}（{error.strerror}）",
                f"Cannot read the DCAT catalog file {path} ({error.strerror}).",
                str(path),
            ) from error
        return Document(data, None, path.resolve().as_uri(), path.name)


def _map_safely(mapper: DcatMapper, raw: Any, where: str) -> SourceRecord:
    # One odd record must not end the harvest: say what went wrong, on the record itself.
    try:
        return mapper.dataset(raw, where)
    except Exception as error:  # the report shows it; the harvest goes on
        problem = message(
            f"无法读取该数据集（{type(error).__name__}: {error}）",
            f"Could not read this dataset ({type(error).__name__}: {error}).",
        )
        return SourceRecord("dataset", {}, where, (problem,))


def _fetch_http(url: str, timeout: float) -> Document:
    headers = {"Accept": ACCEPT, "User-Agent": "qingdao-portal-harvester"}
    try:
        import requests
    except ImportError:  # urllib is enough when requests is not installed
        requests = None  # type: ignore[assignment]
    try:
        if requests is not None:
            response = requests.get(url, headers=headers, timeout=timeout)
            response.raise_for_status()
            data, content_type, final = (
                response.content,
                response.headers.get("Content-Type"),
                response.url,
            )
        else:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                data, content_type, final = (
                    reply.read(),
                    reply.headers.get("Content-Type"),
                    reply.url,
                )
    except Exception as error:  # every transport failure is alike to us
        raise _source_error(
            f"无法获取 DCAT 目录 {url}（{error}）",
            f"Cannot fetch the DCAT catalog {url} ({error}).",
            url,
        ) from error
    return Document(data, content_type, final or url, final or url)


def _syntax_of(location: str, document: Document) -> str:
    """The syntax from the Content-Type (unless generic), the extension, or the first byte."""
    content_type = (document.content_type or "").split(";")[0].strip().lower()
    if content_type in CONTENT_TYPES:
        return CONTENT_TYPES[content_type]
    suffix = Path(urlparse(location).path if "://" in location else location).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    start = document.data.lstrip()[:1]
    return "json" if start in (b"{", b"[") else "xml" if start == b"<" else "turtle"


def _load_json(document: Document) -> Any:
    try:
        return json.loads(document.data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise _source_error(
            f"{document.display} 不是有效的 JSON（{error}）",
            f"{document.display} is not valid JSON ({error}).",
            document.base,
        ) from error


def _is_data_json(doc: Any) -> bool:
    """data.json has a `dataset` list (POD 1.1 also a conformsTo naming its schema, and
    perhaps an @context we must not fetch); JSON-LD has @context or @graph. A bare list is
    POD 1.0's data.json when its objects carry no JSON-LD keywords."""
    if isinstance(doc, list):
        return bool(doc) and not any(isinstance(i, dict) and _has_keywords(i) for i in doc)
    if not isinstance(doc, dict):
        return False
    if "project-open-data" in str(doc.get("conformsTo", "")):
        return True
    if "@context" in doc or "@graph" in doc:
        return False
    if isinstance(doc.get("dataset"), list):
        return True
    raise _source_error(
        "JSON 既不是 JSON-LD（@context/@graph）也不是 data.json（dataset 列表）",
        "The JSON is neither JSON-LD (@context/@graph) nor a data.json (a dataset list).",
    )


def _has_keywords(item: dict[str, Any]) -> bool:
    return any(str(key).startswith("@") for key in item)


def _parse(document: Document, syntax: str) -> Graph:
    graph = Graph()
    try:
        with warnings.catch_warnings():
            # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph: not ours to fix.
            warnings.simplefilter("ignore", DeprecationWarning)
            graph.parse(data=document.data, format=syntax, publicID=document.base)
    except Exception as error:  # rdflib's parsers raise many kinds
        raise _source_error(
            f"{document.display} 无法按 {syntax} 解析（{error}）",
            f"{document.display} cannot be parsed as {syntax} ({error}).",
            document.base,
        ) from error
    return graph


def _since_option(value: date | str | None) -> str | None:
    """YYYY-MM-DD: records keep only the day of `modified`, so the day is what compares."""
    if value is None or value == "":
        return None
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()[:10]
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")).date().isoformat()
    except ValueError as error:
        raise ValueError(f"since: {value!r} is not an ISO date or datetime") from error


def _format_option(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    key = str(value).strip().lower()
    if key not in FORMAT_NAMES:
        raise ValueError(f"unknown DCAT format {value!r}; one of: {', '.join(FORMAT_NAMES)}")
    return FORMAT_NAMES[key]


def _default_prefix(location: str) -> str:
    if re.match(r"^https?://", location, re.I):
        return urlparse(location).hostname or "dcat"
    return Path(location).stem


def _slug(text: str) -> str:
    """A prefix that keeps names valid slugs: data.qingdao.gov.cn → data-qingdao-gov-cn."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return slug or "dcat"


def _source_error(zh: str, en: str, url: str | None = None) -> HarvestSourceError:
    return HarvestSourceError(message(zh, en), url)
