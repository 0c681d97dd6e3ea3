"""A department's officers edit their own catalog; making a dataset less open waits for
the platform authority.

Shandong's and Qingdao's rules: open by default, closed as the exception, and a
department may not make data *less* open (无条件 → 有条件 / 不予, 有条件 → 不予) on its
own. Such an update is held as an openness request; the authority approves it (and
it is applied) or rejects it. Grade and openness changes go to the audit log.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import GradePolicy, message, vocab

from ..catalog import Catalog
from ..catalog.documents import dataset_document
from ..catalog.errors import Conflict, Forbidden, Invalid, NotFound
from ..db import utcnow
from ..models import Dataset, OpennessRequest, Organization, User
from ..visibility import may_read, viewer_of
from . import rights
from .audit import AuditLog
from .files import FileStore

OPENNESS = ("unconditional", "conditional", "closed")  # most open first
GRADES = ("general1", "general2", "general3", "general4", "important", "core")  # least first


def is_downgrade(before: str, after: str) -> bool:
    """Less open (无条件 → 有条件 / 不予, 有条件 → 不予)."""
    return OPENNESS.index(after) > OPENNESS.index(before)


def is_widening(before: str, after: str) -> bool:
    """More open (不予 → 有条件 / 无条件, 有条件 → 无条件): data reaches more people."""
    return OPENNESS.index(after) < OPENNESS.index(before)


def is_grade_lowered(before: str, after: str) -> bool:
    """A less protective grade (重要 → 一般1级 …), which lets the data be opened wider."""
    if before not in GRADES or after not in GRADES:
        return False
    return GRADES.index(after) < GRADES.index(before)


def needs_authority(dataset: Dataset, open_type: str | None, grade: str | None) -> bool:
    """The one rule for a change of classification by a department (an edit on any route,
    an import, a harvest): any change of openness, and a lowered grade, wait for the
    platform authority; the dataset keeps its grade and openness until it approves. A
    stricter grade applies at once."""
    opened = open_type is not None and open_type != dataset.open_type
    lowered = grade is not None and is_grade_lowered(dataset.grade, grade)
    return opened or lowered


def requester(request: OpennessRequest) -> str:
    """Who asked, as the audit log names actors: an officer, or the harvest source whose
    record would have made the dataset less open."""
    if request.requested_by is not None:
        return f"user:{request.requested_by}"
    source = request.harvest_source
    return f"harvest:{source.name if source else request.harvest_source_id}"


@dataclass
class Stewardship:
    session: Session
    audit: AuditLog
    policy: GradePolicy
    files: FileStore | None = None

    def _catalog(self, user: User) -> Catalog:
        return Catalog(self.session, f"user:{user.id}", self.policy)

    def create(self, user: User, data: dict[str, Any], *, ip: str | None = None) -> Dataset:
        """A new dataset of the officer's own department."""
        publisher = self.session.get(Organization, user.organization_id or "")
        if not rights.allowed(user, "dataset.create") or publisher is None:
            raise Forbidden.because(
                "只有部门数据官可以登记数据集", "Only a department's officers register datasets."
            )
        if (data.get("publisher") or publisher.name) != publisher.name:
            raise Invalid(
                {
                    "publisher": [
                        message(
                            "只能登记本部门的数据集", "Register your department's datasets only."
                        )
                    ]
                }
            )
        dataset = self._catalog(user).datasets.create({**data, "publisher": publisher.name})
        self.audit.append(
            "dataset.create",
            actor=f"user:{user.id}",
            subject=f"dataset:{dataset.name}",
            ip=ip,
            grade=dataset.grade,
            open_type=dataset.open_type,
        )
        return dataset

    def managed(self, user: User, name: str, action: str) -> Dataset:
        """The dataset `user` may do `action` on. One the user may not even read is not
        found, exactly as a name that does not exist (never a 403 that confirms it)."""
        dataset = self._catalog(user).datasets.find(name)
        if dataset is None or not may_read(viewer_of(user), dataset):
            raise NotFound.entity("数据集", "dataset", name)
        rights.require(user, action, dataset)
        return dataset

    def update(
        self,
        user: User,
        name: str,
        data: dict[str, Any],
        *,
        reason: str | None = None,
        ip: str | None = None,
    ) -> Dataset | OpennessRequest:
        """The dataset, updated; or, for a downgrade of openness, the request that now
        waits for the authority (nothing of the update is applied before)."""
        catalog = self._catalog(user)
        dataset = self.managed(user, name, "dataset.manage")
        loaded = catalog.datasets.validate(data)
        if loaded["publisher"] != dataset.publisher.name:
            raise Invalid(
                {
                    "publisher": [
                        message("不能转给其他部门", "Cannot move it to another department.")
                    ]
                }
            )
        if needs_authority(dataset, loaded["open_type"], loaded["grade"]):
            return self._request(user, dataset, data, reason, ip)
        return self._apply(catalog, dataset, data, f"user:{user.id}", ip)

    def _request(
        self,
        user: User,
        dataset: Dataset,
        data: dict[str, Any],
        reason: str | None,
        ip: str | None,
    ) -> OpennessRequest:
        target = vocab("open_types").resolve(data["open_type"]) or data["open_type"]
        grade = vocab("grades").resolve(data.get("grade")) or data.get("grade")
        less_open = is_downgrade(dataset.open_type, target)
        if less_open and not (reason or "").strip():
            raise Invalid(
                {
                    "reason": [
                        message(
                            "降低开放程度须说明理由，并经开放主管部门批准",
                            "Making data less open needs a reason and the authority's approval.",
                        )
                    ]
                }
            )
        pending = self.session.scalar(
            select(OpennessRequest).where(
                OpennessRequest.dataset_id == dataset.id, OpennessRequest.state == "pending"
            )
        )
        if pending is not None:
            raise Conflict.field(
                "open_type",
                message(
                    f"该数据集已有待批准的开放属性变更（#{pending.id}）",
                    f"This dataset already has an openness change waiting (#{pending.id}).",
                ),
            )
        if not (reason or "").strip():
            reason = _classification_note(dataset, target, grade)
        request = OpennessRequest(
            dataset_id=dataset.id,
            from_open_type=dataset.open_type,
            to_open_type=target,
            changes=data,
            reason=reason.strip() if reason else "",
            requested_by=user.id,
            requested_at=utcnow(),
            state="pending",
        )
        self.session.add(request)
        self.session.flush()
        self.audit.append(
            "openness.request",
            actor=f"user:{user.id}",
            subject=f"dataset:{dataset.name}",
            ip=ip,
            request=request.id,
            before=dataset.open_type,
            after=target,
            grade=[dataset.grade, grade],
        )
        return request

    def pending(self, user: User) -> list[OpennessRequest]:
        rights.require(user, "openness.decide")
        query = select(OpennessRequest).where(OpennessRequest.state == "pending")
        return list(self.session.scalars(query.order_by(OpennessRequest.id)))

    def waiting_on(self, dataset_ids: Collection[str]) -> dict[str, OpennessRequest]:
        """The pending request of each of these datasets that has one, by dataset id (the
        department's own page shows them: no right of the authority's needed)."""
        query = select(OpennessRequest).where(
            OpennessRequest.state == "pending", OpennessRequest.dataset_id.in_(dataset_ids)
        )
        return {r.dataset_id: r for r in self.session.scalars(query)}

    def decide(
        self,
        user: User,
        request_id: int,
        approve: bool,
        reason: str | None = None,
        *,
        ip: str | None = None,
    ) -> OpennessRequest:
        rights.require(user, "openness.decide")
        request = self.session.get(OpennessRequest, request_id)
        if request is None:
            raise NotFound.entity("开放属性变更申请", "openness request", str(request_id))
        if request.state != "pending":
            raise Conflict.field(
                "state", message("该申请已处理", "This request was already decided.")
            )
        if not approve and not (reason or "").strip():
            raise Invalid({"reason": [message("驳回须说明理由", "Give a reason to reject.")]})
        request.state = "approved" if approve else "rejected"
        request.decided_by, request.decided_at, request.decision_reason = user.id, utcnow(), reason
        self.audit.append(
            f"openness.{request.state}",
            actor=f"user:{user.id}",
            subject=f"dataset:{request.dataset.name}",
            ip=ip,
            request=request.id,
            reason=reason,
            requester=requester(request),
        )
        if approve:
            actor = f"{requester(request)} approved-by:user:{user.id}"
            catalog = Catalog(self.session, actor, self.policy)
            self._apply(catalog, request.dataset, request.changes, actor, ip)
        return request

    def _apply(
        self,
        catalog: Catalog,
        dataset: Dataset,
        data: dict[str, Any],
        actor: str,
        ip: str | None,
    ) -> Dataset:
        before = (dataset.grade, dataset.open_type)
        document = dataset_document(dataset)
        kept_files = {r.file_key for r in dataset.resources if r.file_key}
        updated = catalog.datasets.update(dataset.name, data)
        # A resource the update removed takes its stored file out of service with it.
        for key in kept_files - {r.file_key for r in updated.resources}:
            if self.files is not None:
                self.files.quarantine(key)
        after = (updated.grade, updated.open_type)
        changed = dataset_document(updated)
        if changed != document:
            self.audit.append(
                "dataset.update",
                actor=actor,
                subject=f"dataset:{updated.name}",
                ip=ip,
                fields=sorted(
                    k for k in {*document, *changed} if document.get(k) != changed.get(k)
                ),
                resource_urls=_url_changes(document, changed),
            )
        if after != before:
            self.audit.append(
                "dataset.classification",
                actor=actor,
                subject=f"dataset:{updated.name}",
                ip=ip,
                grade=[before[0], after[0]],
                open_type=[before[1], after[1]],
            )
        return updated


