"""What the DCAT exports (dcat_ap.py, dcat_us.py) publish, and how both name it: the
datasets the public may see (active, with a public entry), the platform authority that
publishes the catalog, and a dataset's page on the portal."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from schemas import message

from ..models import Dataset, Organization
from ..visibility import PUBLIC, findable

# The platform's authority: the catalog's dct:publisher.
AUTHORITY = message("青岛市大数据发展管理局", "Qingdao Big Data Development Administration")
MEDIA_TYPE = re.compile(r"^[-\w]+/[-\w]+(\.[-\w]+)*([+][-\w]+)?$")  # an IANA name's shape
URL = re.compile(r"^(https?|ftps?)://", re.I)


def published(since: datetime | None = None) -> Select[tuple[Dataset]]:
    """The datasets the public may see; with `since`, only those updated at or after it."""
    query = select(Dataset).where(findable(PUBLIC))
    if since is not None:
        query = query.where(Dataset.updated_at >= since)
    return query


def with_children(query: Select[tuple[Dataset]]) -> Select[tuple[Dataset]]:
    """Loads what an export writes of each dataset in a few queries, not one per dataset."""
    return query.options(
        selectinload(Dataset.publisher),
        selectinload(Dataset.zones),
        selectinload(Dataset.resources),
        selectinload(Dataset.fields),
    )


def authority(session: Session) -> Organization | None:
    """The platform authority's organization, when the catalog has it."""
    return session.scalar(select(Organization).where(Organization.title == AUTHORITY["zh"]))


def dataset_page(base_url: str, name: str) -> str:
    """The dataset's page on the portal: its dcat:landingPage."""
    return f"{base_url.rstrip('/')}/dataset/{quote(name)}"


def is_plain_url(text: str) -> bool:
    """A URL and nothing else (a licence may be one, or a name in words)."""
    return bool(URL.match(text)) and " " not in text.strip()
