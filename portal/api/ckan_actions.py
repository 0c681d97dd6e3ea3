"""The CKAN read actions (package_search is in ckan_search.py).

What the public may see is what the portal shows it: active datasets whose entry is
public (`private: false`). A token with `catalog:read` or `catalog:manage` also shows its
officer the department's non-public and withdrawn (`state: deleted`) datasets, and the
platform authority everything, in package_show, resource_show and (with
`include_private`) package_search. Departments are CKAN organizations, our zones (专区)
CKAN groups.
"""

from __future__ import annotations

from typing import Any

from ..catalog import listings
from ..catalog.errors import NotFound
from ..models import Dataset, Organization, Zone
from ..visibility import PUBLIC
from .ckan import Context, boolean, identifier, integer, listing
from .ckan_mapping import group_dict, organization_dict, package_dict, resource_dict
from .ckan_search import MAX_ROWS, packages

GROUP_LIST_MAX = 1000  # CKAN's caps on organization_list / group_list
GROUP_LIST_FIELDS_MAX = 25  # … and with all_fields
DATASETS_SHOWN = 1000  # organization_show / group_show with include_datasets


def status_show(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "site_title": "青岛市公共数据开放平台",
        "site_description": "Qingdao public-data portal (数字青岛 公共数据运营平台)",
        "site_url": context.root.rstrip("/"),
        "ckan_version": "2.10.0",  # the Action API version we follow
        "api_version": 3,
        "locale_default": "zh_Hans_CN",
        "error_emails_to": None,
        "extensions": ["qingdao-portal"],
    }


def find_dataset(context: Context, key: str) -> Dataset:
    """A dataset by id or name that the caller may see; else Not Found (never a hint
    that a non-public one exists)."""
    dataset = listings.dataset_by_key(context.session, key)
    if dataset is None or not context.may_see(dataset):
        raise NotFound.entity("数据集", "dataset", key)
    return dataset


def find_organization(context: Context, key: str) -> Organization:
    found = listings.organization_by_key(context.session, key)
    if found is None:
        raise NotFound.entity("机构", "organization", key)
    return found


def _page(data: dict[str, Any], default: int | None, high: int) -> tuple[int, int | None]:
    """(offset, limit) from `limit` and `offset` (or CKAN's `page`, counted from 1); no
    limit: everything."""
    given = data.get("limit") not in (None, "")
    limit = integer(data, "limit", default or 0, high) if given or default is not None else None
    offset = integer(data, "offset", 0)
    if data.get("offset") in (None, "") and data.get("page") not in (None, "") and limit:
        offset = (max(integer(data, "page", 1), 1) - 1) * limit
    return offset, limit


def package_list(context: Context, data: dict[str, Any]) -> list[str]:
    """Names of the public datasets, by name (CKAN lists public datasets only)."""
    return listings.public_names(context.session, *_page(data, None, 10**9))


