"""The catalog service layer: the one owner of every catalog write.

The web pages, the APIs, the harvests and the CLI all write through a `Catalog`,
which validates against the profile, keeps a revision of every change and queues an
outbox event for the search index, all inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from schemas import GradePolicy, load_policy

from .datasets import Datasets
from .errors import (
    CatalogError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExhausted,
    Unauthenticated,
)
from .organizations import Organizations
from .zones import Zones


@dataclass
class Catalog:
    session: Session
    actor: str
    policy: GradePolicy = field(default_factory=load_policy)

    @property
    def datasets(self) -> Datasets:
        return Datasets(self.session, self.actor, self.policy)

    @property
    def organizations(self) -> Organizations:
        return Organizations(self.session, self.actor)

    @property
    def zones(self) -> Zones:
        return Zones(self.session, self.actor)


__all__ = [
    "Catalog",
    "CatalogError",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "QuotaExhausted",
    "Unauthenticated",
]
