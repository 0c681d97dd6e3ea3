"""The profile's fields as CKAN carries them, from the profile's schemas (schemas/), never
written out here: our fields are the dataset schema's fields without a CKAN core key; a
field's kind (term, count, date, contact …) is its marshmallow type and metadata."""

from __future__ import annotations

from marshmallow import fields as ma

from schemas import OrganizationSchema, ResourceSchema, ZoneSchema
from schemas import dataset_schema as profile_schema
from schemas.base import VocabTerm

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
