"""DCAT ⇄ our profile: the one mapping that our DCAT harvester (harvesters/dcat*.py) reads
and the portal's DCAT-AP and DCAT-US exports (portal/catalog/dcat_ap.py, dcat_us.py) write.

Two kinds of correspondence live here:
- vocabulary codes ⇄ DCAT values (openness ⇄ dct:accessRights, frequencies, formats, media
  types, themes): data, in data/dcat.yaml, each table with its `write` and `read` side. The
  reading side includes every written value turned round, so the two cannot disagree;
- our own namespace `qdp:` (PORTAL_NS): the profile fields DCAT has no term for, each written
  as one qdp: property of the dataset and read back by the same table, DATASET_PROPERTIES.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from rdflib import Namespace

MAPPING_FILE = Path(__file__).parents[1] / "data" / "dcat.yaml"

PORTAL_NS = "https://data.qingdao.gov.cn/ns/portal#"  # qdp:, our own profile's fields
PORTAL = Namespace(PORTAL_NS)
# Our controlled vocabularies as SKOS concept schemes: …/ns/vocab/domains/transport.
VOCAB_NS = PORTAL_NS.split("/ns/")[0] + "/ns/vocab/"
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DQV = Namespace("http://www.w3.org/ns/dqv#")
EU = "http://publications.europa.eu/resource/authority/"  # the EU authority tables
IANA_MEDIA_TYPES = "http://www.iana.org/assignments/media-types/"
# What data.json says of a file whose media type we do not know; data/dcat.yaml reads it as
# saying nothing, so the format decides.
UNKNOWN_MEDIA_TYPE = "application/octet-stream"

ValueKind = Literal["code", "text", "count", "flag"]


@dataclass(frozen=True)
class PortalProperty:
    """A profile field of a dataset that DCAT has no term for: the literal qdp:<local>."""

    field: str
    local: str
    kind: ValueKind = "text"  # count: a non-negative integer; flag: an xsd:boolean
    vocabulary: str | None = None  # for a code: the vocabulary it belongs to


# In the order the export writes them.
DATASET_PROPERTIES = (
    PortalProperty("grade", "grade", "code", "grades"),
    PortalProperty("open_type", "openType", "code", "open_types"),
    PortalProperty("open_condition", "openCondition"),
    PortalProperty("open_level", "openLevel", "code", "open_levels"),
    PortalProperty("share_type", "shareType", "code", "share_types"),
    PortalProperty("share_condition", "shareCondition"),
    PortalProperty("share_method", "shareMethod", "code", "share_methods"),
    PortalProperty("domain", "domain", "code", "domains"),
    PortalProperty("industry", "industry", "code", "industries"),
    PortalProperty("basic_category", "basicCategory", "code", "basic_categories"),
    PortalProperty("processing_level", "processingLevel", "code", "processing_levels"),
    PortalProperty("update_frequency", "updateFrequency", "code", "update_frequencies"),
    PortalProperty("resource_code", "resourceCode"),
    PortalProperty("record_count", "recordCount", "count"),
    PortalProperty("api_count", "apiCount", "count"),
    PortalProperty("file_count", "fileCount", "count"),
    PortalProperty("operable", "operable", "flag"),
)
PROPERTIES_BY_FIELD = {p.field: p for p in DATASET_PROPERTIES}
# Zones: one qdp:zone per zone code. Read also as qdp:zones, which older exports wrote.
ZONE_FIELDS = ("zone", "zones")


def portal_field(local: str) -> str:
    """The profile field of a qdp: property; an unknown one by its name in snake case."""
    for prop in DATASET_PROPERTIES:
        if prop.local == local:
            return prop.field
    return re.sub(r"(?<!^)(?=[A-Z])", "_", local).lower()


# --- vocabulary codes ⇄ DCAT values ---------------------------------------------------------


@dataclass(frozen=True)
class CodeTable:
    """One table of data/dcat.yaml: what we write, per place, and what we read."""

    written: dict[str, dict[str, str]]  # place → our code → the value written there
    read: dict[str, str | None]  # folded value → our code (None: a value that says nothing)


def written(table: str, place: str) -> dict[str, str]:
    """Our code → the value the export writes in `place` (say open_types, access_right)."""
    return dict(_tables()[table].written[place])


def lookup(table: str, value: str) -> tuple[bool, str | None]:
    """(found, code) for a harvested value: the whole value, then an IRI's last segment."""
    entries = _tables()[table].read
    keys = [fold(value)]
    if re.match(r"^(https?|urn):", value, re.I):
        keys.append(fold(re.split(r"[/#:]", value.rstrip("/#"))[-1]))
    for key in keys:
        if key in entries:
            return True, entries[key]
    return False, None


def duration_days() -> dict[str, float]:
    """Our frequency code → the longest ISO 8601 period, in days, that it covers."""
    return {str(code): float(days) for code, days in _raw()["duration_days"].items()}


def data_theme_labels() -> dict[str, str]:
    """EU data-theme code → its English label."""
    return dict(_raw()["data_theme_labels"])


def fold(text: Any) -> str:
    """How table keys compare: without spaces, case-insensitively."""
    return "".join(str(text).split()).casefold()


@cache
def _raw() -> dict[str, Any]:
    return yaml.safe_load(MAPPING_FILE.read_text("utf-8"))


@cache
def _tables() -> dict[str, CodeTable]:
    raw = _raw()
    tables = {
        name: _code_table(name, spec)
        for name, spec in raw.items()
        if isinstance(spec, dict) and "write" in spec
    }
    # A theme's English label reads as the domain its code stands for.
    domains = tables["domains"].read
    for code, label in raw["data_theme_labels"].items():
        if fold(code) in domains:
            _add(domains, label, domains[fold(code)], "domains")
    return tables


def _code_table(name: str, spec: dict[str, Any]) -> CodeTable:
    read: dict[str, str | None] = {}
    for codes in spec["write"].values():
        for code, value in codes.items():
            _add(read, value, code, name)
    for value, code in (spec.get("read") or {}).items():
        _add(read, value, code, name)
    return CodeTable(spec["write"], read)


def _add(read: dict[str, str | None], value: Any, code: str | None, table: str) -> None:
    key = fold(value)
    if key in read and read[key] != code:
        raise ValueError(
            f"{MAPPING_FILE.name}: {table} reads {value!r} as both {read[key]!r} and {code!r}"
        )
    read[key] = code