def package_show(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    return package_dict(
        find_dataset(context, identifier(data, "id", "name")), context.resource_link
    )


def current_package_list_with_resources(
    context: Context, data: dict[str, Any]
) -> list[dict[str, Any]]:
    ids = listings.recent_public_ids(context.session, *_page(data, 10, MAX_ROWS))
    return packages(context, ids, PUBLIC)


def resource_show(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    key = identifier(data, "id")
    resource = listings.resource_by_id(context.session, key)
    dataset = listings.dataset_by_key(context.session, resource.dataset_id) if resource else None
    if dataset is None or not context.may_see(dataset):  # hidden: as if there were none
        raise NotFound.entity("资源", "resource", key)
    position = next(i for i, r in enumerate(dataset.resources) if r.id == key)
    return resource_dict(dataset, dataset.resources[position], position, context.resource_link)


def license_list(context: Context, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The licenses the public catalog uses (ours are free text: the text is the id)."""
    names = listings.public_licenses(context.session)
    return [
        {"id": name, "title": name, "url": "", "status": "active", "od_conformance": "not reviewed"}
        for name in names
    ]


def tag_list(context: Context, data: dict[str, Any]) -> list[Any]:
    """Keywords of the public catalog; `query` keeps those containing it."""
    if data.get("vocabulary_id"):
        return []  # our keywords belong to no tag vocabulary
    wanted = str(data.get("query") or "").strip().casefold()
    ordered = sorted(k for k in listings.public_keywords(context.session) if wanted in k.casefold())
    if boolean(data, "all_fields"):
        return [{"name": n, "display_name": n, "vocabulary_id": None} for n in ordered]
    return ordered


# -- organizations (our departments) and groups (our zones) -----------------------------------
def organization_counts(context: Context) -> dict[str, int]:
    return listings.public_counts_by_department(context.session)


def _zone_counts(context: Context) -> dict[str, int]:
    return listings.public_counts_by_zone(context.session)


def _sorted(items: list[Any], data: dict[str, Any], counts: dict[str, int], key: Any) -> list[Any]:
    """CKAN's sort for organization_list/group_list: `title asc` (default), `name`,
    `package_count`, each optionally `desc`."""
    text = str(data.get("sort") or "title asc").strip().split()
    field, descending = (text[0] if text else "title"), len(text) > 1 and text[1] == "desc"
    if field == "package_count":
        items.sort(key=lambda i: (counts.get(key(i), 0), i.title), reverse=descending)
    elif field == "name":
        items.sort(key=lambda i: getattr(i, "name", getattr(i, "code", "")), reverse=descending)
    else:
        items.sort(key=lambda i: (i.title, key(i)), reverse=descending)
    return items


def _listed(items: list[Any], data: dict[str, Any], all_fields: bool) -> list[Any]:
    high = GROUP_LIST_FIELDS_MAX if all_fields else GROUP_LIST_MAX
    limit = integer(data, "limit", high, high)
    offset = integer(data, "offset", 0)
    return items[offset : offset + limit]


def organization_list(context: Context, data: dict[str, Any]) -> list[Any]:
    organizations = listings.organizations(context.session)
    wanted = listing(data, "organizations")
    if wanted:
        organizations = [o for o in organizations if o.name in wanted or o.id in wanted]
    counts = organization_counts(context)
    all_fields = boolean(data, "all_fields")
    chosen = _listed(_sorted(organizations, data, counts, lambda o: o.id), data, all_fields)
    if not all_fields:
        return [o.name for o in chosen]
    return [organization_dict(o, counts.get(o.id, 0)) for o in chosen]


def organization_show(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    organization = find_organization(context, identifier(data, "id", "name"))
    counts = organization_counts(context)
    result = organization_dict(organization, counts.get(organization.id, 0))
    if boolean(data, "include_datasets"):
        ids = listings.first_public_ids(
            context.session, DATASETS_SHOWN, publisher_id=organization.id
        )
        result["packages"] = packages(context, ids, PUBLIC)
    return result


def _zone(context: Context, key: str) -> Zone:
    zone = listings.zone_by_code(context.session, key)
    if zone is None:
        raise NotFound.entity("专区", "group", key)
    return zone


def group_list(context: Context, data: dict[str, Any]) -> list[Any]:
    zones = listings.zones(context.session)
    wanted = listing(data, "groups")
    if wanted:
        zones = [z for z in zones if z.code in wanted]
    counts = _zone_counts(context)
    all_fields = boolean(data, "all_fields")
    chosen = _listed(_sorted(zones, data, counts, lambda z: z.code), data, all_fields)
    if not all_fields:
        return [z.code for z in chosen]
    return [group_dict(z, counts.get(z.code, 0)) for z in chosen]


def group_show(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    zone = _zone(context, identifier(data, "id", "name"))
    result = group_dict(zone, _zone_counts(context).get(zone.code, 0))
    if boolean(data, "include_datasets"):
        ids = listings.first_public_ids(context.session, DATASETS_SHOWN, zone=zone.code)
        result["packages"] = packages(context, ids, PUBLIC)
    return result
