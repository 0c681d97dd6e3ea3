"""Harvest sources and their jobs: register a source, run it, keep its history bounded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from harvesters import HarvestSourceError, SourceSettings, available_harvesters, load_harvester
from harvesters.outbound import AllowList, OutboundError
from schemas import GradePolicy, message, vocab

from ..access.audit import AuditLog
from ..access.checkpoints import CheckpointLog
from ..catalog import Conflict, Invalid, NotFound
from ..db import Database, utcnow
from ..models import HarvestJob, HarvestRecord, HarvestSource, Organization
from ..outbound import Outbound
from .clock import HarvestClock
from .runner import HarvestReport, Progress, run_harvest

KEEP_JOBS = 20  # per source; older jobs and their record rows are deleted
SCHEDULES = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
EVERY = re.compile(r"^every (\d+)([mhd])$")


def schedule_interval(schedule: str | None) -> timedelta | None:
    """`hourly`, `daily`, `weekly` or `every N(m|h|d)`; None for manual sources."""
    if not schedule:
        return None
    if schedule in SCHEDULES:
        return SCHEDULES[schedule]
    match = EVERY.match(schedule)
    if not match:
        raise ValueError(schedule)
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


def add_source(
    session: Session,
    *,
    name: str,
    type: str,
    url: str,
    publisher: str | None = None,
    zones: list[str] | None = None,
    defaults: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    schedule: str | None = None,
    allow: list[str] | None = None,
    local_files_allowed: bool = False,
    by: str = "system",
    audit_anchor: CheckpointLog | None = None,
) -> HarvestSource:
    """A new harvest source, audited (`harvest_source.add`, with `by` as its actor): what
    it fetches from decides what enters the catalog. `allow`: non-public addresses or
    hosts it may reach; `local_files_allowed`: only where an operator typed the URL (the
    command line)."""
    errors: dict[str, list] = {}
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,99}", name):
        errors["name"] = [message("名称只能包含小写字母、数字、- 和 _", "Use a-z, 0-9, - and _.")]
    if type not in available_harvesters():
        known = ", ".join(sorted(available_harvesters()))
        errors["type"] = [
            message(f"没有这种采集类型，可选：{known}", f"No such harvester; one of: {known}.")
        ]
    if not url.strip():
        errors["url"] = [message("必须提供网址或文件路径", "A URL or a file path is needed.")]
    if (
        publisher
        and session.scalar(select(Organization).where(Organization.name == publisher)) is None
    ):
        errors["publisher"] = [
            message(f"找不到机构「{publisher}」", f"No organization {publisher!r}.")
        ]
    unknown_zones = [z for z in zones or [] if vocab("zones").resolve(z) is None]
    if unknown_zones:
        errors["zones"] = [
            message(f"未知专区：{'、'.join(unknown_zones)}", f"Unknown zones: {unknown_zones}.")
        ]
    try:
        schedule_interval(schedule)
    except ValueError:
        errors["schedule"] = [
            message(
                "计划应为 hourly、daily、weekly 或 every N(m|h|d)",
                "schedule is hourly, daily, weekly or every N(m|h|d).",
            )
        ]
    try:
        AllowList.parse(allow or [])
    except ValueError as error:
        errors["allow"] = [message(f"允许列表有误：{error}", f"The allow list is wrong: {error}")]
    if errors:
        raise Invalid(errors)
    if session.scalar(select(HarvestSource).where(HarvestSource.name == name)) is not None:
        raise Conflict.field(
            "name", message(f"采集来源「{name}」已存在", f"Source {name!r} exists.")
        )
    source = HarvestSource(
        name=name,
        type=type,
        url=url,
        publisher=publisher,
        zones=[vocab("zones").resolve(z) for z in zones or []],
        defaults=dict(defaults or {}),
        options=dict(options or {}),
        schedule=schedule,
        allow=[str(entry).strip() for entry in allow or [] if str(entry).strip()],
        local_files_allowed=local_files_allowed,
    )
    session.add(source)
    session.flush()
    AuditLog(session, audit_anchor).append(
        "harvest_source.add",
        actor=by,
        subject=f"harvest_source:{source.id}",
        name=name,
        type=type,
        url=url[:500],
        publisher=publisher,
    )
    return source


def get_source(session: Session, name: str) -> HarvestSource:
    source = session.scalar(select(HarvestSource).where(HarvestSource.name == name))
    if source is None:
        raise NotFound.entity("采集来源", "harvest source", name)
    return source


def list_sources(session: Session, publisher: str | None = None) -> list[HarvestSource]:
    """The sources by name: every one, or those of one department (its name)."""
    query = select(HarvestSource).order_by(HarvestSource.name)
    if publisher is not None:
        query = query.where(HarvestSource.publisher == publisher)
    return list(session.scalars(query))


def job_records(session: Session, job_id: int, outcome: str, limit: int) -> list[HarvestRecord]:
    """The first `limit` records of a job with this outcome (`failed`, `held` …), in the
    order the job met them."""
    query = select(HarvestRecord).where(
        HarvestRecord.job_id == job_id, HarvestRecord.outcome == outcome
    )
    return list(session.scalars(query.order_by(HarvestRecord.id).limit(limit)))


def due_sources(session: Session, now: datetime | None = None) -> list[HarvestSource]:
    now = now or utcnow()
    due = []
    for source in session.scalars(select(HarvestSource).order_by(HarvestSource.name)):
        interval = schedule_interval(source.schedule)
        last = source.jobs[0].started_at if source.jobs else None
        if interval and (last is None or now - last >= interval):
            due.append(source)
    return due


@dataclass
class SourceRun:
    job_id: int | None
    report: HarvestReport
    status: str
    error: str | None = None


def run_source(
    db: Database,
    name: str,
    *,
    policy: GradePolicy,
    dry_run: bool = False,
    incremental: bool = False,
    progress: Progress | None = None,
    audit_anchor: CheckpointLog | None = None,
    outbound: Outbound | None = None,
    by: str = "system",
    clock: HarvestClock | None = None,
) -> SourceRun:
    """Run one source; its job (not for a dry run) records every record's outcome.
    `audit_anchor`: the instance's audit checkpoints; `by`: who started the run, the actor
    of its audit entry (`harvest.commit`). `outbound`: the instance's outbound policy
    (default: public addresses only); the source's own allow list and its department's
    are added to it."""
    with db.transaction() as session:
        source = get_source(session, name)
        source_id, kind, url = source.id, source.type, source.url
        options = dict(source.options)
        options.pop("reach", None)  # what the source may read is ours to say, not an option
        reach = (outbound or Outbound()).harvest_reach(
            source.publisher, source.allow, local_files=source.local_files_allowed
        )
        if incremental and source.last_success_at:
            options["since"] = source.last_success_at.isoformat()
        settings = SourceSettings(source.publisher, tuple(source.zones), dict(source.defaults))
        for stale in session.scalars(
            select(HarvestJob).where(
                HarvestJob.source_id == source_id, HarvestJob.status == "running"
            )
        ):
            stale.status, stale.error = "interrupted", "the process running it stopped"
        job_id = None
        if not dry_run:
            job = HarvestJob(source_id=source_id, incremental=incremental, counts={})
            session.add(job)
            session.flush()
            job_id = job.id
    started = utcnow()
    try:
        harvester = load_harvester(kind, url, reach=reach, **options)
    except (ValueError, TypeError, LookupError) as error:  # the source's own options
        reason = f"{type(error).__name__}: {error}"
        _finish(db, job_id, source_id, HarvestReport(), "failed", reason, None)
        return SourceRun(job_id, HarvestReport(), "failed", reason)
    try:
        report = run_harvest(
            db,
            harvester,
            actor=f"harvest:{name}",
            policy=policy,
            settings=settings,
            source_id=source_id,
            withdraw_missing=not incremental,
            dry_run=dry_run,
            progress=progress,
            audit_anchor=audit_anchor,
            by=by,
            clock=clock,
        )
    except Exception as error:  # the source could not be read: the job says why
        reason = _failure(error)
        _finish(db, job_id, source_id, HarvestReport(), "failed", reason, None)
        return SourceRun(job_id, HarvestReport(), "failed", reason)
    if report.stopped is not None:  # over its time bound: what it stored stays, it says why
        reason = f"{report.stopped['en']} / {report.stopped['zh']}"
        _finish(db, job_id, source_id, report, "failed", reason, None)
        return SourceRun(job_id, report, "failed", reason)
    _finish(db, job_id, source_id, report, "finished", None, started)
    if report.changed:
        db.optimize()
    return SourceRun(job_id, report, "finished")


def _failure(error: Exception) -> str:
    """What the job says of a source that could not be read. The harvesters' own errors
    and the outbound client's are written not to quote what was fetched; any other
    exception's text might (a parser quoting a line), so only its kind is told."""
    if isinstance(error, OutboundError):
        return f"{type(error).__name__}: {error.describe()['en']} / {error.describe()['zh']}"
    if isinstance(error, HarvestSourceError):
        return f"{type(error).__name__}: {error}"
    if isinstance(error, OSError) and error.strerror:  # a file: its name and the reason
        return f"{type(error).__name__}: {error.strerror}: {error.filename}"
    return f"{type(error).__name__} (the source could not be read)"


