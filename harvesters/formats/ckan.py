"""CKAN's dicts ⇄ our profile, both directions, for the harvester and the portal's CKAN API.

In: `read_package` reads a package dict (its resources included) as a profile document.
The harvester reads another portal's packages with `strict=False`: a value that cannot be
mapped is left out with a warning on the record, never a failure of the whole record. The
portal's CKAN API reads a client's writes with `strict=True`: a value of the wrong shape
is a field error (all of them collected, bilingual), and a value that maps to nothing is
passed on as given, so that the profile's validation names the field. Both readings
share every rule of the format: which keys carry our fields (top level, extras, the
aliases of data/ckan.yaml), the vocabulary spellings, how a resource's format and kind
are found (an unknown format is `other`), and unique resource names.

What differs is what each caller knows: a harvest names its records after the source
portal (`PackageMapper`), the API after the client's own names and our departments
(portal/api/ckan_mapping.py).

Out: what does not need the database: our fields as CKAN carries them (top level and
`extras`, strings), the package and resource dicts, and our field errors as CKAN reports
them.

The field lists come from the profile's schemas (schemas/), never written out here: our
fields are the dataset schema's fields without a CKAN core key; a field's kind (term,
count, date, contact …) is its marshmallow type and metadata.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from marshmallow import ValidationError as InvalidValue
from marshmallow import fields as ma

from schemas import Message, OrganizationSchema, ResourceSchema, ZoneSchema, message, vocab
from schemas import dataset_schema as profile_schema
from schemas.base import SLUG, VocabTerm

from ..base import RecordKind, SourceRecord, stable_name
from ..labels import field_for as label_field_for
from ..labels import fold
from ..values import (
    blank_to_none,
    boolean,
    clean,
    has_value,
    joined_text,
    json_list,
    map_term,
    spellings,
    split_list,
    text,
    to_date,
    whole_number,
)

MAPPING_FILE = Path(__file__).parents[1] / "data" / "ckan.yaml"

# --- the profile's fields, from its schemas -------------------------------------------------

DATASET_FIELDS: dict[str, ma.Field] = dict(profile_schema().fields)
RESOURCE_FIELDS: dict[str, ma.Field] = dict(ResourceSchema().fields)
ORGANIZATION_SCHEMA_FIELDS: dict[str, ma.Field] = dict(OrganizationSchema().fields)

# Profile field → the CKAN core key that carries it. Such a field travels in its core key
# only; its own name is read too (older dumps have it in extras).
CORE_KEYS = {
    "description": "notes",
    "publisher": "owner_org",
    "keywords": "tags",
    "landing_page": "url",
    "license": "license_id",
    "contact_email": "maintainer_email",
}
# Profile fields of the same name in CKAN's core (a package's own keys, not ours).
SAME_NAMED_CORE = frozenset({"name", "title", "resources", "extras"})
# Our fields that CKAN has no core key for: top-level keys and `extras` entries both.
OUR_FIELDS = tuple(
    name for name in DATASET_FIELDS if name not in CORE_KEYS and name not in SAME_NAMED_CORE
)
# The optional values of the profile that CKAN keeps in a core key: read under their own
# names too (older dumps keep them in extras). The required ones and the tags are keys
# every CKAN package has.
ALIASED = tuple(
    name
    for name in CORE_KEYS
    if not DATASET_FIELDS[name].required and not isinstance(DATASET_FIELDS[name], ma.List)
)
PROFILE_FIELDS = (*OUR_FIELDS, *ALIASED)  # what a package's keys and extras may give
RESERVED_EXTRAS = frozenset(PROFILE_FIELDS)  # extras that are ours, not a dataset's own
LIST_FIELDS = frozenset(n for n in OUR_FIELDS if isinstance(DATASET_FIELDS[n], ma.List))
ORGANIZATION_FIELDS = tuple(
    n for n in ORGANIZATION_SCHEMA_FIELDS if n not in ("name", "title", "description")
)
# A zone's fields that CKAN's group has no key for (it has name, title and description).
ZONE_FIELDS = tuple(n for n in ZoneSchema().fields if n not in ("code", "title", "description"))
RESOURCE_KEYS = {"media_type": "mimetype"}  # profile → CKAN, for error messages


def field_kind(schema_field: ma.Field) -> str:
    """How a value of this field is read: term, terms, count, boolean, date, contact,
    list or text."""
    if isinstance(schema_field, VocabTerm):
        return "term"
    if isinstance(schema_field, ma.List):
        return "terms" if isinstance(schema_field.inner, VocabTerm) else "list"
    if isinstance(schema_field, ma.Boolean):
        return "boolean"
    if isinstance(schema_field, ma.Integer):
        return "count"
    if isinstance(schema_field, ma.Date):
        return "date"
    if schema_field.metadata.get("format") in ("email", "url", "phone"):
        return "contact"
    return "text"


def vocabulary_of(schema_field: ma.Field) -> str:
    term = schema_field.inner if isinstance(schema_field, ma.List) else schema_field
    assert isinstance(term, VocabTerm)
    return term.vocabulary


# --- data/ckan.yaml -------------------------------------------------------------------------


@dataclass(frozen=True)
class CkanMapping:
    """data/ckan.yaml, with keys folded for lookup."""

    fields: dict[str, str]  # folded source key → our field
    organization_fields: dict[str, str]
    values: dict[str, dict[str, str]]  # vocabulary → folded source value → term
    group_map: dict[str, str | None]  # folded group name → "zone:x" / "domain:x" / None
    api_resource_types: frozenset[str]
    generic_host_labels: frozenset[str]

    def with_groups(self, extra: Mapping[str, str | None]) -> CkanMapping:
        merged = {**self.group_map, **{fold(k): v for k, v in extra.items()}}
        _check_group_targets(merged)
        return CkanMapping(
            self.fields,
            self.organization_fields,
            self.values,
            merged,
            self.api_resource_types,
            self.generic_host_labels,
        )


@cache
def load_mapping(path: Path = MAPPING_FILE) -> CkanMapping:
    raw = yaml.safe_load(path.read_text("utf-8"))
    group_map = {fold(k): v for k, v in raw["group_map"].items()}
    _check_group_targets(group_map)
    return CkanMapping(
        fields=_key_index(raw["fields"]),
        organization_fields=_key_index(raw["organization_fields"]),
        values={
            name: {fold(k): str(v) for k, v in table.items()}
            for name, table in raw["values"].items()
        },
        group_map=group_map,
        api_resource_types=frozenset(fold(t) for t in raw["api_resource_types"]),
        generic_host_labels=frozenset(raw["generic_host_labels"]),
    )


def _key_index(table: Mapping[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for our_field, keys in table.items():
        for key in [our_field, *keys]:
            out.setdefault(fold(key), our_field)
    return out


def _check_group_targets(group_map: Mapping[str, str | None]) -> None:
    """A group map names existing zones and domains; a typo fails the run at once."""
    for group, target in group_map.items():
        if target is None:
            continue
        kind, _, code = str(target).partition(":")
        vocabulary = {"zone": "zones", "domain": "domains"}.get(kind)
        if vocabulary is None or vocab(vocabulary).resolve(code) != code:
            raise ValueError(
                f"group_map[{group!r}] = {target!r}: expected 'zone:<code>' or "
                "'domain:<code>' with a code of schemas/vocab/zones.yaml or domains.yaml"
            )


# --- in: a package → our profile ------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A package read as our profile: the values found, and what was wrong with it."""

    data: dict[str, Any]
    extras: dict[str, Any]  # all of the package's extras, as a dict
    own_extras: dict[str, Any]  # those that are none of our fields: the dataset's own
    warnings: tuple[Message, ...]
    errors: dict[str, list[Message]]  # strict only: field (CKAN's name) → messages


