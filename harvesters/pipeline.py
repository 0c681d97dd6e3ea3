"""The pipeline between a harvester and the catalog: validate each record, never stop on one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError

from schemas import (
    GradePolicy,
    OrganizationSchema,
    ZoneSchema,
    dataset_schema,
    load_policy,
    message,
)

from .base import RecordKind, SourceRecord


@dataclass(frozen=True)
class Validated:
    """A record that passed the profile, in document form (JSON-ready)."""

    kind: RecordKind
    data: dict[str, Any]
    location: str


@dataclass(frozen=True)
class Failed:
    """A record that did not: the profile's field errors and where the record came from."""

    kind: RecordKind
    errors: dict[str, Any]
    location: str


@dataclass
class Pipeline:
    policy: GradePolicy = field(default_factory=load_policy)
    stats: Counter[str] = field(default_factory=Counter)

    def schema(self, kind: RecordKind) -> Schema:
        if kind == "dataset":
            return dataset_schema(self.policy)
        return {"organization": OrganizationSchema, "zone": ZoneSchema}[kind]()

    def process(self, records: Iterable[SourceRecord]) -> Iterator[Validated | Failed]:
        first_seen: dict[tuple[str, str], str] = {}  # (kind, key) → location
        for record in records:
            schema = self.schema(record.kind)
            try:
                loaded = schema.load(record.data)
            except ValidationError as error:
                self.stats[f"{record.kind}.failed"] += 1
                yield Failed(record.kind, error.messages, record.location)
                continue
            key_field = KEY_FIELDS[record.kind]
            identity = (record.kind, loaded[key_field])
            if identity in first_seen:
                # A source that names one dataset twice would make the second silently win.
                self.stats[f"{record.kind}.failed"] += 1
                yield Failed(
                    record.kind, _repeated(key_field, first_seen[identity]), record.location
                )
                continue
            first_seen[identity] = record.location
            self.stats[f"{record.kind}.valid"] += 1
            yield Validated(record.kind, schema.dump(loaded), record.location)


KEY_FIELDS: dict[str, str] = {"organization": "name", "zone": "code", "dataset": "name"}


def _repeated(key_field: str, where: str) -> dict[str, Any]:
    return {
        key_field: [
            message(
                f"与本来源中前面的记录重复（{where}）",
                f"Repeats an earlier record of this source ({where}).",
            )
        ]
    }