def _finish(
    db: Database,
    job_id: int | None,
    source_id: int,
    report: HarvestReport,
    status: str,
    error: str | None,
    started: datetime | None,
) -> None:
    if job_id is None:
        return
    with db.transaction() as session:
        job = session.get(HarvestJob, job_id)
        job.status, job.error, job.finished_at = status, error, utcnow()
        job.counts = dict(report.counts)
        rows = [
            {
                "job_id": job_id,
                "kind": o.kind,
                "outcome": o.outcome,
                "key": o.key,
                "location": (o.location or "")[:500] or None,
                "errors": o.errors,
                "warnings": list(o.warnings) or None,
            }
            for o in report.outcomes
        ]
        if rows:  # one executemany: a 100k-record job's rows through the ORM took seconds
            session.execute(insert(HarvestRecord), rows)
        if status == "finished" and started is not None:
            session.get(HarvestSource, source_id).last_success_at = started
        _prune(session, source_id)


def _prune(session: Session, source_id: int) -> None:
    keep = select(HarvestJob.id).where(HarvestJob.source_id == source_id)
    keep = keep.order_by(HarvestJob.id.desc()).limit(KEEP_JOBS)
    old = select(HarvestJob.id).where(HarvestJob.source_id == source_id, HarvestJob.id.not_in(keep))
    old_ids = list(session.scalars(old))
    if old_ids:
        session.execute(delete(HarvestRecord).where(HarvestRecord.job_id.in_(old_ids)))
        session.execute(delete(HarvestJob).where(HarvestJob.id.in_(old_ids)))
