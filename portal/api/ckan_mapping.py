"""CKAN's package, resource, organization and group dicts ⇄ our profile (no Flask here).

Out: CKAN's core keys (`name`, `title`, `notes`, `tags`, `owner_org`, `organization`,
`groups` = our zones, `resources`, `license_id`, `url`, `maintainer_email`, `private`,
`metadata_created`/`metadata_modified`), and each of our own fields (`OUR_FIELDS`) twice:
as a top-level key and as an `extras` entry (a string; lists as JSON), so that a plain CKAN
client, which keeps only `extras`, round-trips them. The dataset's own extras (what
harvests kept) are `extras` entries too.

In: either form. A top-level key that is present wins (null clears the field); otherwise
the `extras` entry; otherwise CKAN's core key (`groups` for zones, `private` for
metadata_public). Profile fields with a CKAN core key travel in it only
(landing_page ⇄ `url`, license ⇄ `license_id`, contact_email ⇄ `maintainer_email`), but
their own names are accepted on input too.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from schemas import Message, message, vocab

from ..catalog.documents import dataset_document, zone_document
from ..catalog.errors import Invalid
from ..models import Dataset, Organization, Resource, Zone

# Our fields that CKAN has no core key for: top-level keys and extras both.
OUR_FIELDS = (
    "title_en",
    "resource_code",
    "domain",
    "industry",
    "basic_category",
    "zones",
    "open_type",
    "open_condition",
    "open_level",
    "metadata_public",
    "share_type",
    "share_condition",
    "share_method",
    "grade",
    "processing_level",
    "update_frequency",
    "formats",
    "record_count",
    "api_count",
    "file_count",
    "issued",
    "modified",
    "contact_phone",
    "operable",
    "fields",
)
LIST_FIELDS = frozenset({"zones", "formats", "fields"})
# Profile field → the CKAN core key that carries it.
CORE_KEYS = {
    "description": "notes",
    "publisher": "owner_org",
    "keywords": "tags",
    "landing_page": "url",
    "license": "license_id",
    "contact_email": "maintainer_email",
}
ALIASED = ("landing_page", "license", "contact_email")  # also read under their own names
RESERVED_EXTRAS = frozenset({*OUR_FIELDS, *ALIASED})
ORGANIZATION_FIELDS = ("title_en", "uscc", "contact_phone", "contact_email", "website")
ZONE_FIELDS = ("title_en", "operator")
RESOURCE_KEYS = {"media_type": "mimetype"}  # profile → CKAN, for error messages

DownloadUrl = Callable[[Dataset, Resource], str | None]
OrgResolver = Callable[[list[str]], dict[str, str]]  # ids or names → department names


# -- out --------------------------------------------------------------------------------------
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


def package_dict(dataset: Dataset, download_url: DownloadUrl | None = None) -> dict[str, Any]:
    """A loaded dataset (publisher, zones, resources, fields) as a CKAN package."""
    doc = dataset_document(dataset)
    ours = {k: doc[k] for k in OUR_FIELDS if doc.get(k) not in (None, [])}
    keywords = doc["keywords"]
    # Our fields win over a dataset's own extra of the same name (harvests avoid those).
    extras = {**doc["extras"], **ours}
    return {
        "id": dataset.id,
        "name": dataset.name,
        "title": dataset.title,
        "notes": dataset.description,
        "type": "dataset",
        "state": "active" if dataset.state == "active" else "deleted",
        "private": not dataset.metadata_public,
        "owner_org": dataset.publisher.id,
        "organization": organization_summary(dataset.publisher),
        "groups": [group_summary(zone) for zone in dataset.zones],
        "tags": [
            {"name": k, "display_name": k, "state": "active", "vocabulary_id": None}
            for k in keywords
        ],
        "num_tags": len(keywords),
        "resources": [
            resource_dict(dataset, r, i, download_url) for i, r in enumerate(dataset.resources)
        ],
        "num_resources": len(dataset.resources),
        "license_id": doc.get("license") or "",
        "license_title": doc.get("license") or "",
        "url": doc.get("landing_page") or "",
        "maintainer_email": doc.get("contact_email"),
        "author": None,
        "author_email": None,
        "maintainer": None,
        "version": None,
        "metadata_created": ckan_time(dataset.created_at),
        "metadata_modified": ckan_time(dataset.updated_at),
        **ours,
        "extras": extras_list(extras),
    }


def resource_dict(
    dataset: Dataset, resource: Resource, position: int, download_url: DownloadUrl | None = None
) -> dict[str, Any]:
    # A file the portal keeps itself is served at the portal's own address (CKAN's "upload").
    download = download_url(dataset, resource) if download_url and not resource.url else None
    return {
        "id": resource.id,
        "package_id": dataset.id,
        "name": resource.name,
        "description": resource.description or "",
        "url": resource.url or download or "",
        "url_type": "upload" if download else None,
        "format": (resource.format or "").upper(),
        "mimetype": resource.media_type,
        "size": resource.size,
        "kind": resource.kind,
        "record_count": resource.record_count,
        "position": position,
        "state": "active",
    }


def organization_summary(organization: Organization) -> dict[str, Any]:
    """The organization as CKAN nests it in a package."""
    return {
        "id": organization.id,
        "name": organization.name,
        "title": organization.title,
        "description": organization.description or "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
    }


def organization_dict(organization: Organization, package_count: int) -> dict[str, Any]:
    ours = {k: getattr(organization, k) for k in ORGANIZATION_FIELDS}
    ours = {k: v for k, v in ours.items() if v is not None}
    return {
        **organization_summary(organization),
        "display_name": organization.title,
        "image_display_url": "",
        "created": ckan_time(organization.created_at),
        "package_count": package_count,
        "num_followers": 0,
        **ours,
        "extras": extras_list(ours),
        "users": [],
        "groups": [],
        "tags": [],
    }


def group_summary(zone: Zone) -> dict[str, Any]:
    """A zone as the CKAN group nested in a package (a zone's code is its id and name)."""
    return {
        "id": zone.code,
        "name": zone.code,
        "title": zone.title,
        "display_name": zone.title,
        "description": zone.description or "",
        "image_display_url": "",
    }


def group_dict(zone: Zone, package_count: int) -> dict[str, Any]:
    document = zone_document(zone)
    ours = {k: document[k] for k in (*ZONE_FIELDS, "scenarios") if k in document}
    return {
        **group_summary(zone),
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "created": ckan_time(zone.created_at),
        "package_count": package_count,
        "num_followers": 0,
        **ours,
        "extras": extras_list(ours),
        "users": [],
        "groups": [],
        "tags": [],
    }


# -- in ---------------------------------------------------------------------------------------
class Errors:
    """Shape errors found while mapping, reported together as one `Invalid`."""

    def __init__(self) -> None:
        self.found: dict[str, Any] = {}

    def add(self, key: str, zh: str, en: str) -> None:
        self.found.setdefault(key, []).append(message(zh, en))

    def raise_any(self) -> None:
        if self.found:
            raise Invalid(self.found)


def text(value: Any) -> str | None:
    """A scalar as text; blank and null are absent."""
    if value is None or isinstance(value, list | dict):
        return None
    out = str(value).strip() if not isinstance(value, bool) else str(value).lower()
    return out or None


def extras_map(raw: Any, errors: Errors) -> dict[str, Any]:
    """CKAN's extras (a list of {key, value}; a dict on some old clients) as a dict."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(k): v for k, v in raw.items()}
    if not isinstance(raw, list):
        errors.add(
            "extras", "extras 应为 {key, value} 列表", "extras must be a list of {key, value}."
        )
        return {}
    out: dict[str, Any] = {}
    for item in raw:
        if not isinstance(item, Mapping) or not text(item.get("key")):
            errors.add("extras", "extras 的每一项须有 key", "Every extras item needs a key.")
            continue
        if item.get("state", "active") == "deleted" or item.get("deleted"):
            continue
        out[str(item["key"]).strip()] = item.get("value")
    return out


def _list_value(name: str, value: Any, errors: Errors) -> Any:
    """Zones, formats, fields: a list, or (as extras hold them) JSON or comma-separated text."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                parsed = json.loads(stripped)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return parsed
            errors.add(name, f"{name} 不是有效的 JSON 列表", f"{name} is not a valid JSON list.")
            return None
        if name == "fields":
            errors.add(name, "fields 应为 JSON 列表", "fields must be a JSON list.")
            return None
        for separator in ("、", ";", "；", "，"):
            stripped = stripped.replace(separator, ",")
        return [part.strip() for part in stripped.split(",") if part.strip()]
    errors.add(name, f"{name} 应为列表", f"{name} must be a list.")
    return None


def _scalar(value: Any) -> Any:
    """Blank text is absent (the profile's text fields refuse blanks)."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _pick(package: Mapping[str, Any], extras: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """(found, value) of one of our fields: top level if present, else extras."""
    if name in package:
        return True, package[name]
    if name in extras:
        return True, extras[name]
    return False, None


def profile_from_package(package: Mapping[str, Any], resolve_orgs: OrgResolver) -> dict[str, Any]:
    """Our profile document for a CKAN package dict; `resolve_orgs` maps organization
    ids and names to our departments' names (leaving out those that are none)."""
    errors = Errors()
    extras = extras_map(package.get("extras"), errors)
    data: dict[str, Any] = {
        "name": text(package.get("name")),
        "title": text(package.get("title")),
        "description": _scalar(package.get("notes", package.get("description"))),
        "publisher": _publisher(package, extras, resolve_orgs, errors),
        "keywords": _keywords(package, errors),
    }
    for name in OUR_FIELDS:
        found, value = _pick(package, extras, name)
        if found:
            data[name] = _list_value(name, value, errors) if name in LIST_FIELDS else value
    if "zones" not in data and "groups" in package:
        data["zones"] = _group_names(package["groups"], errors)
    if "metadata_public" not in data and package.get("private") is not None:
        private = package["private"]
        data["metadata_public"] = not (
            private if isinstance(private, bool) else str(private).strip().lower() == "true"
        )
    for name in ALIASED:
        found, value = _pick(package, extras, name)
        data[name] = value if found else _scalar(package.get(CORE_KEYS[name]))
    if not data["license"]:
        data["license"] = package.get("license_title")
    data["extras"] = {
        key: extra_value(value)
        for key, value in extras.items()
        if key not in RESERVED_EXTRAS and value is not None
    }
    if "resources" in package:
        data["resources"] = resources_from_ckan(package["resources"], errors)
    errors.raise_any()
    return {key: _scalar(value) for key, value in data.items()}


def _publisher(
    package: Mapping[str, Any],
    extras: Mapping[str, Any],
    resolve_orgs: OrgResolver,
    errors: Errors,
) -> str | None:
    """The first of publisher, owner_org, organization's name or id that is one of our
    departments (a dump of another portal names its own organization ids)."""
    organization = package.get("organization")
    nested = organization if isinstance(organization, Mapping) else {"name": organization}
    candidates = [
        package.get("publisher"),
        extras.get("publisher"),
        package.get("owner_org"),
        nested.get("name"),
        nested.get("id"),
    ]
    given = [t for t in map(text, candidates) if t]
    found = resolve_orgs(given) if given else {}
    for candidate in given:
        if candidate in found:
            return found[candidate]
    if given:
        errors.add(
            "publisher",
            f"找不到机构「{given[0]}」",
            f"Organization does not exist: {given[0]!r}.",
        )
    return None


def _keywords(package: Mapping[str, Any], errors: Errors) -> list[str] | None:
    tags = package.get("tags")
    if tags is None and package.get("tag_string") is not None:
        tags = str(package["tag_string"]).split(",")
    if tags is None:
        tags = package.get("keywords")
    if tags is None:
        return None
    names = _names(tags, ("name", "display_name"), "keywords", "tags", errors)
    return None if names is None else list(dict.fromkeys(names))


def _group_names(groups: Any, errors: Errors) -> list[str] | None:
    if groups is None:
        return None
    return _names(groups, ("name", "id"), "zones", "groups", errors)


def _names(
    items: Any, keys: tuple[str, str], field: str, ckan_key: str, errors: Errors
) -> list[str] | None:
    """The names in a CKAN list of {name} dicts (or of plain names); None if no list."""
    if not isinstance(items, list):
        errors.add(field, f"{ckan_key} 应为列表", f"{ckan_key} must be a list of {{name}}.")
        return None
    names = []
    for item in items:
        if isinstance(item, Mapping):
            name = text(item.get(keys[0]) or item.get(keys[1]))
        else:
            name = text(item)
        if name:
            names.append(name)
    return names


def resources_from_ckan(raw: Any, errors: Errors) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        errors.add("resources", "resources 应为列表", "resources must be a list.")
        return []
    out = []
    for position, item in enumerate(raw):
        if not isinstance(item, Mapping):
            errors.add("resources", "每个资源应为一个对象", "Each resource must be an object.")
            continue
        if item.get("state", "active") == "deleted":
            continue
        out.append(resource_from_ckan(item, position))
    return out


def resource_from_ckan(item: Mapping[str, Any], position: int) -> dict[str, Any]:
    # An "upload" lives on the portal that served it; its address there is not ours.
    url = None if item.get("url_type") == "upload" else text(item.get("url"))
    stated = text(item.get("format"))
    code = vocab("formats").resolve(stated) if stated else None
    if stated and code is None:
        code = "other"  # CKAN's format is free text, ours a vocabulary
    kind = text(item.get("kind"))
    if kind is None:
        legacy = (text(item.get("resource_type")) or "").lower()
        kind = (
            "api"
            if code == "api" or legacy in ("api", "service")
            else ("link" if code == "link" else "file")
        )
    resource = {
        "id": text(item.get("id")),
        "name": text(item.get("name")) or _resource_name(url, stated, position),
        "description": _scalar(item.get("description")),
        "kind": kind,
        "format": code,
        "url": url,
        "media_type": _scalar(item.get("mimetype", item.get("media_type"))),
        "size": _scalar(item.get("size")),
        "record_count": _scalar(item.get("record_count")),
    }
    return {key: value for key, value in resource.items() if value is not None}


def _resource_name(url: str | None, stated_format: str | None, position: int) -> str:
    """CKAN lets a resource go unnamed; ours need a name: the file's, or format and number."""
    basename = posixpath.basename(urlparse(url or "").path.rstrip("/"))
    if basename:
        return basename[:300]
    return f"{(stated_format or 'resource').upper()} {position + 1}"


def organization_from_ckan(org: Mapping[str, Any]) -> dict[str, Any]:
    errors = Errors()
    extras = extras_map(org.get("extras"), errors)
    errors.raise_any()
    data: dict[str, Any] = {
        "name": text(org.get("name")),
        "title": text(org.get("title")) or text(org.get("display_name")),
        "description": _scalar(org.get("description")),
    }
    for name in ORGANIZATION_FIELDS:
        found, value = _pick(org, extras, name)
        if found:
            data[name] = _scalar(value)
    return data


# -- errors -----------------------------------------------------------------------------------
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
