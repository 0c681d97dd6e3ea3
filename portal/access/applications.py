"""Applications for conditional data (申请) and their review.

    submitted ──formality: pass──▶ in_review ──decide: approve──▶ approved (a grant)
        │  └──formality: return / reject──▶ returned / rejected
        │                          └──decide: return / reject──▶ returned / rejected
    returned ──resubmit──▶ submitted;   submitted / in_review / returned ──withdraw──▶ withdrawn

The platform authority checks the form within 5 working days (the due date is stored and
overdue ones are flagged); the publishing department decides the substance and may grant
less than asked. Each transition records who, when and why, and goes to the audit log.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import message
from schemas.access import (
    ApplicationSchema,
    DecisionSchema,
    FormalitySchema,
    ResubmissionSchema,
)

from ..catalog.errors import Conflict, Invalid, NotFound
from ..db import utcnow
from ..models import Application, ApplicationEvent, Dataset, Grant, User
from ..visibility import PUBLIC, may_find
from . import rights
from .audit import AuditLog
from .workdays import add_working_days

FORMALITY_DAYS = 5
REPORT_EVERY = timedelta(days=90)  # a grant holder reports use at least this often
# state → {action: next state}
TRANSITIONS: dict[str, dict[str, str]] = {
    "submitted": {"pass": "in_review", "return": "returned", "reject": "rejected"},
    "in_review": {"approve": "approved", "return": "returned", "reject": "rejected"},
    "returned": {"resubmit": "submitted"},
}
WITHDRAWABLE = ("submitted", "in_review", "returned")


@dataclass
class Applications:
    session: Session
    audit: AuditLog
    holidays: Collection[date] = ()

    def get(self, user: User, application_id: int) -> Application:
        """One the user may read; any other is answered as absent, so ids tell nothing."""
        application = self.session.get(Application, application_id)
        if application is None or not rights.allowed(user, "application.read", application):
            raise NotFound.entity("申请", "application", str(application_id))
        return application

    def mine(self, user: User) -> list[Application]:
        query = select(Application).where(Application.applicant_id == user.id)
        return list(self.session.scalars(query.order_by(Application.id.desc())))

    def formality_queue(self, user: User) -> list[Application]:
        rights.require(user, "queue.formality")
        query = select(Application).where(Application.state == "submitted")
        return list(self.session.scalars(query.order_by(Application.formality_due)))

    def substantive_queue(self, user: User) -> list[Application]:
        rights.require(user, "queue.substantive")
        query = (
            select(Application)
            .join(Dataset, Application.dataset_id == Dataset.id)
            .where(Application.state == "in_review", Dataset.publisher_id == user.organization_id)
        )
        return list(self.session.scalars(query.order_by(Application.id)))

    def submit(self, user: User, data: dict[str, Any], *, ip: str | None = None) -> Application:
        rights.require(user, "application.submit")
        loaded = load_input(ApplicationSchema(), data)
        dataset = self._conditional_dataset(loaded["dataset"])
        self._check_resources(dataset, loaded["resources"])
        now = utcnow()
        application = Application(
            applicant_id=user.id,
            dataset_id=dataset.id,
            resource_ids=sorted(set(loaded["resources"])),
            purpose=loaded["purpose"],
            scenario=loaded["scenario"],
            term_days=loaded["term_days"],
            quota_calls=loaded["quota_calls"],
            commitment_accepted=True,
            state="submitted",
            submitted_at=now,
            formality_due=add_working_days(now, FORMALITY_DAYS, self.holidays),
            updated_at=now,
        )
        self.session.add(application)
        self.session.flush()
        self._record(application, user, "submit", None, "submitted", None, ip)
        return application

    def formality(
        self, user: User, application_id: int, data: dict[str, Any], *, ip: str | None = None
    ) -> Application:
        """The authority's formality review: pass, return (incomplete) or reject."""
        application = self.get(user, application_id)
        rights.require(user, "application.formality", application)
        loaded = load_input(FormalitySchema(), data)
        self._need_reason(loaded["decision"], loaded["reason"])
        return self._move(application, user, loaded["decision"], loaded["reason"], ip)

    def decide(
        self, user: User, application_id: int, data: dict[str, Any], *, ip: str | None = None
    ) -> Application:
        """The department's substantive review. Approval creates the grant, never more
        than asked: term, quota and resources may only shrink."""
        application = self.get(user, application_id)
        rights.require(user, "application.decide", application)
        loaded = load_input(DecisionSchema(), data)
        decision = loaded["decision"]
        self._need_reason(decision, loaded["reason"])
        if decision != "approve":
            return self._move(application, user, decision, loaded["reason"], ip)
        term = loaded["term_days"] or application.term_days
        quota = loaded["quota_calls"] or application.quota_calls
        resources = sorted(set(loaded["resources"] or application.resource_ids))
        errors: dict[str, Any] = {}
        if term > application.term_days:
            errors["term_days"] = [message("批准期限不能长于申请", "Cannot exceed the term asked.")]
        if quota > application.quota_calls:
            errors["quota_calls"] = [
                message("批准次数不能多于申请", "Cannot exceed the quota asked.")
            ]
        if not set(resources) <= set(application.resource_ids):
            errors["resources"] = [
                message("只能批准所申请的资源", "Only resources that were asked for.")
            ]
        if errors:
            raise Invalid(errors)
        detail = {"term_days": term, "quota_calls": quota, "resources": resources}
        moved = self._move(application, user, "approve", loaded["reason"], ip, detail)
        now = utcnow()
        expires = now + timedelta(days=term)
        grant = Grant(
            application_id=application.id,
            holder_id=application.applicant_id,
            dataset_id=application.dataset_id,
            resource_ids=resources,
            conditions=loaded["conditions"],
            starts_at=now,
            expires_at=expires,
            quota_calls=quota,
            used_calls=0,
            used_bytes=0,
            report_due=min(now + REPORT_EVERY, expires),
        )
        self.session.add(grant)
        self.session.flush()
        self.audit.append(
            "grant.create", actor=f"user:{user.id}", subject=f"grant:{grant.id}", ip=ip, **detail
        )
        return moved

    def withdraw(self, user: User, application_id: int, *, ip: str | None = None) -> Application:
        application = self.get(user, application_id)
        rights.require(user, "application.withdraw", application)
        if application.state not in WITHDRAWABLE:
            raise self._illegal(application, "withdraw")
        return self._set(application, user, "withdraw", "withdrawn", None, ip)

    def resubmit(
        self, user: User, application_id: int, data: dict[str, Any], *, ip: str | None = None
    ) -> Application:
        """A returned application, completed and sent again (a new formality deadline)."""
        application = self.get(user, application_id)
        rights.require(user, "application.resubmit", application)
        if application.state != "returned":
            raise self._illegal(application, "resubmit")
        loaded = load_input(ResubmissionSchema(), data)
        self._check_resources(application.dataset, loaded["resources"])
        for name in ("purpose", "scenario", "term_days", "quota_calls"):
            setattr(application, name, loaded[name])
        application.resource_ids = sorted(set(loaded["resources"]))
        application.formality_due = add_working_days(utcnow(), FORMALITY_DAYS, self.holidays)
        return self._move(application, user, "resubmit", None, ip)

    @staticmethod
    def overdue(application: Application, now: datetime | None = None) -> bool:
        """Still waiting for its formality review after the due date."""
        return application.state == "submitted" and application.formality_due < (now or utcnow())

    # -- internals -----------------------------------------------------------------------
    def _conditional_dataset(self, name: str) -> Dataset:
        dataset = self.session.scalar(select(Dataset).where(Dataset.name == name))
        # One the public may not find is answered as one that does not exist.
        if dataset is None or not may_find(PUBLIC, dataset):
            raise Invalid(
                {"dataset": [message(f"找不到数据集「{name}」", f"No dataset {name!r}.")]}
            )
        if dataset.open_type != "conditional":
            raise Invalid(
                {
                    "dataset": [
                        message(
                            "只有有条件开放的数据集需要申请（无条件开放的可直接下载，不予开放的不提供）",
                            "Only conditionally open datasets are applied for (open ones "
                            "download freely; closed ones are not provided).",
                        )
                    ]
                }
            )
        return dataset

    def _check_resources(self, dataset: Dataset, resource_ids: list[str]) -> None:
        unknown = sorted(set(resource_ids) - {r.id for r in dataset.resources})
        if unknown:
            raise Invalid(
                {
                    "resources": [
                        message(
                            f"不是该数据集的资源：{', '.join(unknown)}",
                            f"Not resources of this dataset: {', '.join(unknown)}.",
                        )
                    ]
                }
            )

    @staticmethod
    def _need_reason(action: str, reason: str | None) -> None:
        if action in ("reject", "return") and not (reason or "").strip():
            raise Invalid(
                {"reason": [message("驳回或退回须说明理由", "Give a reason to reject or return.")]}
            )

    def _move(
        self,
        application: Application,
        user: User,
        action: str,
        reason: str | None,
        ip: str | None,
        detail: dict[str, Any] | None = None,
    ) -> Application:
        target = TRANSITIONS.get(application.state, {}).get(action)
        if target is None:
            raise self._illegal(application, action)
        return self._set(application, user, action, target, reason, ip, detail)

    def _set(
        self,
        application: Application,
        user: User,
        action: str,
        target: str,
        reason: str | None,
        ip: str | None,
        detail: dict[str, Any] | None = None,
    ) -> Application:
        before = application.state
        application.state, application.updated_at = target, utcnow()
        self._record(application, user, action, before, target, reason, ip, detail)
        return application

    def _record(
        self,
        application: Application,
        user: User,
        action: str,
        before: str | None,
        after: str,
        reason: str | None,
        ip: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            ApplicationEvent(
                application_id=application.id,
                action=action,
                from_state=before,
                to_state=after,
                actor_id=user.id,
                at=utcnow(),
                reason=reason,
                detail=detail,
            )
        )
        self.audit.append(
            f"application.{action}",
            actor=f"user:{user.id}",
            subject=f"application:{application.id}",
            ip=ip,
            state=after,
            reason=reason,
            **(detail or {}),
        )

    @staticmethod
    def _illegal(application: Application, action: str) -> Conflict:
        return Conflict.field(
            "state",
            message(
                f"申请处于「{application.state}」状态，不能执行「{action}」",
                f"An application in state {application.state!r} cannot {action!r}.",
            ),
        )


def load_input(schema: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A request body through its schema, or Invalid with the field errors."""
    try:
        return schema.load(data if isinstance(data, dict) else {})
    except ValidationError as error:
        raise Invalid(error.messages) from error  # type: ignore[arg-type]
