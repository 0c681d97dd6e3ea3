"""Dataset writes: create, update, withdraw, restore, revert, and upsert for harvests.

Each method validates through the profile, writes rows, a revision and an outbox event in
the caller's transaction, and raises `CatalogError` (with field messages) instead of
writing anything half-way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from schemas import GradePolicy, dataset_schema, message
from schemas.grading import suggest
from schemas.quality import assess

from ..db import utcnow
from ..models import Dataset, Organization, Resource, Zone
from . import revisions
from .documents import apply_dataset, content_hash, dataset_document
from .errors import Conflict, Invalid, NotFound

Outcome = Literal["added", "updated", "unchanged", "restored"]
ENTITY = "dataset"


@dataclass
class Datasets:
    session: Session
    actor: str
    policy: GradePolicy

    # -- reads -----------------------------------------------------------------------------
    def get(self, name: str) -> Dataset:
        dataset = self.session.scalar(
            select(Dataset)
            .where(Dataset.name == name)
            .options(
                selectinload(Dataset.resources),
                selectinload(Dataset.fields),
                selectinload(Dataset.zones),
            )
        )
        if dataset is None:
            raise NotFound.entity("数据集", "dataset", name)
        return dataset

    def find(self, name: str) -> Dataset | None:
        return self.session.scalar(select(Dataset).where(Dataset.name == name))

    def document(self, name: str) -> dict[str, Any]:
        return dataset_document(self.get(name))

    def history(self, name: str) -> list[revisions.Revision]:
        return revisions.history(self.session, ENTITY, self.get(name).id)

    # -- writes ----------------------------------------------------------------------------
    def create(self, data: dict[str, Any], *, message_text: str | None = None) -> Dataset:
        return self._create(self.validate(data), message_text)

    def update(
        self, name: str, data: dict[str, Any], *, message_text: str | None = None
    ) -> Dataset:
        """Replace a dataset's content with `data` (a whole document; the name may change)."""
        dataset = self.get(name)
        self._update(dataset, self.validate(data), "update", message_text)
        return dataset

    def withdraw(self, name: str, *, reason: str | None = None) -> Dataset:
        """Take a dataset out of the catalog; it stays stored and can be restored."""
        return self._set_state(self.get(name), "withdrawn", "withdraw", reason)

    def restore(self, name: str, *, reason: str | None = None) -> Dataset:
        return self._set_state(self.get(name), "active", "restore", reason)

    def revert(self, name: str, number: int, *, message_text: str | None = None) -> Dataset:
        """Make revision `number`'s content current again, as a new revision."""
        dataset = self.get(name)
        target = next((r for r in self.history(name) if r.number == number), None)
        if target is None:
            raise NotFound.entity("修订版本", "revision", f"{name}#{number}")
        content = {k: v for k, v in target.snapshot.items() if k != "state"}
        text = message_text or f"reverted to revision {number}"
        self._update(dataset, self.validate(content), "revert", text)
        return dataset

    def upsert(
        self, data: dict[str, Any], *, harvest_source_id: int | None = None
    ) -> tuple[Outcome, Dataset]:
        """Create or update by name; an identical record changes nothing (for harvests).

        A withdrawn dataset that comes back is restored. A harvest may only update the
        datasets it brought itself: a name taken by another source, or by a dataset
        registered by hand, is a conflict.
        """
        loaded = self.validate(data)
        dataset = self.find(loaded["name"])
        if dataset is None:
            dataset = self._create(loaded, None)
            dataset.harvest_source_id = harvest_source_id
            return "added", dataset
        if dataset.harvest_source_id != harvest_source_id:
            raise Conflict.field(
                "name",
                message(
                    f"数据集标识「{dataset.name}」已属于其他来源或手工登记的数据集",
                    f"The dataset name {dataset.name!r} belongs to another source "
                    "or to a dataset registered by hand.",
                ),
            )
        changed = self._update(dataset, loaded, "update", None)
        if dataset.state != "active":
            self._set_state(dataset, "active", "restore", "reappeared in its source")
            return "restored", dataset
        return ("updated" if changed else "unchanged"), dataset

    def _create(self, loaded: dict[str, Any], text: str | None) -> Dataset:
        self._ensure_name_free(loaded["name"])
        dataset = Dataset(state="active", content_hash="", resources=[], fields=[])
        self._write(dataset, loaded)  # adds it to the session once its references check out
        self._record(dataset, "create", None, text)
        return dataset

    def _update(
        self, dataset: Dataset, loaded: dict[str, Any], action: str, text: str | None
    ) -> bool:
        """Write `loaded` over `dataset`; False (and nothing written) when the content is equal."""
        if content_hash(self._dump(loaded)) == dataset.content_hash:
            return False
        if loaded["name"] != dataset.name:
            self._ensure_name_free(loaded["name"])
        previous = self._snapshot(dataset)
        self._write(dataset, loaded)
        self._record(dataset, action, previous, text)
        return True

    # -- helpers ---------------------------------------------------------------------------
    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return dataset_schema(self.policy).load(_without_nulls(data))
        except ValidationError as error:
            raise Invalid(error.messages) from error

    def _dump(self, loaded: dict[str, Any]) -> dict[str, Any]:
        return dataset_schema(self.policy).dump(loaded)

    def _write(self, dataset: Dataset, loaded: dict[str, Any]) -> None:
        with self.session.no_autoflush:
            self._write_rows(dataset, loaded)
        # Only now: a refused new dataset must not sit in a session its caller commits
        # (the API commits the audit entries of a refused request).
        self.session.add(dataset)
        self.session.flush()  # gives new resources their ids before the document is taken
        self.derive(dataset)

    def derive(self, dataset: Dataset) -> None:
        """What follows from a dataset's content: its hash, quality score and grading
        suggestion. Called after every write of the content."""
        document = dataset_document(dataset)
        dataset.content_hash = content_hash(document)
        assessment = assess(document)
        dataset.quality_score, dataset.quality = assessment.score, assessment.as_dict()
        dataset.suggestion = suggest(document, self.policy).as_dict()

    def _write_rows(self, dataset: Dataset, loaded: dict[str, Any]) -> None:
        publisher = self.session.scalar(
            select(Organization).where(Organization.name == loaded["publisher"])
        )
        if publisher is None:
            raise Invalid(
                {
                    "publisher": [
                        message(
                            f"找不到数据提供方「{loaded['publisher']}」",
                            f"No organization {loaded['publisher']!r}.",
                        )
                    ]
                }
            )
        zones = list(self.session.scalars(select(Zone).where(Zone.code.in_(loaded["zones"]))))
        missing = sorted(set(loaded["zones"]) - {z.code for z in zones})
        if missing:
            raise Invalid(
                {
                    "zones": [
                        message(
                            f"专区尚未建立：{'、'.join(missing)}",
                            f"Zones not set up yet: {', '.join(missing)}.",
                        )
                    ]
                }
            )
        self._ensure_resource_ids_free(dataset, loaded)
        apply_dataset(dataset, loaded)
        dataset.publisher = publisher
        dataset.zones = sorted(zones, key=lambda z: z.code)
        dataset.updated_at = utcnow()

    def _ensure_name_free(self, name: str) -> None:
        if self.find(name) is not None:
            raise Conflict.field(
                "name",
                message(f"数据集标识「{name}」已被使用", f"The dataset name {name!r} is taken."),
            )

    def _ensure_resource_ids_free(self, dataset: Dataset, loaded: dict[str, Any]) -> None:
        """A document may name its resources' ids (an update keeps them); an id of another
        dataset's resource is a conflict, not a write the database refuses."""
        given = {r["id"] for r in loaded.get("resources", []) if r.get("id")}
        foreign = given - {r.id for r in dataset.resources}
        if not foreign:
            return
        taken = sorted(self.session.scalars(select(Resource.id).where(Resource.id.in_(foreign))))
        if taken:
            raise Conflict.field(
                "resources",
                message(
                    f"资源标识已被其他数据集使用：{'、'.join(taken)}",
                    f"Resource ids used by another dataset: {', '.join(taken)}.",
                ),
            )

    def _set_state(self, dataset: Dataset, state: str, action: str, reason: str | None) -> Dataset:
        if dataset.state == state:
            return dataset
        previous = self._snapshot(dataset)
        dataset.state = state
        dataset.updated_at = utcnow()
        self._record(dataset, action, previous, reason)
        return dataset

    def _snapshot(self, dataset: Dataset) -> dict[str, Any]:
        return {"state": dataset.state, **dataset_document(dataset)}

    def _record(
        self, dataset: Dataset, action: str, previous: dict[str, Any] | None, text: str | None
    ) -> None:
        self.session.flush()
        revisions.record(
            self.session,
            entity_type=ENTITY,
            entity_id=dataset.id,
            action=action,
            actor=self.actor,
            snapshot=self._snapshot(dataset),
            previous=previous,
            message=text,
        )


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    """Clients often send null for 'not given'; treat it so (top level only)."""
    return {key: value for key, value in data.items() if value is not None}
