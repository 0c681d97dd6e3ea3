"""Many new datasets in a few statements: the harvest fast path.

A harvest of a large source is mostly new or unchanged datasets. Unchanged ones are
recognised by their content hash with one query per batch; new ones are inserted with one
multi-row statement per table (datasets, resources, fields, zones, revisions, outbox),
with the same rows, derived values and revision the one-by-one path writes. Everything
else — changed, withdrawn, refused — takes the one-by-one path (`Datasets.upsert`), and
a batch the database refuses is retried that way so the bad record is isolated.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.grading import suggest
from schemas.quality import assess

from ..db import utcnow
from ..models import (
    CatalogEvent,
    DataField,
    Dataset,
    Organization,
    Resource,
    Revision,
    Zone,
    dataset_zones,
)
from .datasets import Datasets
from .documents import DATASET_SCALARS, FIELD_COLUMNS, RESOURCE_COLUMNS, content_hash

# (outcome, errors) per document, in order; errors None unless the outcome is "failed".
Result = tuple[str, dict[str, Any] | None]
OneByOne = Callable[[dict[str, Any]], Result]


class DatasetBatches:
    """Upserts validated dataset documents (the pipeline's output, checked against the same
    grade policy) for one harvest source, a batch at a time."""

    def __init__(self, datasets: Datasets, harvest_source_id: int | None, one_by_one: OneByOne):
        self.datasets = datasets
        self.session: Session = datasets.session
        self.source_id = harvest_source_id
        self.one_by_one = one_by_one
        self._publishers: dict[str, str] = {}
        self._zones: set[str] = set()

    def upsert(self, documents: list[dict[str, Any]]) -> list[Result]:
        names = [d["name"] for d in documents]
        existing = {
            row.name: row
            for row in self.session.execute(
                select(
                    Dataset.name, Dataset.content_hash, Dataset.state, Dataset.harvest_source_id
                ).where(Dataset.name.in_(names))
            )
        }
        self._learn_references(documents)
        results: list[Result | None] = [None] * len(documents)
        fresh: list[int] = []
        fresh_names: set[str] = set()
        for i, doc in enumerate(documents):
            row = existing.get(doc["name"])
            if row is None and self._insertable(doc) and doc["name"] not in fresh_names:
                fresh.append(i)
                fresh_names.add(doc["name"])
            elif (
                row is not None
                and row.harvest_source_id == self.source_id
                and row.state == "active"
                and row.content_hash == content_hash(doc)
            ):
                results[i] = ("unchanged", None)
            else:
                results[i] = self.one_by_one(doc)
        if fresh:
            for i, result in zip(fresh, self._insert([documents[i] for i in fresh]), strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    def _learn_references(self, documents: list[dict[str, Any]]) -> None:
        wanted = {d["publisher"] for d in documents} - set(self._publishers)
        if wanted:
            rows = self.session.execute(
                select(Organization.name, Organization.id).where(Organization.name.in_(wanted))
            )
            self._publishers.update({name: org_id for name, org_id in rows})
        zones = {z for d in documents for z in d.get("zones", [])} - self._zones
        if zones:
            self._zones.update(self.session.scalars(select(Zone.code).where(Zone.code.in_(zones))))

    def _insertable(self, doc: dict[str, Any]) -> bool:
        """References resolve; otherwise the one-by-one path reports the field error."""
        return doc["publisher"] in self._publishers and set(doc.get("zones", [])) <= self._zones

    def _insert(self, documents: list[dict[str, Any]]) -> list[Result]:
        rows = _Rows(self.datasets.actor, self.source_id)
        for doc in documents:
            rows.add(doc, self._publishers[doc["publisher"]], self.datasets.policy)
        savepoint = self.session.begin_nested()
        try:
            rows.execute(self.session)
        except IntegrityError:
            savepoint.rollback()
            return [self.one_by_one(doc) for doc in documents]
        savepoint.commit()
        return [("added", None)] * len(documents)


class _Rows:
    """The rows of new datasets, table by table, as the one-by-one path would write them."""

    def __init__(self, actor: str, source_id: int | None) -> None:
        self.actor, self.source_id = actor, source_id
        self.now = utcnow()
        self.datasets: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self.fields: list[dict[str, Any]] = []
        self.zones: list[dict[str, Any]] = []
        self.revisions: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def add(self, doc: dict[str, Any], publisher_id: str, policy: Any) -> None:
        dataset_id = str(uuid.uuid4())
        resources = [
            {**r, "id": r.get("id") or str(uuid.uuid4())} for r in doc.get("resources", [])
        ]
        document = {**doc, "resources": resources}
        assessment = assess(document)
        row = {column: document.get(column) for column in DATASET_SCALARS}
        for column in ("issued", "modified"):
            if row[column]:
                row[column] = date.fromisoformat(row[column])
        row.update(
            id=dataset_id,
            state="active",
            content_hash=content_hash(document),
            publisher_id=publisher_id,
            formats=list(doc.get("formats", [])),
            keywords=list(doc.get("keywords", [])),
            extras=dict(doc.get("extras", {})),
            popularity=0,
            quality_score=assessment.score,
            quality=assessment.as_dict(),
            suggestion=suggest(document, policy).as_dict(),
            harvest_source_id=self.source_id,
            created_at=self.now,
            updated_at=self.now,
        )
        self.datasets.append(row)
        for position, resource in enumerate(resources):
            self.resources.append(
                {
                    "dataset_id": dataset_id,
                    "position": position,
                    **{c: resource.get(c) for c in RESOURCE_COLUMNS},
                }
            )
        for position, item in enumerate(doc.get("fields", [])):
            self.fields.append(
                {
                    "dataset_id": dataset_id,
                    "position": position,
                    **{c: item.get(c) for c in FIELD_COLUMNS},
                }
            )
        self.zones += [{"dataset_id": dataset_id, "zone_code": z} for z in doc.get("zones", [])]
        snapshot = {"state": "active", **document}
        self.revisions.append(
            {
                "entity_type": "dataset",
                "entity_id": dataset_id,
                "number": 1,
                "action": "create",
                "actor": self.actor,
                "at": self.now,
                "message": None,
                "changes": {},  # as for every creation: the snapshot says it all
                "snapshot": snapshot,
            }
        )
        self.events.append(
            {"entity_type": "dataset", "entity_id": dataset_id, "action": "create", "at": self.now}
        )

    def execute(self, session: Session) -> None:
        # Core inserts, one executemany per table: the ORM's per-row bookkeeping is the
        # cost this path exists to avoid.
        for table, rows in (
            (Dataset.__table__, self.datasets),
            (Resource.__table__, self.resources),
            (DataField.__table__, self.fields),
            (dataset_zones, self.zones),
            (Revision.__table__, self.revisions),
            (CatalogEvent.__table__, self.events),
        ):
            if rows:
                session.execute(insert(table), rows)