def read_package(
    package: Mapping[str, Any], *, strict: bool, mapping: CkanMapping | None = None
) -> Reading:
    """Our profile's values for a CKAN package dict (no name, publisher or extras: what
    those are depends on who reads, see the module's docstring)."""
    return PackageReader(mapping or load_mapping(), strict).read(package)


@dataclass
class PackageReader:
    """Reads one package at a time; `strict` says whether problems are errors."""

    mapping: CkanMapping
    strict: bool
    warnings: list[Message] = field(default_factory=list)
    errors: dict[str, list[Message]] = field(default_factory=dict)

    def read(self, package: Mapping[str, Any]) -> Reading:
        self.warnings, self.errors = [], {}
        extras = self.extras(package.get("extras"))
        raw, taken_extras = self._our_values(package, extras)
        data: dict[str, Any] = {
            "title": text(package.get("title")) if self.strict else clean(package.get("title")),
            # Markdown, kept as written
            "description": self._text(package.get("notes", package.get("description"))),
            "keywords": self._keywords(package),
            **{name: self._convert(name, value) for name, value in raw.items()},
        }
        self._read_core_keys(data, raw, package)
        self._read_groups(data, raw, package)
        if "resources" in package:
            data["resources"] = self.resources(package["resources"])
        ours = RESERVED_EXTRAS | taken_extras
        own = {k: v for k, v in extras.items() if k not in ours}
        return Reading(data, extras, own, tuple(self.warnings), self.errors)

    # --- problems -------------------------------------------------------------------------

    def problem(self, key: str, zh: str, en: str) -> None:
        """A value of the wrong shape, left out: a field error (under the key) when strict,
        else a warning. The message names the key: "tags 应为列表", "tags must be …"."""
        msg = message(f"{key} {zh}", f"{key} {en}")
        if self.strict:
            self.errors.setdefault(key, []).append(msg)
        else:
            self.warnings.append(msg)

    # --- extras and our fields ------------------------------------------------------------

    def extras(self, raw: Any) -> dict[str, Any]:
        """CKAN's extras, a list of {key, value} (a dict on some old portals), as a dict;
        the first entry of a key wins, deleted entries do not count."""
        if raw is None:
            return {}
        if isinstance(raw, Mapping):
            return {str(k): v for k, v in raw.items()}
        if not isinstance(raw, list):
            self.problem("extras", "应为 {key, value} 列表", "must be a list of {key, value}.")
            return {}
        out: dict[str, Any] = {}
        for item in raw:
            if not isinstance(item, Mapping) or not text(item.get("key")):
                self.problem("extras", "的每一项须有 key", "items each need a key.")
            elif item.get("state", "active") not in ("deleted",) and not item.get("deleted"):
                out.setdefault(str(item["key"]).strip(), item.get("value"))
        return out

    def _our_values(
        self, package: Mapping[str, Any], extras: Mapping[str, Any]
    ) -> tuple[dict[str, Any], set[str]]:
        """Raw values of our fields, and the extras keys they came from under another name.

        A field's own name first, at the top level then in extras. Strict, a key that is
        present wins even when null (a client clears the field so); otherwise the first
        non-empty value does (a blank on another portal is no statement). Then the keys
        data/ckan.yaml and the label map know, the first non-empty value winning."""
        found: dict[str, Any] = {}
        for name in PROFILE_FIELDS:
            for source in (package, extras):
                if name in source and (self.strict or has_value(source[name])):
                    found.setdefault(name, source[name])
        aliased: set[str] = set()
        for key, value in extras.items():
            our_field = self.mapping.fields.get(fold(key)) or label_field_for(key)
            if _take(found, our_field, value):
                aliased.add(key)
        for key, value in package.items():
            # Only keys of data/ckan.yaml at the top level: the label map knows CKAN's own
            # keys (title, url …) as other things.
            _take(found, self.mapping.fields.get(fold(key)), value)
        return found, aliased - set(PROFILE_FIELDS)

    def _convert(self, name: str, value: Any) -> Any:
        schema_field = DATASET_FIELDS[name]
        kind = field_kind(schema_field)
        if kind == "term":
            return self.term(vocabulary_of(schema_field), value, name)
        if kind == "terms":
            return self._terms(vocabulary_of(schema_field), value, name)
        if kind == "count":
            return whole_number(value) if isinstance(value, str) or not self.strict else value
        if kind == "boolean":
            return boolean(value)
        if kind == "date":
            return to_date(value) if isinstance(value, str | date) or not self.strict else value
        if kind == "contact":
            return self.checked(schema_field, name, value)
        if kind == "list":
            return self._json_list(name, value)
        return self._text(value)

    def _text(self, value: Any) -> Any:
        """Lenient: trimmed text, lists joined, placeholders (暂无 …) absent. Strict: as
        given (the profile says what is no text), blank absent."""
        return blank_to_none(value) if self.strict else clean(joined_text(value))

    def _read_core_keys(
        self, data: dict[str, Any], raw: Mapping[str, Any], package: Mapping[str, Any]
    ) -> None:
        """Values CKAN keeps in its own keys, where our own names said nothing."""
        # A client writes license_id (CKAN keeps it, and derives the title); a portal
        # shows both, and its register's title is the one a person reads.
        license_keys = ("license_id", "license_title")
        core = {
            "landing_page": ("url",),
            "contact_email": ("maintainer_email", "author_email"),
            "license": license_keys if self.strict else license_keys[::-1],
        }
        for name, keys in core.items():
            if name in raw if self.strict else data.get(name) is not None:
                continue
            given = next((package[k] for k in keys if has_value(package.get(k))), None)
            data[name] = self._convert(name, given)

    # --- groups → zones (and, on other portals, a domain) ---------------------------------

    def _read_groups(
        self, data: dict[str, Any], raw: Mapping[str, Any], package: Mapping[str, Any]
    ) -> None:
        """CKAN groups: our zones when the package names none by our field. Strict, they
        are the zones this portal shows as groups; read from another portal, a group may
        be a zone or a domain (group_map, then its name and title)."""
        groups = package.get("groups")
        if groups is None:
            return
        if not isinstance(groups, list):
            self.problem("groups", "应为 {name} 列表", "must be a list of {name}.")
            return
        zones: list[str] = []
        for group in groups:
            target = self._group_zone(group) if self.strict else self._group_target(group)
            kind, code = target
            if kind == "zone" and code not in zones:
                zones.append(code)
            elif kind == "domain" and not data.get("domain"):
                data["domain"] = code
        if "zones" not in raw:
            data["zones"] = zones

    def _group_zone(self, group: Any) -> tuple[str | None, Any]:
        name = text(group.get("name") or group.get("id")) if isinstance(group, Mapping) else None
        name = name or text(group)
        if name is None:
            return None, None
        return "zone", vocab("zones").resolve(name) or name  # an unknown one: the profile says

    def _group_target(self, group: Any) -> tuple[str | None, Any]:
        """("zone" | "domain", code) for a group: the group map first, then its name and
        title as a domain, then as a zone; (None, None) when ignored or unknown."""
        if not isinstance(group, Mapping):
            return None, None
        spellings = [str(group[k]) for k in ("name", "title", "display_name") if group.get(k)]
        mapped = [s for s in spellings if fold(s) in self.mapping.group_map]
        if mapped:
            target = self.mapping.group_map[fold(mapped[0])]
            kind, _, code = (target or "").partition(":")
            return (kind, code) if target else (None, None)
        for kind, vocabulary in (("domain", "domains"), ("zone", "zones")):
            codes = [vocab(vocabulary).resolve(s) for s in spellings]
            if any(codes):
                return kind, next(c for c in codes if c)
        label = spellings[0] if spellings else "?"
        self.warnings.append(
            message(
                f"分组「{label}」既不对应专区也不对应领域，已忽略（可在采集源的 group_map 中配置）",
                f"Group {label!r} maps to no zone or domain; ignored "
                "(the harvest source's group_map can map it).",
            )
        )
        return None, None

    # --- keywords ----------------------------------------------------------------------------

    def _keywords(self, package: Mapping[str, Any]) -> list[str] | None:
        tags = package.get("tags")
        if tags is None and package.get("tag_string") is not None:
            tags = str(package["tag_string"]).split(",")
        if tags is None:
            tags = package.get("keywords")
        if tags is None:
            return None
        if not isinstance(tags, list):
            self.problem("tags", "应为 {name} 列表", "must be a list of {name}.")
            return None
        names = []
        for tag in tags:
            name = (tag.get("name") or tag.get("display_name")) if isinstance(tag, Mapping) else tag
            name = text(name) if self.strict else clean(name if isinstance(name, str) else None)
            if name:
                names.append(name)
        return list(dict.fromkeys(names))

    # --- resources ---------------------------------------------------------------------------

    def resources(self, raw: Any) -> list[dict[str, Any]]:
        """The package's resources (deleted ones left out), each with a unique name."""
        if not isinstance(raw, list):
            self.problem("resources", "应为列表", "must be a list.")
            return []
        out: list[dict[str, Any]] = []
        for position, item in enumerate(raw):
            if not isinstance(item, Mapping):
                self.problem("resources", "中的每一项应为对象", "items must each be an object.")
            elif item.get("state") in (None, "active"):
                out.append(self._resource(item, position))
        _make_names_unique(out)
        return out

    def _resource(self, item: Mapping[str, Any], position: int) -> dict[str, Any]:
        source_format = self._resource_format(item)
        code = self._format_code(source_format)
        resource = {
            "id": text(item.get("id")),
            "name": self._resource_name(item, source_format, position),
            "description": self._text(item.get("description")),
            "kind": self._resource_kind(item, code),
            "format": code,
            "url": self._resource_url(item),
            "media_type": self._text(item.get("mimetype", item.get("media_type"))),
            "size": self._bytes_or_count("size", item.get("size")),
            "record_count": self._bytes_or_count("record_count", item.get("record_count")),
            "_format_label": (source_format or "").upper(),
        }
        return {key: value for key, value in resource.items() if value not in (None, "")}

    def _resource_format(self, item: Mapping[str, Any]) -> str | None:
        """The resource's format; else its OGC protocol (ckanext-spatial); else, read from
        another portal, its URL's file extension (a client that names none gets none)."""
        stated = text(item.get("format"))
        if stated:
            return stated
        protocol = str(item.get("resource_locator_protocol") or "")
        if protocol.upper().startswith("OGC:"):
            return protocol[4:]
        if self.strict:
            return None
        extension = posixpath.splitext(urlparse(str(item.get("url") or "")).path)[1]
        return extension[1:] if 1 < len(extension) <= 6 else None

    def _format_code(self, source_format: str | None) -> str | None:
        """Our format term; a format our vocabulary does not know is `other` (CKAN's
        format is free text, ours a vocabulary), with a warning when harvesting."""
        if not source_format:
            return None
        code = self.resolve("formats", source_format)
        if code is None:
            self.warnings.append(
                message(
                    f"resources.format：「{source_format}」不在词表「{vocab('formats').zh}」中，"
                    "记为「其他」",
                    f"resources.format: {source_format!r} is not in the "
                    f"{vocab('formats').en} vocabulary; kept as other.",
                )
            )
        return code or "other"

    def _resource_kind(self, item: Mapping[str, Any], code: str | None) -> Any:
        """The kind our own packages state; else an API when its format (wms, rest …, by
        data/ckan.yaml) or CKAN's legacy resource_type says a service; else a link when
        its format is one; else a file."""
        stated = item.get("kind")
        if has_value(stated):
            kind = vocab("resource_kinds").resolve(stated) if isinstance(stated, str) else None
            if kind or self.strict:
                return kind or stated  # an unknown one: the profile says
            map_term("resource_kinds", str(stated), "resources.kind", self.warnings)
        legacy = fold(str(item.get("resource_type") or "")) in self.mapping.api_resource_types
        if code == "api" or legacy:
            return "api"
        return "link" if code == "link" else "file"

    def _resource_url(self, item: Mapping[str, Any]) -> Any:
        if self.strict:
            # An "upload" lives on the portal that served it: written to us, its address
            # there is not ours (read from that portal, it is where the file is).
            return None if item.get("url_type") == "upload" else text(item.get("url"))
        return self.checked(RESOURCE_FIELDS["url"], "url", item.get("url"))

    def _resource_name(
        self, item: Mapping[str, Any], source_format: str | None, position: int
    ) -> Any:
        """The resource's name; else its file's; else its format and number (CKAN lets a
        resource go unnamed, ours need a name)."""
        stated = text(item.get("name"))
        if stated and self.strict:
            return stated
        if clean(stated):
            return str(stated)[:300]
        path = urlparse(str(item.get("url") or "")).path
        basename = unquote(posixpath.basename(path.rstrip("/")))
        if basename:
            return basename[:300]
        return f"{(source_format or 'resource').upper()} {position + 1}"

    def _bytes_or_count(self, name: str, value: Any) -> Any:
        """A whole number; lenient, one that is none (\"12 MB\") is dropped with a warning
        rather than failing the dataset."""
        if self.strict:
            return blank_to_none(value)
        number = whole_number(value)
        if number is None or isinstance(number, int):
            return number
        self.warnings.append(
            message(
                f"resources.{name}：「{number}」不是整数，已忽略",
                f"resources.{name}: {number!r} is not a whole number; dropped.",
            )
        )
        return None

    # --- values ------------------------------------------------------------------------------

    def resolve(self, vocabulary: str, value: Any) -> str | None:
        for spelling in spellings(value):
            mapped = self.mapping.values.get(vocabulary, {}).get(fold(spelling))
            code = vocab(vocabulary).resolve(mapped or spelling)
            if code:
                return code
        return None

    def term(self, vocabulary: str, value: Any, name: str) -> Any:
        """The term for a value; one that maps to nothing is dropped with a warning, or
        (strict) passed on as given for the profile to report."""
        if self.strict and not isinstance(value, str | int):
            return value  # a list or an object where one term belongs: the profile says
        code = self.resolve(vocabulary, value)
        if code is not None or not has_value(value):
            return code
        if self.strict:
            return value
        map_term(vocabulary, joined_text(value), name, self.warnings)  # adds the warning
        return None

    def _terms(self, vocabulary: str, value: Any, name: str) -> list[Any] | None:
        """Terms for a list, a JSON list in a string, or a string with separators."""
        items = self._list(name, value)
        if items is None:
            return None
        codes = [self.term(vocabulary, item, name) for item in items]
        return list(dict.fromkeys(c for c in codes if c is not None))

    def _list(self, name: str, value: Any) -> list[Any] | None:
        if value is None or isinstance(value, list):
            return value
        if isinstance(value, str):
            parsed = json_list(value)
            if isinstance(parsed, list):
                return parsed
            if value.strip().startswith("[") and self.strict:
                self.problem(name, "不是有效的 JSON 列表", "is not a valid JSON list.")
                return None
            return [part for part in split_list(value) if part.strip()]
        if self.strict:
            self.problem(name, "应为列表", "must be a list.")
            return None
        return [value]  # one value where a list was expected

    def _json_list(self, name: str, value: Any) -> list[Any] | None:
        """A list, or a JSON list in a string (as extras hold them)."""
        parsed = json_list(value)
        if parsed is None or isinstance(parsed, list):
            return parsed
        self.problem(name, "应为 JSON 列表", "must be a JSON list.")
        return None

    def checked(self, schema_field: ma.Field, name: str, value: Any) -> Any:
        """An email, phone or URL as its profile field takes it; lenient, one that is not
        valid is dropped with a warning (strict: the profile reports it)."""
        if self.strict:
            return blank_to_none(value)
        return checked_contact(schema_field, name, value, self.warnings)