def _url_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources whose URL an update set, changed or removed: where the proxy fetches
    from, and what the public may be sent to, so each change is named in the log."""

    def urls(document: dict[str, Any]) -> dict[str, str | None]:
        return {
            str(r.get("id") or r.get("name")): r.get("url") for r in document.get("resources", [])
        }

    old, new = urls(before), urls(after)
    return [
        {"resource": key, "old": old.get(key), "new": new.get(key)}
        for key in sorted({*old, *new})
        if old.get(key) != new.get(key)
    ][:100]


def _classification_note(dataset: Dataset, open_type: str, grade: str | None) -> str:
    """What a request without a reason given asks for, in both languages."""
    opens, grades = vocab("open_types"), vocab("grades")
    parts_zh, parts_en = [], []
    if open_type != dataset.open_type:
        parts_zh.append(
            f"开放属性 {opens.label(dataset.open_type, 'zh')} → {opens.label(open_type, 'zh')}"
        )
        parts_en.append(f"openness {dataset.open_type} → {open_type}")
    if grade and grade != dataset.grade:
        parts_zh.append(f"分级 {grades.label(dataset.grade, 'zh')} → {grades.label(grade, 'zh')}")
        parts_en.append(f"grade {dataset.grade} → {grade}")
    return f"{'；'.join(parts_zh)} / {'; '.join(parts_en)}"
