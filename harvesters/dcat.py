"""The DCAT harvester: DCAT / DCAT-AP catalogs in RDF (Turtle, RDF/XML, JSON-LD, N-Triples;
Hydra-paged or not) and DCAT-US / Project Open Data `data.json`, from a file or a URL.

Reading is split by syntax: `dcat_rdf` reads graphs, `dcat_json` reads data.json and maps
both onto our profile (the vocabulary mappings are data in data/dcat.yaml).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rdflib import Graph

from schemas import message
from schemas.bounds import MAX_JSON_DEPTH, JsonTooDeep, load_json

from .base import HarvestSourceError, SourceRecord
from .dcat_json import DcatMapper, read_data_json
from .dcat_rdf import next_pages, read_datasets
from .outbound import OutboundClient, OutboundError, Reach
from .xml_guard import has_dtd

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
    - timeout: seconds an HTTP request may stay silent (default 30, at most the instance's).
    - reach: what may be read (`outbound.Reach`): the network under the instance's policy,
      and local files only for a path typed at the command line. Not a source option.

    Links found in a document (hydra:next) are read through the same reach: from a remote
    document only http(s) URLs the policy allows. JSON-LD is parsed from the bytes fetched
    here, and a remote `@context` (or `@import`) is never fetched: it is dropped.
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
        reach: Reach | None = None,
    ) -> None:
        self.location = str(path_or_url)
        self.format = _format_option(format)
        self.prefix = _slug(prefix or _default_prefix(self.location))
        self.max_pages = max(1, int(max_pages))
        self.reach = _with_timeout(reach or Reach(), timeout)
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
            document = self._fetch(following[0], found_in=document.base)
        return pages

    def _page_syntax(self, document: Document) -> str:
        syntax = self.format or _syntax_of(document.base, document)
        return "json-ld" if syntax in ("json", "data.json") else syntax

    def _fetch(self, location: str, found_in: str | None = None) -> Document:
        """The source itself, or (`found_in`: the page that links it) a next page."""
        try:
            read = self.reach.read(location, found_in=found_in, accept=ACCEPT)
        except OutboundError as error:
            reason = error.describe()
            verb = "fetch" if re.match(r"^https?://", location, re.I) else "read"
            raise _source_error(
                f"无法获取 DCAT 目录：{reason['zh']}",
                f"Cannot {verb} the DCAT catalog: {reason['en']}",
                error.url,
            ) from error
        display = Path(urlparse(read.url).path).name if read.local else read.url
        return Document(read.data, read.content_type, read.url, display)


def _with_timeout(reach: Reach, timeout: float) -> Reach:
    """The reach, its read timeout lowered to `timeout` (never raised past the policy's)."""
    client = reach.client
    limits = dataclasses.replace(
        client.limits, read_timeout=min(float(timeout), client.limits.read_timeout)
    )
    return Reach(OutboundClient(client.allow, limits, client.credentials), reach.local_files)


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
        return load_json(document.data.decode("utf-8-sig"))
    except JsonTooDeep as error:
        raise _source_error(
            f"{document.display} 的 JSON 嵌套超过 {MAX_JSON_DEPTH} 层，拒绝读取",
            f"{document.display}: the JSON is nested more than {MAX_JSON_DEPTH} levels deep; "
            "refused.",
            document.base,
        ) from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = _position(error)
        raise _source_error(
            f"{document.display} 不是有效的 JSON（{where}）",
            f"{document.display} is not valid JSON ({where}).",
            document.base,
        ) from error


def _position(error: Exception) -> str:
    """Where a document is broken, without quoting it (it may be anyone's bytes)."""
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg}, line {error.lineno} column {error.colno}"
    line = getattr(error, "lines", None) or getattr(error, "lineno", None)
    return f"{type(error).__name__}, line {line}" if line else type(error).__name__


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
    data: bytes | dict[str, Any] = document.data
    if syntax == "json-ld":
        data = _without_remote_contexts(_load_json(document), document.display)
    if syntax == "xml" and has_dtd(document.data):
        raise _source_error(
            f"{document.display} 含有 DTD（<!DOCTYPE 或 <!ENTITY），出于安全原因拒绝解析",
            f"{document.display} holds a DTD (<!DOCTYPE or <!ENTITY); refused for safety "
            "(entity expansion, external entities).",
            document.base,
        )
    try:
        with warnings.catch_warnings():
            # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph: not ours to fix.
            warnings.simplefilter("ignore", DeprecationWarning)
            graph.parse(data=data, format=syntax, publicID=document.base)
    except Exception as error:  # rdflib's parsers raise many kinds
        # Their messages quote the document: say where, not what.
        where = _position(error)
        raise _source_error(
            f"{document.display} 无法按 {syntax} 解析（{where}）",
            f"{document.display} cannot be parsed as {syntax} ({where}).",
            document.base,
        ) from error
    return graph


class _Dropped:
    """A remote context, left out."""


def _without_remote_contexts(doc: Any, display: str) -> dict[str, Any]:
    """The JSON-LD document with every context that names another document (a URL or a
    path, in `@context` or `@import`) left out: rdflib would fetch it, from the network
    or the disk, outside the outbound policy. Inline contexts stay. rdflib takes a
    document as a dict: a top-level array becomes the @graph it means."""
    dropped: list[str] = []
    cleaned = _clean(doc, dropped)
    if dropped:
        log.warning("%s: remote JSON-LD contexts not fetched: %s", display, dropped[:5])
    return cleaned if isinstance(cleaned, dict) else {"@graph": cleaned}


def _clean(node: Any, dropped: list[str]) -> Any:
    if isinstance(node, list):
        return [_clean(item, dropped) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "@import":  # a context importing another document
            dropped.append(str(value)[:200])
            continue
        if key == "@context":
            value = _context(value, dropped)
            if isinstance(value, _Dropped):
                continue
            out[key] = value
            continue
        out[key] = _clean(value, dropped)
    return out


def _context(value: Any, dropped: list[str]) -> Any:
    items = value if isinstance(value, list) else [value]
    kept = []
    for item in items:
        if item is None or isinstance(item, dict):
            kept.append(_clean(item, dropped))  # scoped contexts inside are cleaned too
        else:
            dropped.append(str(item)[:200])
    if isinstance(value, list):
        return kept
    return kept[0] if kept else _Dropped()


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
