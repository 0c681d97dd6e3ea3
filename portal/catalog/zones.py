"""专区 and their scenarios: create, update and upsert, each with a revision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from schemas import ZoneSchema, message

from ..db import utcnow
from ..models import Dataset, Scenario, Zone, dataset_zones
from ..visibility import Viewer, findable
from . import revisions
from .documents import SCENARIO_COLUMNS, ZONE_COLUMNS, zone_document
from .errors import Conflict, Invalid, NotFound

ENTITY = "zone"


@dataclass
class Zones:
    session: Session
    actor: str

    def get(self, code: str) -> Zone:
        zone = self.find(code)
        if zone is None:
            raise NotFound.entity("专区", "zone", code)
        return zone

    def find(self, code: str) -> Zone | None:
        return self.session.scalar(
            select(Zone).where(Zone.code == code).options(selectinload(Zone.scenarios))
        )

    def all(self) -> list[Zone]:
        return list(
            self.session.scalars(
                select(Zone).order_by(Zone.code).options(selectinload(Zone.scenarios))
            )
        )

    def dataset_counts(self, viewer: Viewer) -> dict[str, int]:
        """Datasets per zone code that `viewer` may find."""
        rows = self.session.execute(
            select(dataset_zones.c.zone_code, func.count())
            .join(Dataset, Dataset.id == dataset_zones.c.dataset_id)
            .where(findable(viewer))
            .group_by(dataset_zones.c.zone_code)
        )
        return {code: count for code, count in rows}

    def create(self, data: dict[str, Any]) -> Zone:
        loaded = validate(data)
        if self.find(loaded["code"]) is not None:
            raise Conflict.field(
                "code",
                message(f"专区「{loaded['code']}」已存在", f"Zone {loaded['code']!r} exists."),
            )
        zone = Zone(scenarios=[])
        self._write(zone, loaded, "create")
        return zone

    def update(self, code: str, data: dict[str, Any]) -> Zone:
        zone = self.get(code)
        self._write(zone, validate({**data, "code": code}), "update")
        return zone

    def upsert(self, data: dict[str, Any]) -> tuple[str, Zone]:
        loaded = validate(data)
        zone = self.find(loaded["code"])
        if zone is None:
            return "added", self.create(loaded)
        changed = self._write(zone, loaded, "update")
        return ("updated" if changed else "unchanged"), zone

    def _write(self, zone: Zone, loaded: dict[str, Any], action: str) -> bool:
        previous = zone_document(zone) if zone.code else None
        if previous == loaded:
            return False
        for column in ZONE_COLUMNS:
            setattr(zone, column, loaded.get(column))
        existing = {s.code: s for s in zone.scenarios}
        scenarios = []
        for position, item in enumerate(loaded["scenarios"]):
            scenario = existing.get(item["code"]) or Scenario()
            for column in SCENARIO_COLUMNS:
                setattr(scenario, column, item.get(column))
            scenario.position = position
            scenarios.append(scenario)
        zone.scenarios = scenarios
        zone.updated_at = utcnow()
        self.session.add(zone)
        self.session.flush()
        revisions.record(
            self.session,
            entity_type=ENTITY,
            entity_id=zone.code,
            action=action,
            actor=self.actor,
            snapshot=zone_document(zone),
            previous=previous,
        )
        return True


def validate(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return ZoneSchema().load({k: v for k, v in data.items() if v is not None})
    except ValidationError as error:
        raise Invalid(error.messages) from error
