"""Rows ↔ profile documents: the dicts the schemas load, revisions keep and exports write."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..models import DataField, Dataset, Organization, Resource, Zone

DATASET_SCALARS = (
    "name",
    "title",
    "title_en",
    "description",
    "resource_code",
    "domain",
    "industry",
    "basic_category",
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
    "record_count",
    "api_count",
    "file_count",
    "issued",
    "modified",
    "contact_phone",
    "contact_email",
    "landing_page",
    "license",
    "operable",
)
DATASET_LISTS = ("zones", "formats", "keywords", "fields", "resources")
RESOURCE_COLUMNS = (
    "id",
    "name",
    "description",
    "kind",
    "format",
    "url",
    "media_type",
    "size",
    "record_count",
)
FIELD_COLUMNS = ("name", "title", "type", "length", "grade", "sensitive", "description")
ORGANIZATION_COLUMNS = (
    "name",
    "title",
    "title_en",
    "uscc",
    "description",
    "contact_phone",
    "contact_email",
    "website",
)
ZONE_COLUMNS = ("code", "title", "title_en", "description", "operator")
SCENARIO_COLUMNS = ("code", "title", "title_en", "description")


def _pick(row: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for column in columns:
        value = getattr(row, column)
        if value is not None:
            out[column] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def dataset_document(dataset: Dataset) -> dict[str, Any]:
    doc = _pick(dataset, DATASET_SCALARS)
    doc["publisher"] = dataset.publisher.name
    doc["zones"] = [zone.code for zone in dataset.zones]
    doc["formats"] = list(dataset.formats or [])
    doc["keywords"] = list(dataset.keywords or [])
    doc["fields"] = [_pick(f, FIELD_COLUMNS) for f in dataset.fields]
    doc["resources"] = [_pick(r, RESOURCE_COLUMNS) for r in dataset.resources]
    doc["extras"] = dict(dataset.extras or {})
    return doc


def organization_document(organization: Organization) -> dict[str, Any]:
    return _pick(organization, ORGANIZATION_COLUMNS)


def zone_document(zone: Zone) -> dict[str, Any]:
    doc = _pick(zone, ZONE_COLUMNS)
    doc["scenarios"] = [_pick(s, SCENARIO_COLUMNS) for s in zone.scenarios]
    return doc


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(document: dict[str, Any]) -> str:
    """Hash of a document's content; resource ids are ours, not content, so they do not count."""
    content = dict(document)
    content["resources"] = [
        {k: v for k, v in r.items() if k != "id"} for r in document.get("resources", [])
    ]
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def apply_dataset(dataset: Dataset, data: dict[str, Any]) -> None:
    """Write a loaded dataset document's scalar, list and child values onto the row.

    Zones and the publisher are set by the caller, which looks them up. Resources keep
    their ids when the document names them or when one of the same name already exists,
    so grants that point at a resource survive an update.
    """
    for column in DATASET_SCALARS:
        setattr(dataset, column, data.get(column))
    dataset.formats = list(data.get("formats", []))
    dataset.keywords = list(data.get("keywords", []))
    dataset.extras = dict(data.get("extras", {}))
    dataset.fields = [
        DataField(position=i, **{c: item.get(c) for c in FIELD_COLUMNS})
        for i, item in enumerate(data.get("fields", []))
    ]
    existing = {r.name: r for r in dataset.resources}
    by_id = {r.id: r for r in dataset.resources}
    resources = []
    for i, item in enumerate(data.get("resources", [])):
        resource = by_id.get(item.get("id", "")) or existing.get(item["name"]) or Resource()
        for column in RESOURCE_COLUMNS:
            if column != "id":
                setattr(resource, column, item.get(column))
        if item.get("id") and resource.id is None:
            resource.id = item["id"]
        resource.position = i
        resources.append(resource)
    dataset.resources = resources
