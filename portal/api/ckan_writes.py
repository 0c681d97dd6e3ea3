"""The CKAN write actions, with the same rights and audit as the web pages and API v1.

Datasets (package_* and resource_*): a token with `catalog:manage` of an officer of the
publishing department; the writes go through the stewardship service, which checks the
right, audits grade and openness changes, and holds a downgrade of openness for the
platform authority. Such a package_update is answered with a Validation Error (409)
naming the openness request it filed: nothing of the update is applied until the
authority approves. Without a reason (the package's top-level `reason`) no request is
filed and the error asks for one. package_delete withdraws the dataset (it can be
restored), which CKAN shows as `state: deleted`.

Organizations (our departments): the platform authority or an administrator. No token
scope covers the department registry yet (rights.ROLE_SCOPES), so any valid token of
such an account may: the rule "organization.manage" of access/rights.py, which the
dispatcher checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import dataset_schema, message

from ..access import rights
from ..catalog import Catalog, listings
from ..catalog.documents import dataset_document
from ..catalog.errors import Forbidden, Invalid, NotFound
from ..models import Dataset, OpennessRequest, Resource, User
from ..services import policy
from .ckan import CkanError, Context, identifier, validation
from .ckan_actions import find_dataset, find_organization, organization_counts
from .ckan_mapping import (
    RESERVED_EXTRAS,
    as_message,
    extras_of,
    organization_dict,
    organization_from_ckan,
    package_dict,
    read_profile,
)

MANAGE = "catalog:manage"
# A CKAN key a patch may give → the keys of the current package it replaces.
REPLACES = {
    "groups": ("zones",),
    "private": ("metadata_public",),
    "organization": ("owner_org",),
    "tag_string": ("tags",),
    "description": ("notes",),
    "license_title": ("license_id",),
}


def _resolver(context: Context) -> Callable[[list[str]], dict[str, str]]:
    return lambda keys: listings.organizations_by_key(context.session, keys)


def _profile(
    context: Context, package: dict[str, Any], defaults: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The profile of a client's package, with `defaults` for what it leaves out. When the
    package's shape is wrong somewhere, the profile's own errors are reported with it, so
    that a client learns of every field at once."""
    profile, errors = read_profile(package, _resolver(context))
    for key, value in (defaults or {}).items():
        profile[key] = profile.get(key) or value
    if errors:
        loadable = {k: v for k, v in profile.items() if v is not None}
        raise Invalid({**dataset_schema(policy()).validate(loadable), **errors})
    return profile


def _catalog(context: Context, user: User) -> Catalog:
    return Catalog(context.session, f"user:{user.id}", policy())


def _free_ids(context: Context, resources: list[dict[str, Any]], dataset_id: str | None) -> None:
    """Keep a resource id a client gives (so a dump loaded elsewhere keeps its ids) unless
    a resource of another dataset has it, or the list repeats it."""
    given = [r["id"] for r in resources if r.get("id")]
    taken = listings.datasets_of_resources(context.session, given)
    seen: set[str] = set()
    for resource in resources:
        rid = resource.get("id")
        if rid is None:
            continue
        if rid in seen or taken.get(rid, dataset_id) != dataset_id or len(str(rid)) > 64:
            del resource["id"]
        else:
            seen.add(rid)


def _reason(data: dict[str, Any]) -> str | None:
    raw = data.get("reason", data.get("_reason"))
    return (str(raw).strip() or None) if raw is not None else None


