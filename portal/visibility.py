"""Who may see a dataset's catalog entry: the one rule, in its three faces.

- `may_read(viewer, dataset)`: the entry itself (CKAN `package_show`, a department's own
  workspace): the authority reads every entry, an officer every entry of the department,
  anyone else an active entry the department made public (a 不予开放 dataset only if the
  department chose so: `metadata_public`).
- `may_find(viewer, dataset)` and `findable(viewer)`: listings and search, in Python and
  as a SQL condition: readable *and* active (a withdrawn entry is listed to nobody).
- `index_scopes(...)` and `Viewer.scopes`: the same rule inside a search engine; a
  document lists who may find it and every query filters on the viewer's scopes.
- `may_see_upstream(viewer, dataset)`: whether the viewer may see where the dataset's
  resources live upstream (their `url`): everyone for open data (无条件开放 of a grade that
  allows it), only the publishing department and the authority otherwise. Every
  serializer asks it through `catalog/disclosure.py`.

What a viewer is comes from one place too (`viewer_of`); what a role may *do* is
`access/rights.py`. tests/test_visibility.py checks that the faces agree for every role,
state, openness and `metadata_public`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, and_, or_, select

from .models import Dataset, Organization, User

Audience = Literal["public", "officer", "authority"]
ACTIVE = "active"


@dataclass(frozen=True)
class Viewer:
    """Who is looking. Search engines filter on `scopes`, so nothing else is ever counted."""

    audience: Audience = "public"
    organization: str | None = None  # the department (its name) of an officer

    @property
    def scopes(self) -> tuple[str, ...]:
        if self.audience == "authority":
            return ("authority",)
        if self.audience == "officer" and self.organization:
            return ("public", f"org:{self.organization}")
        return ("public",)


PUBLIC = Viewer()


def viewer_of(user: User | None) -> Viewer:
    """What a signed-in user (or a token's user) may see: an officer the department's
    non-public entries too, the authority everything; other roles what the public sees."""
    if user is None:
        return PUBLIC
    if user.role == "authority":
        return Viewer("authority")
    if user.role == "officer" and user.organization is not None:
        return Viewer("officer", user.organization.name)
    return PUBLIC


class Entry(Protocol):
    """A dataset, or a row with these attributes (the search service's hot path)."""

    state: str
    metadata_public: bool


def _publisher_name(entry: Any) -> str:
    publisher = getattr(entry, "publisher", None)
    return publisher if isinstance(publisher, str) else publisher.name


def _own(viewer: Viewer, entry: Entry) -> bool:
    return viewer.audience == "officer" and viewer.organization == _publisher_name(entry)


def may_read(viewer: Viewer, entry: Entry) -> bool:
    if viewer.audience == "authority" or _own(viewer, entry):
        return True
    return entry.state == ACTIVE and bool(entry.metadata_public)


def may_find(viewer: Viewer, entry: Entry) -> bool:
    return entry.state == ACTIVE and may_read(viewer, entry)


# Grades whose data is never open, whatever the openness says (a policy file that allowed
# it would not make their endpoints public).
CLOSED_GRADES = frozenset({"core", "important"})


def may_see_upstream(viewer: Viewer, dataset: Dataset) -> bool:
    """Whether `viewer` may see the upstream URLs of `dataset`'s resources. The public sees
    a non-open resource's name and format, never the address it is fetched from: that is
    for the publishing department's officers and the authority."""
    if viewer.audience == "authority" or _own(viewer, dataset):
        return True
    return dataset.open_type == "unconditional" and dataset.grade not in CLOSED_GRADES


def findable(viewer: Viewer) -> ColumnElement[bool]:
    """`may_find` as a condition on `datasets` (no join needed)."""
    active = Dataset.state == ACTIVE
    if viewer.audience == "authority":
        return active
    public = Dataset.metadata_public.is_(True)
    if viewer.audience == "officer" and viewer.organization:
        department = (
            select(Organization.id)
            .where(Organization.name == viewer.organization)
            .scalar_subquery()
        )
        return and_(active, or_(public, Dataset.publisher_id == department))
    return and_(active, public)


def index_scopes(publisher: str, metadata_public: bool) -> tuple[str, ...]:
    """Who may find an active dataset's search document: its own department and the
    authority always, the public when its entry is public. Inactive datasets have none."""
    scopes = [f"org:{publisher}", "authority"]
    if metadata_public:
        scopes.insert(0, "public")
    return tuple(scopes)