def checked_contact(
    schema_field: ma.Field, name: str, value: Any, warnings: list[Message]
) -> str | None:
    """The value if its profile field takes it, else None with a warning."""
    given = clean(joined_text(value))
    if given is None:
        return None
    try:
        schema_field.deserialize(str(given))
    except InvalidValue:
        warnings.append(
            message(
                f"{name}：「{given}」格式无效，已忽略",
                f"{name}: {given!r} is not valid; dropped.",
            )
        )
        return None
    return str(given)


def extras_of(raw: Any) -> dict[str, Any]:
    """A package's extras as a dict, ignoring entries of the wrong shape."""
    return PackageReader(load_mapping(), strict=False).extras(raw)


# --- in, from another portal: the harvester's records ---------------------------------------


@dataclass
class PackageMapper:
    """Maps another CKAN portal's organizations and packages onto our profile, one record
    at a time, named after the portal (`prefix`)."""

    portal: str
    prefix: str
    mapping: CkanMapping
    warnings: list[Message] = field(default_factory=list)

    def organization(self, org: Mapping[str, Any]) -> SourceRecord:
        self.warnings = []
        source = _merged_extras(org)
        data: dict[str, Any] = {
            "name": self.organization_name(org),
            "title": clean(org.get("title")) or clean(org.get("display_name")) or org.get("name"),
            "description": clean(org.get("description")),
        }
        for key, value in source.items():
            our_field = self.mapping.organization_fields.get(fold(key))
            if our_field and data.get(our_field) is None:
                data[our_field] = self._organization_value(our_field, value)
        location = f"{self.portal} organization {org.get('name') or org.get('id')}"
        return SourceRecord("organization", _present(data), location, tuple(self.warnings))

    def _organization_value(self, our_field: str, value: Any) -> Any:
        schema_field = ORGANIZATION_SCHEMA_FIELDS[our_field]
        if field_kind(schema_field) == "contact":
            return checked_contact(schema_field, our_field, value, self.warnings)
        return clean(joined_text(value))

    def organization_name(self, org: Mapping[str, Any]) -> str:
        readable = org.get("name")
        return stable_name(
            self.prefix,
            str(org.get("id") or readable),
            readable if isinstance(readable, str) else "",
        )

    def dataset(self, package: Mapping[str, Any]) -> SourceRecord:
        reading = read_package(package, strict=False, mapping=self.mapping)
        self.warnings = list(reading.warnings)
        ckan_name = str(package.get("name") or package["id"])
        data: dict[str, Any] = {
            "name": self.dataset_name(package),
            "publisher": self._publisher(package),
            **reading.data,
            "extras": {"source_id": str(package["id"]), "source_name": ckan_name},
        }
        self._apply_portal_fallbacks(data, package)
        resources = data.get("resources") or []
        formats = [r["format"] for r in resources if r.get("format")]
        data["formats"] = list(dict.fromkeys([*(data.get("formats") or []), *formats]))
        location = f"{self.portal} package {ckan_name}"
        return SourceRecord("dataset", _present(data), location, tuple(self.warnings))

    def dataset_name(self, package: Mapping[str, Any]) -> str:
        name = str(package.get("name") or "")
        if not SLUG.match(name):
            return stable_name(self.prefix, str(package["id"]), name)
        candidate = f"{self.prefix}-{name}"
        if len(candidate) <= 100:
            return candidate
        # Trimmed names of two long CKAN names could meet; the id's hash keeps them apart.
        digest = hashlib.sha1(str(package["id"]).encode()).hexdigest()[:10]
        return f"{candidate[:89]}-{digest}"

    def _apply_portal_fallbacks(self, data: dict[str, Any], package: Mapping[str, Any]) -> None:
        """What the source portal says of every package, where the package said nothing."""
        fallbacks: dict[str, Callable[[], Any]] = {
            "issued": lambda: to_date(package.get("metadata_created")),
            "modified": lambda: to_date(package.get("metadata_modified")),
            "landing_page": lambda: f"{self.portal}/dataset/{package.get('name') or package['id']}",
        }
        for our_field, fallback in fallbacks.items():
            if data.get(our_field) is None:
                data[our_field] = fallback()

    def _publisher(self, package: Mapping[str, Any]) -> str | None:
        org = package.get("organization")
        return self.organization_name(org) if isinstance(org, Mapping) and org else None


