"""In: `read_package` reads a CKAN package dict (its resources included) as a profile
document, for the harvester (`strict=False`) and the portal's CKAN API (`strict=True`);
the package's docstring says how the two readings differ. Both share every rule of the
format: which keys carry our fields (top level, extras, the aliases of data/ckan.yaml),
the vocabulary spellings, how a resource's format and kind are found (an unknown format is
`other`), and unique resource names."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import unquote, urlparse

from marshmallow import ValidationError as InvalidValue
from marshmallow import fields as ma

from schemas import Message, message, vocab

from ...labels import field_for as label_field_for
from ...labels import fold
from ...values import (
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
from .fields import (
    DATASET_FIELDS,
    PROFILE_FIELDS,
    RESERVED_EXTRAS,
    RESOURCE_FIELDS,
    field_kind,
    vocabulary_of,
)
from .mapping import CkanMapping, load_mapping


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

        A field's own name first; then the keys data/ckan.yaml and the label map know, the
        first non-empty value winning."""
        found = self._values_by_own_name(package, extras)
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

    def _values_by_own_name(
        self, package: Mapping[str, Any], extras: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Our fields under their own names, at the top level then in extras. Strict, a key
        that is present wins even when null (a client clears the field so); otherwise the
        first non-empty value does (a blank on another portal is no statement)."""
        found: dict[str, Any] = {}
        for name in PROFILE_FIELDS:
            for source in (package, extras):
                if name in source and (self.strict or has_value(source[name])):
                    found.setdefault(name, source[name])
        return found

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
        names = [str(group[k]) for k in ("name", "title", "display_name") if group.get(k)]
        mapped = next((name for name in names if fold(name) in self.mapping.group_map), None)
        if mapped is not None:
            return self._mapped_group(mapped)
        return self._group_in_vocabularies(names) or self._unknown_group(names)

    def _mapped_group(self, name: str) -> tuple[str | None, Any]:
        """The group map's target for a group ("zone:x", "domain:x"; None: ignored)."""
        target = self.mapping.group_map[fold(name)]
        kind, _, code = (target or "").partition(":")
        return (kind, code) if target else (None, None)

    @staticmethod
    def _group_in_vocabularies(names: list[str]) -> tuple[str, str] | None:
        """A domain, else a zone, that one of the group's names is a spelling of."""
        for kind, vocabulary in (("domain", "domains"), ("zone", "zones")):
            codes = [vocab(vocabulary).resolve(name) for name in names]
            if any(codes):
                return kind, next(c for c in codes if c)
        return None

    def _unknown_group(self, names: list[str]) -> tuple[None, None]:
        """A group that means nothing to us is ignored, with a warning that says how to map it."""
        label = names[0] if names else "?"
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
        """The package's tag names, each once, in order (None: it gives no tags)."""
        tags = _given_tags(package)
        if tags is None:
            return None
        if not isinstance(tags, list):
            self.problem("tags", "应为 {name} 列表", "must be a list of {name}.")
            return None
        names = [name for name in map(self._tag_name, tags) if name]
        return list(dict.fromkeys(names))

    def _tag_name(self, tag: Any) -> str | None:
        """A tag's name: a {name} dict (CKAN's) or the name itself."""
        name = (tag.get("name") or tag.get("display_name")) if isinstance(tag, Mapping) else tag
        return text(name) if self.strict else clean(name if isinstance(name, str) else None)

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


def _given_tags(package: Mapping[str, Any]) -> Any:
    """A package's tags as it gives them: CKAN's tags, else the tag_string of CKAN's web
    form (comma-separated), else our own keywords."""
    tags = package.get("tags")
    if tags is None and package.get("tag_string") is not None:
        tags = str(package["tag_string"]).split(",")
    if tags is None:
        tags = package.get("keywords")
    return tags


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
