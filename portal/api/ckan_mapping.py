"""CKAN's package, resource, organization and group dicts ⇄ our profile: the layer that
reads our rows (no Flask here). What a CKAN dict means is harvesters/formats/ckan/, one
mapping for the harvester and this API; its names are exported from here too.

Out: CKAN's core keys (`name`, `title`, `notes`, `tags`, `owner_org`, `organization`,
`groups` = our zones, `resources`, `license_id`, `url`, `maintainer_email`, `private`,
`metadata_created`/`metadata_modified`), and each of our own fields (`OUR_FIELDS`) twice:
as a top-level key and as an `extras` entry (a string; lists as JSON), so that a plain CKAN
client, which keeps only `extras`, round-trips them. The dataset's own extras (what
harvests kept) are `extras` entries too.

In: either form, read strictly (`read_package(strict=True)`): a top-level key that is
present wins (null clears the field); otherwise the `extras` entry; otherwise the keys the
harvester knows (data/ckan.yaml) and CKAN's core key (`groups` for zones, `private` for
metadata_public). Profile fields with a CKAN core key travel in it only
(landing_page ⇄ `url`, license ⇄ `license_id`, contact_email ⇄ `maintainer_email`), but
their own names are accepted on input too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harvesters.formats.ckan import (
    ALIASED,
    CORE_KEYS,
    LIST_FIELDS,
    ORGANIZATION_FIELDS,
    OUR_FIELDS,
    RESERVED_EXTRAS,
    RESOURCE_KEYS,
    ZONE_FIELDS,
    PackageFrame,
    PackageReader,
    as_message,
    ckan_errors,
    ckan_time,
    extra_value,
    extras_list,
    extras_of,
    load_mapping,
    message_text,
    package_to_ckan,
    read_package,
    resource_to_ckan,
)
from harvesters.values import blank_to_none, text
from schemas import Message, message

from ..catalog.documents import RESOURCE_COLUMNS, dataset_document, zone_document
from ..catalog.errors import Invalid
from ..models import Dataset, Organization, Resource, Zone

__all__ = [
    "ALIASED",
    "CORE_KEYS",
    "LIST_FIELDS",
    "ORGANIZATION_FIELDS",
    "OUR_FIELDS",
    "RESERVED_EXTRAS",
    "RESOURCE_KEYS",
    "ZONE_FIELDS",
    "as_message",
    "ckan_errors",
    "ckan_time",
    "extra_value",
    "extras_list",
    "extras_of",
    "group_dict",
    "group_summary",
    "message_text",
    "organization_dict",
    "organization_from_ckan",
    "organization_summary",
    "package_dict",
    "profile_from_package",
    "read_profile",
    "resource_dict",
]

# The url shown for a resource, and whether it is the portal's own download (Context's
# resource_link: the caller's view of upstream URLs, catalog/disclosure.py).
ResourceLink = Callable[[Dataset, Resource], tuple[str | None, bool]]
OrgResolver = Callable[[list[str]], dict[str, str]]  # ids or names → department names


# -- out --------------------------------------------------------------------------------------
def package_dict(dataset: Dataset, link: ResourceLink | None = None) -> dict[str, Any]:
    """A loaded dataset (publisher, zones, resources, fields) as a CKAN package; without
    `link`, resource URLs as stored (for a write's own use, never for an answer)."""
    frame = PackageFrame(
        id=dataset.id,
        active=dataset.state == "active",
        organization=organization_summary(dataset.publisher),
        groups=[group_summary(zone) for zone in dataset.zones],
        resources=[resource_dict(dataset, r, i, link) for i, r in enumerate(dataset.resources)],
        created=ckan_time(dataset.created_at),
        modified=ckan_time(dataset.updated_at),
    )
    return package_to_ckan(dataset_document(dataset), frame)


def resource_dict(
    dataset: Dataset, resource: Resource, position: int, link: ResourceLink | None = None
) -> dict[str, Any]:
    document = {column: getattr(resource, column) for column in RESOURCE_COLUMNS}
    download = None
    if link is not None:
        # A file the portal keeps itself is served at its own address (CKAN's "upload").
        url, upload = link(dataset, resource)
        document["url"] = None if upload else url
        download = url if upload else None
    return resource_to_ckan(document, dataset.id, position, download)


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
    ours = {k: document[k] for k in ZONE_FIELDS if k in document}
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
def profile_from_package(package: Mapping[str, Any], resolve_orgs: OrgResolver) -> dict[str, Any]:
    """Our profile document for a client's CKAN package dict; raises `Invalid` with every
    field error the reading found."""
    profile, errors = read_profile(package, resolve_orgs)
    if errors:
        raise Invalid(errors)
    return profile


def read_profile(
    package: Mapping[str, Any], resolve_orgs: OrgResolver
) -> tuple[dict[str, Any], dict[str, list[Message]]]:
    """Our profile document for a client's CKAN package dict, read strictly (the mapping
    is the harvester's, harvesters/formats/ckan/read.py), and the field errors found;
    `resolve_orgs` maps organization ids and names to our departments' names (leaving
    out those that are none)."""
    reading = read_package(package, strict=True)
    errors = {key: list(found) for key, found in reading.errors.items()}
    data: dict[str, Any] = {
        "name": text(package.get("name")),
        "publisher": _publisher(package, reading.extras, resolve_orgs, errors),
        **reading.data,
    }
    if "metadata_public" not in data and package.get("private") is not None:
        private = package["private"]
        data["metadata_public"] = not (
            private if isinstance(private, bool) else str(private).strip().lower() == "true"
        )
    data["extras"] = {
        key: extra_value(value) for key, value in reading.own_extras.items() if value is not None
    }
    return {key: blank_to_none(value) for key, value in data.items()}, errors


def _publisher(
    package: Mapping[str, Any],
    extras: Mapping[str, Any],
    resolve_orgs: OrgResolver,
    errors: dict[str, list[Message]],
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
        errors.setdefault("publisher", []).append(
            message(
                f"找不到机构「{given[0]}」",
                f"Organization does not exist: {given[0]!r}.",
            )
        )
    return None


def organization_from_ckan(org: Mapping[str, Any]) -> dict[str, Any]:
    reader = PackageReader(load_mapping(), strict=True)
    extras = reader.extras(org.get("extras"))
    if reader.errors:
        raise Invalid(reader.errors)
    data: dict[str, Any] = {
        "name": text(org.get("name")),
        "title": text(org.get("title")) or text(org.get("display_name")),
        "description": blank_to_none(org.get("description")),
    }
    for name in ORGANIZATION_FIELDS:
        if name in org or name in extras:  # top level wins, as for packages
            data[name] = blank_to_none(org[name] if name in org else extras[name])
    return data