# --- out: our profile → CKAN ----------------------------------------------------------------


def ckan_time(value: datetime | None) -> str | None:
    """CKAN's timestamps: naive UTC, ISO 8601 with microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def extra_value(value: Any) -> str:
    """An extras value is a string: lists and objects as JSON, booleans as true/false."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def extras_list(values: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"key": k, "value": extra_value(values[k])} for k in sorted(values)]


@dataclass(frozen=True)
class PackageFrame:
    """What a package dict says beside the dataset's document: ids, state, and the
    organization, groups and resources as CKAN dicts."""

    id: str
    active: bool
    organization: dict[str, Any]
    groups: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    created: str | None
    modified: str | None


def package_to_ckan(document: Mapping[str, Any], frame: PackageFrame) -> dict[str, Any]:
    """A dataset's profile document as a CKAN package: CKAN's core keys, and each of our
    fields twice, top level and in extras (a plain CKAN client keeps only extras)."""
    ours = {k: document[k] for k in OUR_FIELDS if document.get(k) not in (None, [])}
    keywords = document.get("keywords") or []
    # Our fields win over a dataset's own extra of the same name (harvests avoid those).
    extras = {**document.get("extras", {}), **ours}
    return {
        "id": frame.id,
        "name": document["name"],
        "title": document["title"],
        "notes": document.get("description"),
        "type": "dataset",
        "state": "active" if frame.active else "deleted",
        "private": not document.get("metadata_public"),
        "owner_org": frame.organization["id"],
        "organization": frame.organization,
        "groups": frame.groups,
        "tags": [
            {"name": k, "display_name": k, "state": "active", "vocabulary_id": None}
            for k in keywords
        ],
        "num_tags": len(keywords),
        "resources": frame.resources,
        "num_resources": len(frame.resources),
        "license_id": document.get("license") or "",
        "license_title": document.get("license") or "",
        "url": document.get("landing_page") or "",
        "maintainer_email": document.get("contact_email"),
        "author": None,
        "author_email": None,
        "maintainer": None,
        "version": None,
        "metadata_created": frame.created,
        "metadata_modified": frame.modified,
        **ours,
        "extras": extras_list(extras),
    }


