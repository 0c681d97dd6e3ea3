"""Grants: serving the data they cover, metered; revocation; usage reports. A call served
and an open-data download each count one use of the dataset (`catalog.popularity`).

Every check is made on every call, so quota, expiry and revocation take effect at once:
the call is counted with one conditional UPDATE (`used_calls < quota_calls`), which two
concurrent calls cannot both pass on the last unit. 不予开放 data and 核心/重要 data are
never served, whatever a grant says.
"""

from __future__ import annotations

import mimetypes
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from schemas import message
from schemas.access import UsageReportSchema

from ..catalog import popularity
from ..catalog.errors import Forbidden, Invalid, NotFound, QuotaExhausted
from ..db import utcnow
from ..models import Dataset, Grant, Resource, UsageReport, User
from ..visibility import PUBLIC, may_find
from . import rights
from .applications import REPORT_EVERY, load_input
from .audit import AuditLog
from .files import CHUNK, FileStore
from .tokens import Caller

NEVER_SERVED_GRADES = frozenset({"core", "important"})
PROXY_TIMEOUT = 30  # seconds to wait for a department's endpoint


@dataclass
class Download:
    """What a data call returns: the bytes (streamed) and how to label them."""

    chunks: Iterator[bytes]
    filename: str
    media_type: str
    size: int | None


