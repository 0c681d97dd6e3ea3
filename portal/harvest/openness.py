"""A harvest may not change a dataset's openness or lower its grade on its own, any more
than an officer may (`stewardship.needs_authority`, the one rule).

When a source lists an existing, active dataset as more or less open than the catalog has
it, or at a lower grade (重要 → 一般1级 …), nothing of the harvested record is applied: it
becomes an openness request for the platform authority (the same `OpennessRequest` an
officer's downgrade becomes, with the harvest source instead of a person as requester),
and the record's outcome is `held`. Approved, the held document is applied (see
`Stewardship.decide`) and the next run finds the dataset unchanged; rejected, the next
runs of the same document are held against the rejection, without new requests, until the
source says something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import Message, message, vocab

from ..access.audit import AuditLog
from ..access.stewardship import needs_authority
from ..catalog.documents import content_hash
from ..db import utcnow
from ..models import Dataset, HarvestSource, OpennessRequest

Document = dict[str, Any]


@dataclass
class OpennessHolds:
    """Decides, record by record, whether a harvested dataset document is held."""

    session: Session
    audit: AuditLog
    actor: str  # the run's actor, e.g. harvest:<source name>
    source_id: int | None
    dry_run: bool = False

    def __post_init__(self) -> None:
        source = self.session.get(HarvestSource, self.source_id) if self.source_id else None
        self.source_name = source.name if source else None
        kind, _, number = self.actor.partition(":")
        # An officer's spreadsheet upload runs as the officer: the request is theirs.
        self.requested_by = int(number) if kind == "user" and number.isdigit() else None

    def hold(self, data: Document) -> Message | None:
        """None when the document may be stored as usual; else why it is held (the note
        of its `held` outcome). Writes the request (and its audit entry) unless a dry run."""
        target = vocab("open_types").resolve(data.get("open_type"))
        grade = vocab("grades").resolve(data.get("grade"))
        dataset = self.session.scalar(select(Dataset).where(Dataset.name == data.get("name")))
        if (
            target is None
            or dataset is None
            or dataset.state != "active"
            or dataset.harvest_source_id != self.source_id  # upsert refuses it anyway
            or not needs_authority(dataset, target, grade)
        ):
            return None
        latest = self.session.scalar(
            select(OpennessRequest)
            .where(OpennessRequest.dataset_id == dataset.id)
            .order_by(OpennessRequest.id.desc())
            .limit(1)
        )
        if latest is not None and latest.state == "pending":
            if (
                not self.dry_run
                and latest.harvest_source_id == self.source_id
                and latest.requested_by == self.requested_by
                and _differs(latest.changes, data)
            ):
                latest.changes = dict(data)  # the authority decides on the newest document
                latest.to_open_type = target
                self.session.flush()
            return _waiting(latest.id)
        if (
            latest is not None
            and latest.state == "rejected"
            and latest.harvest_source_id == self.source_id
            and latest.to_open_type == target
            and not _differs(latest.changes, data)
        ):
            return message(
                f"开放主管部门已驳回该降低开放属性的变更（#{latest.id}），数据集保持不变",
                f"The authority rejected this openness downgrade (#{latest.id}); "
                "the dataset is kept as it is.",
            )
        if self.dry_run:
            return message(
                "开放属性或分级的变更将提交开放主管部门审批",
                "The change of openness or grade would wait for the authority.",
            )
        request = self._request(dataset, target, data)
        return _waiting(request.id)

    def _request(self, dataset: Dataset, target: str, data: Document) -> OpennessRequest:
        zh, en = vocab("open_types").label(target, "zh"), vocab("open_types").label(target, "en")
        if self.source_name is not None:
            reason = (
                f"采集来源 {self.source_name} 将该数据集列为「{zh}」"
                f" / harvest source {self.source_name} lists the dataset as {en}"
            )
        else:
            reason = f"上传的目录表将该数据集列为「{zh}」 / the uploaded catalog lists it as {en}"
        request = OpennessRequest(
            dataset_id=dataset.id,
            from_open_type=dataset.open_type,
            to_open_type=target,
            changes=dict(data),
            reason=reason,
            requested_by=self.requested_by,
            harvest_source_id=self.source_id,
            requested_at=utcnow(),
            state="pending",
        )
        self.session.add(request)
        self.session.flush()
        self.audit.append(
            "openness.request",
            actor=self.actor,
            subject=f"dataset:{dataset.name}",
            request=request.id,
            before=dataset.open_type,
            after=target,
            harvest_source=self.source_name,
        )
        return request


def _differs(stored: object, data: Document) -> bool:
    if not isinstance(stored, dict):
        return True
    return content_hash(stored) != content_hash(data)


def _waiting(request_id: int) -> Message:
    return message(
        f"降低开放属性的变更等待开放主管部门审批（#{request_id}）",
        f"The openness downgrade waits for the authority (#{request_id}).",
    )