def resource_to_ckan(
    document: Mapping[str, Any], package_id: str, position: int, download: str | None = None
) -> dict[str, Any]:
    """A resource's profile document as CKAN's resource dict; `download` is the portal's
    own address of a file it keeps (CKAN's "upload"), for a resource without a url."""
    download = download if not document.get("url") else None
    return {
        "id": document.get("id"),
        "package_id": package_id,
        "name": document.get("name"),
        "description": document.get("description") or "",
        "url": document.get("url") or download or "",
        "url_type": "upload" if download else None,
        "format": (document.get("format") or "").upper(),
        "mimetype": document.get("media_type"),
        "size": document.get("size"),
        "kind": document.get("kind"),
        "record_count": document.get("record_count"),
        "position": position,
        "state": "active",
    }


# --- out: our field errors as CKAN reports them -----------------------------------------------


def ckan_errors(errors: Mapping[str, Any]) -> dict[str, Any]:
    """Our field errors under CKAN's key names, each message one string (zh (en))."""
    out: dict[str, Any] = {}
    for key, value in errors.items():
        name = CORE_KEYS.get(key, key)
        if key == "resources" and isinstance(value, Mapping):
            out[name] = _indexed(value)
        else:
            out.setdefault(name, []).extend(_messages(value))
    return out