@dataclass
class Grants:
    session: Session
    audit: AuditLog
    files: FileStore

    def get(self, user: User, grant_id: int) -> Grant:
        grant = self.session.get(Grant, grant_id)
        if grant is None or not rights.allowed(user, "grant.read", grant):
            raise NotFound.entity("授权", "grant", str(grant_id))
        return grant

    def mine(self, user: User) -> list[Grant]:
        query = select(Grant).where(Grant.holder_id == user.id).order_by(Grant.id.desc())
        return list(self.session.scalars(query))

    def reports_overdue(self, user: User, now: datetime | None = None) -> list[Grant]:
        """Live grants whose holder owes a usage report: the department's (or all, for the
        authority)."""
        now = now or utcnow()
        query = select(Grant).where(
            Grant.revoked_at.is_(None), Grant.report_due < now, Grant.expires_at > Grant.report_due
        )
        rights.require(user, "report.overdue")
        if not rights.allowed(user, "catalog.all"):
            query = query.join(Dataset, Grant.dataset_id == Dataset.id).where(
                Dataset.publisher_id == user.organization_id
            )
        return list(self.session.scalars(query.order_by(Grant.report_due)))

    def revoke(
        self, user: User, grant_id: int, reason: str | None, *, ip: str | None = None
    ) -> Grant:
        grant = self.get(user, grant_id)
        rights.require(user, "grant.revoke", grant)
        if not (reason or "").strip():
            raise Invalid({"reason": [message("撤销须说明理由", "Give a reason to revoke.")]})
        if grant.revoked_at is None:
            grant.revoked_at, grant.revoke_reason = utcnow(), reason.strip()
            self.audit.append(
                "grant.revoke",
                actor=f"user:{user.id}",
                subject=f"grant:{grant.id}",
                ip=ip,
                reason=reason,
            )
        return grant

    def serve(
        self, caller: Caller, grant_id: int, resource_id: str, *, ip: str | None = None
    ) -> Download:
        """Check everything, count the call, then hand over the bytes."""
        if not caller.has_scope(f"grant:{grant_id}"):
            raise Forbidden.because(
                f"此令牌未获授权使用授权 {grant_id}（需要范围 grant:{grant_id}）",
                f"This token is not scoped for grant {grant_id} (needs grant:{grant_id}).",
            )
        grant = self.session.get(Grant, grant_id)
        if grant is None or grant.holder_id != caller.user.id:
            raise NotFound.entity("授权", "grant", str(grant_id))
        now = utcnow()
        if grant.revoked_at is not None:
            raise Forbidden.because(
                f"该授权已于 {grant.revoked_at:%Y-%m-%d %H:%M} 撤销：{grant.revoke_reason}",
                f"This grant was revoked on {grant.revoked_at:%Y-%m-%d %H:%M}: "
                f"{grant.revoke_reason}",
            )
        if grant.expires_at <= now:
            raise Forbidden.because(
                f"该授权已于 {grant.expires_at:%Y-%m-%d} 到期",
                f"This grant expired on {grant.expires_at:%Y-%m-%d}.",
            )
        if resource_id not in grant.resource_ids:
            raise Forbidden.because("该资源不在授权范围内", "This resource is not in the grant.")
        resource = self._servable(grant.dataset, resource_id)
        source = self._source(resource)
        counted = self.session.execute(
            update(Grant)
            .where(Grant.id == grant.id, Grant.used_calls < Grant.quota_calls)
            .values(used_calls=Grant.used_calls + 1)
            .execution_options(synchronize_session=False)
        )
        if counted.rowcount == 0:  # type: ignore[attr-defined]
            raise QuotaExhausted(
                {
                    "_": [
                        message(
                            f"授权的 {grant.quota_calls} 次调用已用完",
                            f"The grant's {grant.quota_calls} calls are used up.",
                        )
                    ]
                }
            )
        popularity.bump(self.session, grant.dataset_id)
        self.audit.append(
            "data.serve",
            actor=caller.label,
            subject=f"grant:{grant.id}",
            ip=ip,
            resource=resource_id,
            dataset=grant.dataset.name,
        )
        return source

    def count_bytes(self, grant_id: int, sent: int) -> None:
        self.session.execute(
            update(Grant)
            .where(Grant.id == grant_id)
            .values(used_bytes=Grant.used_bytes + sent)
            .execution_options(synchronize_session=False)
        )

    def open_download(
        self, dataset_name: str, resource_id: str, *, actor: str, ip: str | None = None
    ) -> Download:
        """A resource of a 无条件开放 dataset: anyone, no grant."""
        dataset = self.session.scalar(select(Dataset).where(Dataset.name == dataset_name))
        # One the public may not find is answered as one that does not exist (no 403).
        if dataset is None or not may_find(PUBLIC, dataset):
            raise NotFound.entity("数据集", "dataset", dataset_name)
        if dataset.open_type != "unconditional":
            raise Forbidden.because(
                "该数据集不是无条件开放：有条件开放的须申请授权，不予开放的不提供",
                "This dataset is not open to all: conditional data needs a grant; closed "
                "data is not provided.",
            )
        resource = self._servable(dataset, resource_id)
        download = self._source(resource)
        popularity.bump(self.session, dataset.id)
        self.audit.append(
            "data.download",
            actor=actor,
            subject=f"dataset:{dataset.name}",
            ip=ip,
            resource=resource_id,
        )
        return download

    def file_report(
        self, user: User, grant_id: int, data: dict[str, Any], *, ip: str | None = None
    ) -> UsageReport:
        grant = self.get(user, grant_id)
        rights.require(user, "report.file", grant)
        loaded = load_input(UsageReportSchema(), data)
        report = UsageReport(grant_id=grant.id, author_id=user.id, **loaded)
        self.session.add(report)
        grant.report_due = min(utcnow() + REPORT_EVERY, grant.expires_at)
        self.session.flush()
        self.audit.append(
            "report.file", actor=f"user:{user.id}", subject=f"grant:{grant.id}", ip=ip
        )
        return report

    def reports(self, user: User, grant_id: int) -> list[UsageReport]:
        grant = self.get(user, grant_id)
        rights.require(user, "report.read", grant)
        query = select(UsageReport).where(UsageReport.grant_id == grant.id)
        return list(self.session.scalars(query.order_by(UsageReport.id)))

    # -- internals -----------------------------------------------------------------------
    def _servable(self, dataset: Dataset, resource_id: str) -> Resource:
        if (
            dataset.state != "active"
            or dataset.open_type == "closed"
            or dataset.grade in NEVER_SERVED_GRADES
        ):
            raise Forbidden.because(
                "不予开放或核心、重要数据不通过本平台提供",
                "Closed, core and important data are never served by this platform.",
            )
        resource = self.session.scalar(
            select(Resource).where(Resource.dataset_id == dataset.id, Resource.id == resource_id)
        )
        if resource is None:
            raise NotFound.entity("资源", "resource", resource_id)
        return resource

    def _source(self, resource: Resource) -> Download:
        """The portal's own copy if it keeps one, else the department's endpoint."""
        name = f"{resource.id}.{(resource.format or 'bin').lower()}"
        media_type = (
            resource.media_type or mimetypes.guess_type(name)[0] or ("application/octet-stream")
        )
        path = self.files.stored(resource)  # this resource's own file, by its key
        if path is not None:
            return Download(
                self.files.read(resource.file_key or ""), name, media_type, path.stat().st_size
            )
        if resource.url and resource.url.startswith(("http://", "https://")):
            return Download(_proxied(resource.url), name, media_type, None)
        raise NotFound(
            {
                "_": [
                    message(
                        "该资源暂无可提供的数据（平台未存文件，也没有部门接口）",
                        "This resource has no data to serve (no stored file, no endpoint).",
                    )
                ]
            }
        )


def _proxied(url: str) -> Iterator[bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "qingdao-data-portal"})
    with urllib.request.urlopen(request, timeout=PROXY_TIMEOUT) as response:
        while chunk := response.read(CHUNK):
            yield chunk


def metered(chunks: Iterator[bytes], on_done: Callable[[int], None]) -> Iterator[bytes]:
    """The chunks, passed on; at the end (or when the client goes away) the bytes sent."""
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
    finally:
        on_done(sent)
