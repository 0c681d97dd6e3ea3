"""In, from another portal: the harvester's records. `PackageMapper` names each record
after the source portal; the reading itself is `read_package` (read.py), shared with the
portal's CKAN API."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from schemas import Message, message
from schemas.base import SLUG

from ...base import RecordKind, SourceRecord, stable_name
from ...labels import fold
from ...values import clean, joined_text, to_date
from .fields import ORGANIZATION_SCHEMA_FIELDS, field_kind
from .mapping import CkanMapping
from .read import checked_contact, extras_of, read_package


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


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out what the source does not have."""
    return {k: v for k, v in data.items() if v not in (None, "", [], {})}
