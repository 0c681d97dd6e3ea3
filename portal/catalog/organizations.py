"""Departments (数据开放主体): create, update and upsert, each with a revision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import OrganizationSchema, message

from ..db import utcnow
from ..models import Organization
from . import revisions
from .documents import ORGANIZATION_COLUMNS, organization_document
from .errors import Conflict, Invalid, NotFound

ENTITY = "organization"


@dataclass
class Organizations:
    session: Session
    actor: str

    def get(self, name: str) -> Organization:
        organization = self.find(name)
        if organization is None:
            raise NotFound.entity("机构", "organization", name)
        return organization

    def find(self, name: str) -> Organization | None:
        return self.session.scalar(select(Organization).where(Organization.name == name))

    def all(self) -> list[Organization]:
        return list(self.session.scalars(select(Organization).order_by(Organization.name)))

    def create(self, data: dict[str, Any]) -> Organization:
        loaded = validate(data)
        if self.find(loaded["name"]) is not None:
            raise Conflict.field(
                "name",
                message(
                    f"机构标识「{loaded['name']}」已被使用",
                    f"The organization name {loaded['name']!r} is taken.",
                ),
            )
        organization = Organization()
        self._write(organization, loaded, "create")
        return organization

    def update(self, name: str, data: dict[str, Any]) -> Organization:
        organization = self.get(name)
        loaded = validate({**data, "name": name})
        self._write(organization, loaded, "update")
        return organization

    def upsert(self, data: dict[str, Any]) -> tuple[str, Organization]:
        loaded = validate(data)
        organization = self.find(loaded["name"])
        if organization is None:
            return "added", self.create(loaded)
        changed = self._write(organization, loaded, "update")
        return ("updated" if changed else "unchanged"), organization

    def _write(self, organization: Organization, loaded: dict[str, Any], action: str) -> bool:
        previous = organization_document(organization) if organization.name else None
        if previous == loaded:
            return False
        uscc = loaded.get("uscc")
        if uscc:
            holder = self.session.scalar(select(Organization).where(Organization.uscc == uscc))
            if holder is not None and holder is not organization:
                raise Conflict.field(
                    "uscc",
                    message(
                        f"统一社会信用代码已属于机构「{holder.name}」",
                        f"The unified social credit code belongs to {holder.name!r} already.",
                    ),
                )
        for column in ORGANIZATION_COLUMNS:
            setattr(organization, column, loaded.get(column))
        organization.updated_at = utcnow()
        self.session.add(organization)
        self.session.flush()
        revisions.record(
            self.session,
            entity_type=ENTITY,
            entity_id=organization.id,
            action=action,
            actor=self.actor,
            snapshot=organization_document(organization),
            previous=previous,
        )
        return True


def validate(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return OrganizationSchema().load({k: v for k, v in data.items() if v is not None})
    except ValidationError as error:
        raise Invalid(error.messages) from error
