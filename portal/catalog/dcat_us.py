"""The public catalog as a DCAT-US 1.1 (Project Open Data) `data.json`, a dict, for the
aggregators that harvest that format. No Flask here, as in dcat_ap.py.

Which of our codes becomes which DCAT-US value is harvesters/formats/dcat.py's, the table
our DCAT harvester reads data.json back by.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from harvesters.formats.dcat import UNKNOWN_MEDIA_TYPE, written
from schemas import vocab

from ..models import Dataset, Resource
from ..visibility import PUBLIC, Viewer
from .dcat_public import MEDIA_TYPE, authority, dataset_page, is_plain_url, published, with_children
from .disclosure import Disclosure

POD_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
POD_ACCESS_LEVELS = written("open_types", "access_level")
POD_FREQUENCIES = written("update_frequencies", "accrual_periodicity")
# data.json wants a media type beside every downloadURL; these stand in when none is stored.
MEDIA_TYPES = written("media_types", "media_type")


def data_json(
    session: Session, base_url: str, *, fallback_email: str, viewer: Viewer = PUBLIC
) -> dict[str, Any]:
    """The whole public catalog as a DCAT-US 1.1 (Project Open Data) catalog, with resource
    URLs as `viewer` may see them (disclosure.py).

    DCAT-US requires a contact email: the dataset's, else its department's, else the platform
    authority's, else `fallback_email`."""
    base = base_url.rstrip("/")
    platform = authority(session)
    fallback = (platform.contact_email if platform else None) or fallback_email
    datasets = session.scalars(with_children(published().order_by(Dataset.name)))
    disclosure = Disclosure(viewer, base)
    return {
        "@context": f"{POD_SCHEMA}/catalog.jsonld",
        "@id": f"{base}/data.json",
        "@type": "dcat:Catalog",
        "conformsTo": POD_SCHEMA,
        "describedBy": f"{POD_SCHEMA}/catalog.json",
        "dataset": [_pod_dataset(ds, base, fallback, disclosure) for ds in datasets],
    }


def _pod_dataset(
    ds: Dataset, base: str, fallback_email: str, disclosure: Disclosure
) -> dict[str, Any]:
    domain = vocab("domains").label(ds.domain, "zh")
    email = ds.contact_email or ds.publisher.contact_email or fallback_email
    landing_page = dataset_page(base, ds.name)
    entry: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "identifier": ds.name,
        "title": ds.title,
        "description": ds.description[:10000],
        "keyword": [k[:1000] for k in ds.keywords or []][:1000] or [domain],
        "modified": (ds.modified or ds.updated_at.date()).isoformat(),
        "publisher": {"@type": "org:Organization", "name": ds.publisher.title},
        "contactPoint": {
            "@type": "vcard:Contact",
            "fn": ds.publisher.title,
            "hasEmail": f"mailto:{email}",
        },
        "accessLevel": POD_ACCESS_LEVELS[ds.open_type],
        "landingPage": landing_page,
        "language": ["zh"],
        "theme": [domain],
        "spatial": "青岛市",
        **_pod_optional_fields(ds),
    }
    distributions = [
        _pod_distribution(r, disclosure.upstream(ds, r), landing_page) for r in ds.resources
    ]
    if distributions:
        entry["distribution"] = distributions
    return entry


def _pod_optional_fields(ds: Dataset) -> dict[str, Any]:
    """rights, issued, accrualPeriodicity and license, each when the dataset has one."""
    out: dict[str, Any] = {}
    if ds.open_type != "unconditional":
        rights = ds.open_condition or vocab("open_types").label(ds.open_type, "zh")
        out["rights"] = rights[:255]
    if ds.issued:
        out["issued"] = ds.issued.isoformat()
    if ds.update_frequency in POD_FREQUENCIES:
        out["accrualPeriodicity"] = POD_FREQUENCIES[ds.update_frequency]
    if ds.license and is_plain_url(ds.license):
        out["license"] = ds.license.strip()
    return out


def _pod_distribution(
    resource: Resource, upstream: str | None, landing_page: str
) -> dict[str, Any]:
    """`upstream`: the resource's URL if the viewer may see it (else the landing page)."""
    out: dict[str, Any] = {"@type": "dcat:Distribution", "title": resource.name}
    if resource.description:
        out["description"] = resource.description[:10000]
    media_type = resource.media_type if resource.media_type else None
    if not (media_type and MEDIA_TYPE.match(media_type)):
        media_type = MEDIA_TYPES.get(resource.format or "")
    # A downloadURL needs a media type in data.json. A file of a type we do not know is
    # still a file (RFC 2046's octet-stream), or a harvester would read it as a link.
    if resource.kind == "file" and upstream:
        out["downloadURL"] = upstream
        out["mediaType"] = media_type or UNKNOWN_MEDIA_TYPE
    else:
        out["accessURL"] = upstream or landing_page
        if media_type:
            out["mediaType"] = media_type
    if resource.format:
        out["format"] = vocab("formats").label(resource.format, "en")
    return out
