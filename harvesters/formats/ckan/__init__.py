"""CKAN's dicts ⇄ our profile, both directions, for the harvester and the portal's CKAN API.

In: `read_package` reads a package dict (its resources included) as a profile document.
The harvester reads another portal's packages with `strict=False`: a value that cannot be
mapped is left out with a warning on the record, never a failure of the whole record. The
portal's CKAN API reads a client's writes with `strict=True`: a value of the wrong shape
is a field error (all of them collected, bilingual), and a value that maps to nothing is
passed on as given, so that the profile's validation names the field. Both readings
share every rule of the format: which keys carry our fields (top level, extras, the
aliases of data/ckan.yaml), the vocabulary spellings, how a resource's format and kind
are found (an unknown format is `other`), and unique resource names.

What differs is what each caller knows: a harvest names its records after the source
portal (`PackageMapper`), the API after the client's own names and our departments
(portal/api/ckan_mapping.py).

Out: what does not need the database: our fields as CKAN carries them (top level and
`extras`, strings), the package and resource dicts, and our field errors as CKAN reports
them.

The field lists come from the profile's schemas (schemas/), never written out here: our
fields are the dataset schema's fields without a CKAN core key; a field's kind (term,
count, date, contact …) is its marshmallow type and metadata.

The package has one module per job: `fields` (the profile's field lists), `mapping`
(data/ckan.yaml), `read` (a package → our profile), `harvest` (the harvester's records),
`write` (our profile → CKAN) and `errors` (our field errors as CKAN reports them). Their
names are exported from here, so importers need not know the layout.
"""

from .errors import as_message, ckan_errors, message_text
from .fields import (
    ALIASED,
    CORE_KEYS,
    DATASET_FIELDS,
    LIST_FIELDS,
    ORGANIZATION_FIELDS,
    ORGANIZATION_SCHEMA_FIELDS,
    OUR_FIELDS,
    PROFILE_FIELDS,
    RESERVED_EXTRAS,
    RESOURCE_FIELDS,
    RESOURCE_KEYS,
    SAME_NAMED_CORE,
    ZONE_FIELDS,
    field_kind,
    vocabulary_of,
)
from .harvest import (
    PackageMapper,
    default_prefix,
    has_id,
    map_safely,
    package_organization,
    slug_prefix,
)
from .mapping import MAPPING_FILE, CkanMapping, load_mapping
from .read import PackageReader, Reading, checked_contact, extras_of, read_package
from .write import (
    PackageFrame,
    ckan_time,
    extra_value,
    extras_list,
    package_to_ckan,
    resource_to_ckan,
)

__all__ = [
    "ALIASED",
    "CORE_KEYS",
    "DATASET_FIELDS",
    "LIST_FIELDS",
    "MAPPING_FILE",
    "ORGANIZATION_FIELDS",
    "ORGANIZATION_SCHEMA_FIELDS",
    "OUR_FIELDS",
    "PROFILE_FIELDS",
    "RESERVED_EXTRAS",
    "RESOURCE_FIELDS",
    "RESOURCE_KEYS",
    "SAME_NAMED_CORE",
    "ZONE_FIELDS",
    "CkanMapping",
    "PackageFrame",
    "PackageMapper",
    "PackageReader",
    "Reading",
    "as_message",
    "checked_contact",
    "ckan_errors",
    "ckan_time",
    "default_prefix",
    "extra_value",
    "extras_list",
    "extras_of",
    "field_kind",
    "has_id",
    "load_mapping",
    "map_safely",
    "message_text",
    "package_organization",
    "package_to_ckan",
    "read_package",
    "resource_to_ckan",
    "slug_prefix",
    "vocabulary_of",
]
