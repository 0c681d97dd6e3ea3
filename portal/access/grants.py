"""Grants: serving the data they cover, metered; revocation; usage reports. A call served
and an open-data download each count one use of the dataset (`catalog.popularity`).

Every check is made on every call, so quota, expiry and revocation take effect at once:
the call is counted with one conditional UPDATE (`used_calls < quota_calls`), which two
concurrent calls cannot both pass on the last unit. 不予开放 data and 核心/重要 data are
never served, whatever a grant says.
"""

from __future__ import annotations

import logging
import mimetypes
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from harvesters.outbound import (
    OutboundError,
    RefusedDestination,
    ResponseTooLarge,
    UpstreamTimeout,
)
from schemas import message
from schemas.access import UsageReportSchema

from ..catalog import popularity
from ..catalog.errors import (
    BadUpstream,
    CatalogError,
    DestinationRefused,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExhausted,
    UpstreamTimedOut,
)
from ..db import utcnow
from ..models import Dataset, Grant, Resource, UsageReport, User
from ..outbound import Outbound
from ..visibility import PUBLIC, may_find
from . import rights
from .applications import REPORT_EVERY, load_input
from .audit import AuditLog
from .files import CHUNK, FileStore
from .tokens import Caller

log = logging.getLogger(__name__)
NEVER_SERVED_GRADES = frozenset({"core", "important"})
SPOOL_IN_MEMORY = 1024 * 1024  # a proxied answer past this size waits on disk


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
    outbound: Outbound = field(default_factory=Outbound)

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
        if grant.used_calls >= grant.quota_calls:
            raise _used_up(grant)
        # The upstream is read before the call is counted: a failed fetch costs nothing.
        source = self._source(resource)
        counted = self.session.execute(
            update(Grant)
            .where(Grant.id == grant.id, Grant.used_calls < Grant.quota_calls)
            .values(used_calls=Grant.used_calls + 1)
            .execution_options(synchronize_session=False)
        )
        if counted.rowcount == 0:  # type: ignore[attr-defined]
            raise _used_up(grant)
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
            return self._proxied(resource, name, media_type)
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

    def _proxied(self, resource: Resource, name: str, media_type: str) -> Download:
        """The department's endpoint, read whole (within the outbound limits) before
        anything is counted; with the department's credentials, kept server side."""
        department = resource.dataset.publisher.name if resource.dataset else None
        client = self.outbound.proxy_client(department, resource.url)
        # closed by _spooled once sent, or here on failure
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            fetched = client.fetch_into(resource.url, spool)
        except OutboundError as error:
            spool.close()
            # The operator's log names the upstream; the caller's problem does not.
            log.warning("proxy for resource %s: %s", resource.id, error)
            raise _upstream_problem(error) from error
        spool.seek(0)
        return Download(_spooled(spool), name, media_type, fetched.size)


def _used_up(grant: Grant) -> QuotaExhausted:
    return QuotaExhausted(
        {
            "_": [
                message(
                    f"授权的 {grant.quota_calls} 次调用已用完",
                    f"The grant's {grant.quota_calls} calls are used up.",
                )
            ]
        }
    )


def _spooled(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(CHUNK):
            yield chunk


def _upstream_problem(error: OutboundError) -> CatalogError:
    """The problem the caller sees: the kind of failure, never the upstream's address
    (not the public's to see) nor anything it sent."""
    if isinstance(error, RefusedDestination):
        return DestinationRefused(
            {
                "_": [
                    message(
                        "该资源的上游地址不在平台可访问的范围内，未获取数据",
                        "The resource's upstream address is not one the portal may reach; "
                        "nothing was fetched.",
                    )
                ]
            }
        )
    if isinstance(error, UpstreamTimeout):
        return UpstreamTimedOut(
            {"_": [message("部门接口应答超时", "The department's endpoint timed out.")]}
        )
    if isinstance(error, ResponseTooLarge):
        return BadUpstream(
            {
                "_": [
                    message(
                        "部门接口的应答超过平台代理的大小上限",
                        "The department's endpoint sent more than the proxy's size limit.",
                    )
                ]
            }
        )
    zh = f"部门接口出错（HTTP {error.status}）" if error.status else "部门接口出错"
    en = (
        f"The department's endpoint failed (HTTP {error.status})."
        if error.status
        else ("The department's endpoint failed.")
    )
    return BadUpstream({"_": [message(zh, en)]})


def metered(chunks: Iterator[bytes], on_done: Callable[[int], None]) -> Iterator[bytes]:
    """The chunks, passed on; at the end (or when the client goes away) the bytes sent."""
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
    finally:
        on_done(sent)