def _indexed(errors: Mapping[Any, Any]) -> list[Any]:
    """Per-resource errors as CKAN lists them: one dict per resource, in order."""
    numbered = {int(k): v for k, v in errors.items() if str(k).isdigit()}
    rows: list[Any] = [{} for _ in range(max(numbered, default=-1) + 1)]
    for index, value in numbered.items():
        if isinstance(value, Mapping):
            rows[index] = {RESOURCE_KEYS.get(k, k): _messages(v) for k, v in value.items()}
        else:
            rows[index] = {"_": _messages(value)}
    rest = [m for k, v in errors.items() if not str(k).isdigit() for m in _messages(v)]
    return rows + rest


def _messages(value: Any) -> list[str]:
    if isinstance(value, Mapping) and set(value) == {"zh", "en"}:
        return [f"{value['zh']} ({value['en']})"]
    if isinstance(value, Mapping):
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    return [str(value)]


def message_text(errors: Mapping[str, Any]) -> str:
    return "; ".join(m for value in errors.values() for m in _messages(value))


def as_message(msg: Message) -> str:
    return f"{msg['zh']} ({msg['en']})"


# --- small helpers ---------------------------------------------------------------------


def default_prefix(url: str, mapping: CkanMapping) -> str:
    """The first label of the portal's host that says something (data.qingdao.gov.cn →
    qingdao), so that names of two portals' datasets do not clash."""
    labels = (urlparse(url).hostname or "ckan").split(".")
    telling = [label for label in labels[:-1] if label not in mapping.generic_host_labels]
    return slug_prefix(telling[0] if telling else labels[0])


