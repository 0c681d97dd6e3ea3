"""CKAN's package and organization dicts → records of our profile, for the harvester
(and, next, for the portal's CKAN API, so there is one mapping of the format).

Every mapping that is a matter of data (extras keys, groups, source spellings of
vocabulary values) lives in data/ckan.yaml. A value that cannot be mapped is left out
with a warning on the record, never a failure of the whole record.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from marshmallow import ValidationError as InvalidValue
from marshmallow import validate

from schemas import Message, message, vocab
from schemas.base import PHONE, SLUG

from ..base import RecordKind, SourceRecord, stable_name
from ..labels import field_for as label_field_for
from ..labels import fold
from ..values import clean, map_term

MAPPING_FILE = Path(__file__).parents[1] / "data" / "ckan.yaml"


VOCAB_FIELDS = {
    "domain": "domains",
    "industry": "industries",
    "basic_category": "basic_categories",
    "open_type": "open_types",
    "open_level": "open_levels",
    "share_type": "share_types",
    "share_method": "share_methods",
    "grade": "grades",
    "processing_level": "processing_levels",
    "update_frequency": "update_frequencies",
}


LIST_VOCAB_FIELDS = {"zones": "zones", "formats": "formats"}


TEXT_FIELDS = ("title_en", "resource_code", "open_condition", "share_condition", "license")


COUNT_FIELDS = ("record_count", "api_count", "file_count")


BOOL_FIELDS = ("operable", "metadata_public")


DATE_FIELDS = ("issued", "modified")


CONTACT_FIELDS = ("contact_phone", "contact_email", "landing_page")


OUR_FIELDS = (
    *VOCAB_FIELDS,
    *LIST_VOCAB_FIELDS,
    *TEXT_FIELDS,
    *COUNT_FIELDS,
    *BOOL_FIELDS,
    *DATE_FIELDS,
    *CONTACT_FIELDS,
    "fields",
)


TRUE_WORDS = frozenset({"true", "yes", "1", "是", "y"})


FALSE_WORDS = frozenset({"false", "no", "0", "否", "n"})


DATE_PATTERN = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")


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


@dataclass
class PackageMapper:
    """Maps CKAN's organizations and packages onto our profile, one record at a time."""

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
        if our_field in ("contact_phone", "contact_email", "website"):
            return self._contact(our_field, value)
        return clean(_text(value))

    def organization_name(self, org: Mapping[str, Any]) -> str:
        readable = org.get("name")
        return stable_name(
            self.prefix,
            str(org.get("id") or readable),
            readable if isinstance(readable, str) else "",
        )

    def dataset(self, package: Mapping[str, Any]) -> SourceRecord:
        self.warnings = []
        ckan_name = str(package.get("name") or package["id"])
        raw = self._our_values(package)
        data: dict[str, Any] = {
            "name": self.dataset_name(package),
            "title": clean(package.get("title")),
            "description": clean(package.get("notes")),  # Markdown, kept as written
            "publisher": self._publisher(package),
            "keywords": _keywords(package.get("tags")),
            **self._converted(raw),
            "extras": {"source_id": str(package["id"]), "source_name": ckan_name},
        }
        self._apply_core_fallbacks(data, package)
        self._apply_groups(data, package.get("groups") or [])
        data["resources"] = self._resources(package.get("resources") or [])
        formats = [r["format"] for r in data["resources"] if r.get("format")]
        data["formats"] = list(dict.fromkeys([*data.get("formats", []), *formats]))
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

    # --- our fields, from top-level keys and extras ---

    def _our_values(self, package: Mapping[str, Any]) -> dict[str, Any]:
        """Raw values of our fields. Exact field names first (top level, then extras), then
        the keys data/ckan.yaml and the label map know; the first non-empty value wins."""
        extras = _extras(package.get("extras"))
        found: dict[str, Any] = {}
        for our_field in OUR_FIELDS:
            for value in (package.get(our_field), extras.get(our_field)):
                _take(found, our_field, value)
        for key, value in extras.items():
            _take(found, self.mapping.fields.get(fold(key)) or label_field_for(key), value)
        for key, value in package.items():
            # Only keys of data/ckan.yaml at the top level: the label map knows CKAN's own
            # keys (title, url …) as other things.
            _take(found, self.mapping.fields.get(fold(key)), value)
        return found

    def _converted(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {our_field: self._convert(our_field, value) for our_field, value in raw.items()}

    def _convert(self, our_field: str, value: Any) -> Any:
        if our_field in VOCAB_FIELDS:
            return self._term(VOCAB_FIELDS[our_field], value, our_field)
        if our_field in LIST_VOCAB_FIELDS:
            return self._terms(LIST_VOCAB_FIELDS[our_field], value, our_field)
        if our_field in COUNT_FIELDS:
            return _count(value)
        if our_field in BOOL_FIELDS:
            return _boolean(value)
        if our_field in DATE_FIELDS:
            return to_date(value)
        if our_field in CONTACT_FIELDS:
            return self._contact(our_field, value)
        if our_field == "fields":
            return _json_list(value)
        return clean(_text(value))

    def _apply_core_fallbacks(self, data: dict[str, Any], package: Mapping[str, Any]) -> None:
        """CKAN's own fields, where our fields said nothing."""
        fallbacks: dict[str, Callable[[], Any]] = {
            "issued": lambda: to_date(package.get("metadata_created")),
            "modified": lambda: to_date(package.get("metadata_modified")),
            "license": lambda: (
                clean(package.get("license_title")) or clean(package.get("license_id"))
            ),
            "contact_email": lambda: self._contact(
                "contact_email",
                clean(package.get("maintainer_email")) or clean(package.get("author_email")),
            ),
            "landing_page": lambda: (
                self._contact("landing_page", package.get("url"))
                or f"{self.portal}/dataset/{package.get('name') or package['id']}"
            ),
        }
        for our_field, fallback in fallbacks.items():
            if data.get(our_field) is None:
                data[our_field] = fallback()

    def _publisher(self, package: Mapping[str, Any]) -> str | None:
        org = package.get("organization")
        return self.organization_name(org) if isinstance(org, Mapping) and org else None

    # --- groups → domain / zones ---

    def _apply_groups(self, data: dict[str, Any], groups: list[Any]) -> None:
        zones = list(data.get("zones") or [])
        for group in groups:
            if not isinstance(group, Mapping):
                continue
            kind, code = self._group_target(group)
            if kind == "zone" and code not in zones:
                zones.append(code)
            elif kind == "domain" and not data.get("domain"):
                data["domain"] = code
        data["zones"] = zones

    def _group_target(self, group: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """("zone" | "domain", code) for a group: the group map first, then its name and
        title as a domain, then as a zone; (None, None) when ignored or unknown."""
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

    # --- resources ---

    def _resources(self, resources: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for position, resource in enumerate(resources):
            if isinstance(resource, Mapping) and resource.get("state", "active") == "active":
                out.append(self._resource(resource, position))
        _make_names_unique(out)
        return out

    def _resource(self, resource: Mapping[str, Any], position: int) -> dict[str, Any]:
        source_format = _resource_format(resource)
        code = self._term("formats", source_format, "resources.format") if source_format else None
        api_type = fold(str(resource.get("resource_type") or "")) in self.mapping.api_resource_types
        kind = "api" if code == "api" or api_type else "link" if code == "link" else "file"
        url = self._contact("url", resource.get("url"))
        return _present(
            {
                "id": clean(str(resource["id"])) if resource.get("id") else None,
                "name": _resource_name(resource, source_format, position),
                "description": clean(resource.get("description")),
                "kind": kind,
                "format": code,
                "url": url,
                "media_type": clean(resource.get("mimetype")),
                "size": self._size(resource.get("size")),
                "_format_label": (source_format or "").upper(),
            }
        )

    # --- values ---

    def _resolve(self, vocabulary: str, value: Any) -> str | None:
        for spelling in _spellings(value):
            mapped = self.mapping.values.get(vocabulary, {}).get(fold(spelling))
            code = vocab(vocabulary).resolve(mapped or spelling)
            if code:
                return code
        return None

    def _term(self, vocabulary: str, value: Any, our_field: str) -> str | None:
        code = self._resolve(vocabulary, value)
        if code is None and clean(_text(value)) is not None:
            map_term(vocabulary, _text(value), our_field, self.warnings)  # adds the warning
        return code

    def _terms(self, vocabulary: str, value: Any, our_field: str) -> list[str]:
        """Codes for a list, a JSON list in a string, or a string with separators."""
        items = _json_list(value)
        if isinstance(items, str):
            items = _split(items)
        elif not isinstance(items, list):
            items = [items]  # one value where a list was expected
        codes = [self._term(vocabulary, item, our_field) for item in items]
        return list(dict.fromkeys(c for c in codes if c))

    def _size(self, value: Any) -> int | None:
        """Bytes; a size that is no whole number (\"12 MB\") is dropped with a warning
        rather than failing the dataset."""
        size = _count(value)
        if size is None or isinstance(size, int):
            return size
        self.warnings.append(
            message(
                f"resources.size：「{size}」不是字节数，已忽略",
                f"resources.size: {size!r} is not a number of bytes; dropped.",
            )
        )
        return None

    def _contact(self, our_field: str, value: Any) -> str | None:
        """An email, phone or URL, or None with a warning when it is not a valid one."""
        text = clean(_text(value))
        if text is None:
            return None
        if _valid_contact(our_field, text):
            return text
        self.warnings.append(
            message(
                f"{our_field}：「{text}」格式无效，已忽略",
                f"{our_field}: {text!r} is not valid; dropped.",
            )
        )
        return None


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


def to_date(value: Any) -> Any:
    """YYYY-MM-DD for a date, datetime or date-like text; anything else as it came, so
    that validation reports it against the field."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = clean(_text(value))
    if text is None:
        return None
    match = DATE_PATTERN.match(text)
    if not match:
        return text
    try:
        return date(*map(int, match.groups())).isoformat()
    except ValueError:
        return text


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


def _extras(raw: Any) -> dict[str, Any]:
    """CKAN's extras, a list of {key, value} (a dict on some old portals), as a dict."""
    if isinstance(raw, Mapping):
        return dict(raw)
    out: dict[str, Any] = {}
    for item in raw or []:
        if (
            isinstance(item, Mapping)
            and item.get("key")
            and item.get("state", "active") == "active"
        ):
            out.setdefault(str(item["key"]), item.get("value"))
    return out


def _merged_extras(org: Mapping[str, Any]) -> dict[str, Any]:
    return {**_extras(org.get("extras")), **{k: v for k, v in org.items() if k != "extras"}}


def _keywords(tags: Any) -> list[str]:
    names = []
    for tag in tags or []:
        name = (tag.get("display_name") or tag.get("name")) if isinstance(tag, Mapping) else tag
        if isinstance(name, str) and clean(name):
            names.append(clean(name))
    return list(dict.fromkeys(names))


def _take(found: dict[str, Any], our_field: str | None, value: Any) -> None:
    """Keep the first non-empty value of each of our fields."""
    if our_field in OUR_FIELDS and our_field not in found and _has_value(value):
        found[our_field] = value


def _split(text: str) -> list[str]:
    for separator in ("、", ";", "；", "，", "|"):
        text = text.replace(separator, ",")
    return text.split(",")


def _text(value: Any) -> Any:
    """A list (or a JSON list in a string, as CKAN extras hold them) as one text."""
    value = _json_list(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value if clean(v) is not None) or None
    return value


def _json_list(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed if isinstance(parsed, list) else value
    return value


def _spellings(value: Any) -> list[str]:
    """A value as written, and the last segment of a URI (…/frequency/DAILY → DAILY)."""
    text = clean(_text(value))
    if not isinstance(text, str | int):
        return []
    text = str(text)
    tail = text.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1] if "://" in text else ""
    return [text, tail] if tail else [text]


def _count(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    text = clean(str(value).replace(",", ""))
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    text = str(clean(value) or "").casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return value


def _has_value(value: Any) -> bool:
    return clean(_text(value)) is not None if not isinstance(value, bool) else True


def _valid_contact(our_field: str, text: str) -> bool:
    if our_field == "contact_phone":
        return bool(PHONE.match(text))
    check = (
        validate.Email()
        if our_field == "contact_email"
        else validate.URL(schemes={"http", "https", "ftp", "ftps"})
    )
    try:
        check(text)
    except InvalidValue:
        return False
    return True


def _resource_format(resource: Mapping[str, Any]) -> str | None:
    """The resource's format; else its OGC protocol (ckanext-spatial); else its URL's
    file extension."""
    stated = clean(resource.get("format"))
    if stated:
        return str(stated)
    protocol = str(resource.get("resource_locator_protocol") or "")
    if protocol.upper().startswith("OGC:"):
        return protocol[4:]
    extension = posixpath.splitext(urlparse(str(resource.get("url") or "")).path)[1]
    return extension[1:] if 1 < len(extension) <= 6 else None


def _resource_name(resource: Mapping[str, Any], source_format: str | None, position: int) -> str:
    stated = clean(resource.get("name"))
    if stated:
        return str(stated)[:300]
    path = urlparse(str(resource.get("url") or "")).path
    basename = unquote(posixpath.basename(path.rstrip("/")))
    if basename:
        return basename[:300]
    return f"{(source_format or 'resource').upper()} {position + 1}"


def _make_names_unique(resources: list[dict[str, Any]]) -> None:
    """Resource names are unique within a dataset: a repeated name gets its format, then
    a number (commune_actuelle, commune_actuelle (WFS), commune_actuelle (2))."""
    taken: set[str] = set()
    for resource in resources:
        label = resource.pop("_format_label", "")
        name = resource["name"]
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
