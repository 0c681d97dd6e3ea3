"""The department's harvest sources (every source, for the authority): their jobs, a job's
failed and held records, and "run now" for a small source."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from schemas import Message, flatten, message

from ... import guard
from ...access import rights
from ...catalog.errors import NotFound
from ...db import utcnow
from ...harvest.sources import get_source, job_records, list_sources, run_source
from ...models import HarvestJob, HarvestRecord, HarvestSource, User
from ...services import audit_anchor, database, harvest_clock, outbound, policy
from ..signed_in import current_account, drain_index
from ..site import blueprint

RUN_NOW_LIMIT = 1000  # records: a larger source runs from `portal harvest run` or its schedule
RUNNING_FOR = timedelta(hours=1)  # a job "running" longer than this was left by a dead process
FAILURES_SHOWN = 500  # failed records listed for one job
OUTCOMES = ("added", "updated", "restored", "unchanged", "withdrawn", "held", "failed")


@dataclass(frozen=True)
class JobSummary:
    job: HarvestJob
    totals: dict[str, int]  # per outcome, over every kind of record

    @property
    def records(self) -> int:
        return sum(self.totals.values())


def summarize(job: HarvestJob) -> JobSummary:
    totals = dict.fromkeys(OUTCOMES, 0)
    for key, count in (job.counts or {}).items():
        outcome = key.rsplit(".", 1)[-1]
        totals[outcome] = totals.get(outcome, 0) + int(count)
    return JobSummary(job, totals)


def _sees(user: User, source: HarvestSource) -> bool:
    return rights.allowed(user, "harvest.source", source)


def _source(session: Session, user: User, name: str) -> HarvestSource:
    try:
        source = get_source(session, name)
    except NotFound:
        abort(404)
    if not _sees(user, source):
        abort(404)  # another department's source is not there for this officer
    return source


def run_refusal(source: HarvestSource) -> Message | None:
    """Why "run now" is not for this source, if it is not: a job running, or a source too
    large to run while the browser waits."""
    last = source.jobs[0] if source.jobs else None
    if last is None:
        return None
    if last.status == "running" and utcnow() - last.started_at < RUNNING_FOR:
        return message("该来源正在运行，请稍后再看", "This source is running; look again soon.")
    sizes = [summarize(j).records for j in source.jobs if j.status == "finished"]
    if sizes and sizes[0] > RUN_NOW_LIMIT:
        return message(
            f"该来源有 {sizes[0]} 条记录，不能在页面上立即运行；"
            f"请用 portal harvest run {source.name} 或按计划运行",
            f"This source has {sizes[0]} records, too many to run while the page waits; "
            f"use portal harvest run {source.name} or its schedule.",
        )
    return None


@blueprint.get("/workspace/harvest")
# an officer (their department's sources) or the authority (every source)
@guard.signed_in(rule="harvest.use")
def officer_harvest() -> ResponseReturnValue:
    with database().sessions() as session:
        user = current_account(session)
        every = rights.allowed(user, "catalog.all")
        found = list_sources(session, None if every else user.organization.name)
        sources = [(s, summarize(s.jobs[0]) if s.jobs else None) for s in found]
        return render_template("officer/harvest.html", sources=sources, user=user)


@blueprint.get("/workspace/harvest/<name>")
@guard.signed_in(rule="harvest.use", object_rule="harvest.source")
def officer_harvest_source(name: str) -> ResponseReturnValue:
    """A source's jobs, newest first, and one job's failed records (`?job=`, the newest by
    default) with their location and reasons."""
    with database().sessions() as session:
        user = current_account(session)
        source = _source(session, user, name)
        jobs = [summarize(j) for j in source.jobs]
        wanted = request.args.get("job", type=int)
        chosen = next((j for j in jobs if wanted in (None, j.job.id)), None)
        if wanted is not None and chosen is None:
            abort(404)
        failures: list[tuple[HarvestRecord, list[tuple[str, Message]]]] = []
        held: list[HarvestRecord] = []  # downgrades of openness, waiting for the authority
        if chosen is not None:
            failed = job_records(session, chosen.job.id, "failed", FAILURES_SHOWN)
            failures = [(r, flatten(r.errors or {})) for r in failed]
            held = job_records(session, chosen.job.id, "held", FAILURES_SHOWN)
        return render_template(
            "officer/harvest_source.html",
            source=source,
            jobs=jobs,
            chosen=chosen,
            failures=failures,
            held=held,
            failures_shown=FAILURES_SHOWN,
            refusal=run_refusal(source),
            outcomes=OUTCOMES,
        )


@blueprint.post("/workspace/harvest/<name>/run")
@guard.signed_in(rule="harvest.use", object_rule="harvest.source")
def officer_harvest_run(name: str) -> ResponseReturnValue:
    """Run a small source now, as `portal harvest run` does, and show its job."""
    with database().sessions() as session:
        user = current_account(session)
        refusal = run_refusal(_source(session, user, name))
        by = f"user:{user.id}"
    if refusal is not None:
        flash(refusal, "error")
        return redirect(url_for("web.officer_harvest_source", name=name))
    run = run_source(
        database(),
        name,
        policy=policy(),
        audit_anchor=audit_anchor(),
        outbound=outbound(),
        by=by,
        clock=harvest_clock(),
    )
    if run.status == "finished":
        drain_index()
        flash(message("采集已完成", "The harvest finished."), "success")
    else:
        flash(
            message(f"采集失败：{run.error}", f"The harvest failed: {run.error}"),
            "error",
        )
    for note in run.report.notes:
        flash(note)
    return redirect(url_for("web.officer_harvest_source", name=name, job=run.job_id))