def slug_prefix(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:20] or "ckan"


def has_id(item: Any) -> bool:
    """A dict with the id CKAN gives everything (a record without one cannot be followed)."""
    return isinstance(item, dict) and isinstance(item.get("id"), str) and bool(item["id"])


def package_organization(package: Mapping[str, Any]) -> Mapping[str, Any]:
    org = package.get("organization")
    return org if isinstance(org, Mapping) else {}


def map_safely(
    kind: RecordKind,
    mapping: Callable[[Mapping[str, Any]], SourceRecord],
    raw: Mapping[str, Any],
    portal: str,
) -> SourceRecord:
    # One odd package must not end the harvest: say what went wrong, on the record itself.
    try:
        return mapping(raw)
    except Exception as error:  # the job report shows it; the harvest goes on
        problem = message(
            f"无法读取该记录（{type(error).__name__}: {error}）",
            f"Could not read this record ({type(error).__name__}: {error}).",
        )
        what = "package" if kind == "dataset" else kind
        return SourceRecord(kind, {}, f"{portal} {what} {raw['id']}", (problem,))


def _merged_extras(org: Mapping[str, Any]) -> dict[str, Any]:
    return {**extras_of(org.get("extras")), **{k: v for k, v in org.items() if k != "extras"}}


def _take(found: dict[str, Any], our_field: str | None, value: Any) -> bool:
    """Keep the first non-empty value of each of our fields; True when this one is kept."""
    if our_field in PROFILE_FIELDS and our_field not in found and has_value(value):
        found[our_field] = value
        return True
    return False


def _make_names_unique(resources: list[dict[str, Any]]) -> None:
    """Resource names are unique within a dataset: a repeated name gets its format, then
    a number (commune_actuelle, commune_actuelle (WFS), commune_actuelle (2))."""
    taken: set[Any] = set()
    for resource in resources:
        label = resource.pop("_format_label", "")
        name = resource.get("name")
        if not isinstance(name, str):
            continue  # strict: the profile reports a name that is no text
        if name in taken and label and f"{name} ({label})" not in taken:
            name = f"{name} ({label})"
        number = 2
        while name in taken:
            name = f"{resource['name']} ({number})"
            number += 1
        resource["name"] = name
        taken.add(name)


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the source does not have."""
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}
