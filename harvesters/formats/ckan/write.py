"""Out: our profile as CKAN carries it, what does not need the database: our fields as
top-level keys and `extras` (strings), and the package and resource dicts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .fields import OUR_FIELDS


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