# -- packages ---------------------------------------------------------------------------------
def package_create(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    user = context.user(MANAGE)
    profile = _profile(context, data)
    department = user.organization.name if user.organization else None
    if profile.get("publisher") and profile["publisher"] != department:
        raise Forbidden.because(
            f"只能登记本部门的数据集，不能登记到「{profile['publisher']}」",
            f"You may add datasets to your own department only, not to {profile['publisher']!r}.",
        )
    _free_ids(context, profile.get("resources", []), None)
    dataset = context.services.stewardship.create(user, profile, ip=context.ip)
    return package_dict(dataset, context.resource_link)


def _writable(context: Context, key: str) -> tuple[User, Dataset]:
    user = context.user(MANAGE)
    dataset = find_dataset(context, key)
    rights.require(user, "dataset.manage", dataset)
    return user, dataset


def _update(
    context: Context, user: User, dataset: Dataset, package: dict[str, Any]
) -> dict[str, Any] | CkanError:
    defaults: dict[str, Any] = {"name": dataset.name, "publisher": dataset.publisher.name}
    if "resources" not in package:
        defaults["resources"] = dataset_document(dataset)["resources"]  # CKAN 2.10 keeps them
    profile = _profile(context, package, defaults)
    _free_ids(context, profile["resources"], dataset.id)
    result = context.services.stewardship.update(
        user, dataset.name, profile, reason=_reason(package), ip=context.ip
    )
    if isinstance(result, OpennessRequest):
        return _awaiting(result)
    return package_dict(result, context.resource_link)


def _awaiting(request: OpennessRequest) -> CkanError:
    """A change of openness or a lowered grade: filed for the authority; the client learns
    nothing changed."""
    note = as_message(
        message(
            f"改变开放属性或降低分级须经开放主管部门批准：已提交申请 #{request.id}"
            f"（{request.from_open_type} → {request.to_open_type}），批准前本次修改均未生效",
            "A change of openness or a lower grade needs the platform authority's approval: "
            f"request "
            f"#{request.id} ({request.from_open_type} → {request.to_open_type}) is filed; "
            "nothing of this update applies until it is approved.",
        )
    )
    error = validation({"open_type": [note]})
    error.fields["openness_request"] = {
        "id": request.id,
        "state": request.state,
        "from": request.from_open_type,
        "to": request.to_open_type,
    }
    return error


def package_update(context: Context, data: dict[str, Any]) -> dict[str, Any] | CkanError:
    user, dataset = _writable(context, identifier(data, "id", "name"))
    return _update(context, user, dataset, data)


def package_patch(context: Context, data: dict[str, Any]) -> dict[str, Any] | CkanError:
    user, dataset = _writable(context, identifier(data, "id", "name"))
    return _update(context, user, dataset, patched(package_dict(dataset), data))


def patched(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """CKAN's patch: the given keys over the current package. A value given one way
    replaces the current value held another way (our `zones` when `groups` is given, a
    top-level field when its extras entry is given), as "top level wins" would keep it."""
    merged = {**current, **given}
    replaced: set[str] = set()
    for key, targets in REPLACES.items():
        if key in given:
            replaced.update(t for t in targets if t not in given)
    if "extras" in given:
        keys = extras_of(given["extras"])
        replaced.update(k for k in keys if k in RESERVED_EXTRAS and k not in given)
    for key in replaced:
        merged.pop(key, None)
    if "extras" not in given and isinstance(current.get("extras"), list):
        merged["extras"] = [e for e in current["extras"] if e["key"] not in replaced]
    return merged


def package_delete(context: Context, data: dict[str, Any]) -> None:
    """Withdraws the dataset (CKAN's soft delete): kept, restorable, no longer listed."""
    user, dataset = _writable(context, identifier(data, "id", "name"))
    reason = _reason(data) or "package_delete (CKAN API)"
    _catalog(context, user).datasets.withdraw(dataset.name, reason=reason)
    context.services.audit.append(
        "dataset.withdraw",
        actor=f"user:{user.id}",
        subject=f"dataset:{dataset.name}",
        ip=context.ip,
        reason=reason,
    )
    return None


# -- resources --------------------------------------------------------------------------------
def _resource_write(
    context: Context, dataset_key: str, change: Callable[[list[dict[str, Any]]], str | None]
) -> dict[str, Any] | CkanError:
    """Change the package's resource list with `change` (which returns the id of the
    resource to answer with, or None: the one that is new) and update the package."""
    user, dataset = _writable(context, dataset_key)
    current = package_dict(dataset)
    before = {r["id"] for r in current["resources"]}
    wanted = change(current["resources"])
    result = _update(context, user, dataset, current)
    if isinstance(result, CkanError):
        return result
    for resource in result["resources"]:
        if resource["id"] == wanted or (wanted is None and resource["id"] not in before):
            return resource
    return result["resources"][-1]


def resource_create(context: Context, data: dict[str, Any]) -> dict[str, Any] | CkanError:
    item = {k: v for k, v in data.items() if k != "package_id"}

    def append(resources: list[dict[str, Any]]) -> str | None:
        resources.append(item)
        return None

    return _resource_write(context, identifier(data, "package_id"), append)


def _existing(context: Context, data: dict[str, Any]) -> Resource:
    key = identifier(data, "id")
    resource = listings.resource_by_id(context.session, key)
    if resource is None:
        raise NotFound.entity("资源", "resource", key)
    return resource


def _replace(context: Context, data: dict[str, Any], merge: bool) -> dict[str, Any] | CkanError:
    resource = _existing(context, data)

    def swap(resources: list[dict[str, Any]]) -> str | None:
        for position, item in enumerate(resources):
            if item["id"] == resource.id:
                base = item if merge else {}
                resources[position] = {**base, **data, "id": resource.id}
        return resource.id

    return _resource_write(context, resource.dataset_id, swap)


def resource_update(context: Context, data: dict[str, Any]) -> dict[str, Any] | CkanError:
    return _replace(context, data, merge=False)


def resource_patch(context: Context, data: dict[str, Any]) -> dict[str, Any] | CkanError:
    return _replace(context, data, merge=True)


# -- organizations ----------------------------------------------------------------------------
def _registrar(context: Context) -> User:
    """The caller; the dispatcher has checked the "organization.manage" right."""
    return context.user(None)


def organization_create(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    user = _registrar(context)
    organization = _catalog(context, user).organizations.create(organization_from_ckan(data))
    context.services.audit.append(
        "organization.create",
        actor=f"user:{user.id}",
        subject=f"organization:{organization.name}",
        ip=context.ip,
    )
    return organization_dict(organization, 0)


def _organization_update(context: Context, data: dict[str, Any], merge: bool) -> dict[str, Any]:
    user = _registrar(context)
    organization = find_organization(context, identifier(data, "id", "name"))
    counts = organization_counts(context)
    given = {**organization_dict(organization, 0), **data} if merge else dict(data)
    profile = organization_from_ckan(given)
    if profile.get("name") not in (None, organization.name):
        raise validation({"name": ["机构标识不能修改 (An organization's name cannot change.)"]})
    updated = _catalog(context, user).organizations.update(organization.name, profile)
    context.services.audit.append(
        "organization.update",
        actor=f"user:{user.id}",
        subject=f"organization:{updated.name}",
        ip=context.ip,
    )
    return organization_dict(updated, counts.get(updated.id, 0))


def organization_update(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    return _organization_update(context, data, merge=False)


def organization_patch(context: Context, data: dict[str, Any]) -> dict[str, Any]:
    return _organization_update(context, data, merge=True)
