"""`portal harvest …`: register sources, run them (or see what a run would change), read jobs."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from ..catalog import CatalogError
from ..search.follow import START_AFTER, IndexFollower
from ..services import audit_anchor, database, harvest_clock, outbound, policy, settings

if TYPE_CHECKING:  # the commands import what they use when they run: `portal` starts fast
    from flask import Flask

    from ..models import HarvestJob, HarvestRecord
    from .sources import SourceRun

console = Console(stderr=True)
FOLLOW_AFTER = START_AFTER  # records; tests lower it to see a follower at work
OUTCOMES = ("added", "updated", "restored", "unchanged", "withdrawn", "held", "failed")


@dataclass(frozen=True)
class CliHooks:
    """What the `portal` command lends its harvest commands."""

    make_app: Callable[[], Flask]
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]]
    index_now: Callable[[Flask], None]


def register(
    main: click.Group, make_app: Callable, progress: Callable, index_now: Callable
) -> None:
    """Attach the `harvest` group to the `portal` command."""
    hooks = CliHooks(make_app, progress, index_now)
    group = click.Group(
        "harvest",
        help="Harvest catalogs from sources: CKAN, DCAT, Chinese portals, spreadsheets, the plan.",
    )
    for make_command in (_add_command, _list_command, _show_command, _run_command):
        group.add_command(make_command(hooks))
    main.add_command(group)


# --- portal harvest add ---------------------------------------------------------------------


def _add_command(hooks: CliHooks) -> click.Command:
    @click.command("add")
    @click.argument("name")
    @click.option("--type", "kind", required=True, help="ckan, dcat, cnportal, spreadsheet, plan …")
    @click.option("--url", required=True, help="URL or file path of the source.")
    @click.option("--publisher", help="Department (organization name) for records that name none.")
    @click.option("--zone", "zones", multiple=True, help="Zone of every record (repeatable).")
    @click.option(
        "--default",
        "defaults",
        multiple=True,
        metavar="FIELD=VALUE",
        help="Value for a field records lack, e.g. open_type=unconditional.",
    )
    @click.option(
        "--option",
        "options",
        multiple=True,
        metavar="KEY=VALUE",
        help="Harvester option, e.g. prefix=gz (JSON values allowed).",
    )
    @click.option("--schedule", help="hourly, daily, weekly or 'every N(m|h|d)'.")
    @click.option(
        "--allow",
        "allow",
        multiple=True,
        metavar="CIDR|HOST",
        help="A non-public address, network or host this source may reach (repeatable); "
        "loopback, private and link-local addresses are refused otherwise.",
    )
    def harvest_add(
        name: str,
        kind: str,
        url: str,
        publisher: str | None,
        zones: tuple[str, ...],
        defaults: tuple[str, ...],
        options: tuple[str, ...],
        schedule: str | None,
        allow: tuple[str, ...],
    ) -> None:
        """Register the harvest source NAME. A file path is allowed as its URL: the operator
        typed it here (a source made any other way reads http(s) URLs only)."""
        fields = {
            "type": kind,
            "url": url,
            "publisher": publisher,
            "zones": list(zones),
            "defaults": _pairs(defaults),
            "options": _pairs(options),
            "schedule": schedule,
            "allow": list(allow),
            "local_files_allowed": True,
        }
        _add_source(hooks.make_app(), name, fields)
        console.print(f"harvest source {name} added; run it with `portal harvest run {name}`")

    return harvest_add


def _add_source(app: Flask, name: str, fields: dict[str, Any]) -> None:
    from .sources import add_source

    try:
        with database(app).transaction() as session:
            add_source(session, name=name, by="console", audit_anchor=audit_anchor(app), **fields)
    except CatalogError as error:
        raise click.ClickException(str(error)) from error


# --- portal harvest list --------------------------------------------------------------------


def _list_command(hooks: CliHooks) -> click.Command:
    @click.command("list")
    def harvest_list() -> None:
        """The sources with their last job."""
        Console().print(_sources_table(hooks.make_app()))

    return harvest_list


def _sources_table(app: Flask) -> Table:
    from sqlalchemy import select

    from ..models import HarvestSource

    table = Table("source", "type", "url", "schedule", "last job", "status", "counts")
    with database(app).sessions() as session:
        for source in session.scalars(select(HarvestSource).order_by(HarvestSource.name)):
            job = source.jobs[0] if source.jobs else None
            table.add_row(
                source.name,
                source.type,
                source.url,
                source.schedule or "-",
                f"#{job.id} {job.started_at:%Y-%m-%d %H:%M}" if job else "-",
                job.status if job else "-",
                _counts(job.counts) if job else "",
            )
    return table


# --- portal harvest show --------------------------------------------------------------------


def _show_command(hooks: CliHooks) -> click.Command:
    @click.command("show")
    @click.argument("name")
    @click.option("--job", "job_id", type=int, help="A job number (default: the last one).")
    def harvest_show(name: str, job_id: int | None) -> None:
        """A source's settings and one job's records: what changed, what failed and why."""
        _show_source(hooks.make_app(), name, job_id)

    return harvest_show


def _show_source(app: Flask, name: str, job_id: int | None) -> None:
    from .sources import get_source

    with database(app).sessions() as session:
        try:
            source = get_source(session, name)
        except CatalogError as error:
            raise click.ClickException(str(error)) from error
        click.echo(f"{source.name}: {source.type} {source.url}")
        click.echo(
            f"  publisher={source.publisher} zones={source.zones} "
            f"defaults={json.dumps(source.defaults, ensure_ascii=False)} "
            f"options={json.dumps(source.options, ensure_ascii=False)} "
            f"schedule={source.schedule} allow={','.join(source.allow) or '-'}"
        )
        jobs = [j for j in source.jobs if job_id in (None, j.id)]
        if not jobs:
            click.echo("  no jobs yet")
            return
        _show_job(jobs[0])


def _show_job(job: HarvestJob) -> None:
    click.echo(
        f"job #{job.id} {job.status} {job.started_at:%Y-%m-%d %H:%M:%S} "
        f"→ {job.finished_at or '…'}  {_counts(job.counts)}"
    )
    if job.error:
        click.echo(f"  error: {job.error}")
    for record in job.records:
        if record.outcome != "unchanged" or record.warnings:
            _show_record(record)


def _show_record(record: HarvestRecord) -> None:
    where = f"{record.key or ''} {record.location or ''}"
    click.echo(f"  {record.outcome:9} {record.kind:12} {where}")
    for field, messages in (record.errors or {}).items():
        for m in messages if isinstance(messages, list) else [messages]:
            click.echo(f"      {field}: {m.get('zh', m) if isinstance(m, dict) else m}")
    for warning in record.warnings or []:
        if record.outcome == "held":  # what the authority must decide: say so twice
            click.echo(f"      ! {warning['zh']} ({warning['en']})")
        else:
            click.echo(f"      ! {warning['zh']}")


# --- portal harvest run ---------------------------------------------------------------------


def _run_command(hooks: CliHooks) -> click.Command:
    @click.command("run")
    @click.argument("names", nargs=-1)
    @click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
    @click.option("--incremental", is_flag=True, help="Only what changed since the last good run.")
    @click.option("--due", is_flag=True, help="Run every source whose schedule says it is due.")
    def harvest_run(names: tuple[str, ...], dry_run: bool, incremental: bool, due: bool) -> None:
        """Run the sources NAMES (the plan catalog is the source `plan`)."""
        app = hooks.make_app()
        names = _names_to_run(app, names, due)
        failed = _run_sources(app, hooks, names, dry_run=dry_run, incremental=incremental)
        if not dry_run:
            hooks.index_now(app)
        if failed:
            sys.exit(1)

    return harvest_run


def _names_to_run(app: Flask, names: tuple[str, ...], due: bool) -> tuple[str, ...]:
    """The sources named, then (with --due) those whose schedule says they are due."""
    from .. import lifecycle
    from .sources import due_sources

    if "plan" in names:
        with database(app).transaction() as session:
            lifecycle.ensure_plan_source(session, audit_anchor(app))
    if due:
        with database(app).sessions() as session:
            names = names + tuple(s.name for s in due_sources(session))
    if not names:
        raise click.UsageError("name a source (see `portal harvest list`) or give --due")
    return names


def _run_sources(
    app: Flask, hooks: CliHooks, names: tuple[str, ...], *, dry_run: bool, incremental: bool
) -> bool:
    """Runs each source and prints its summary; True when any failed or had failures."""
    failed = False
    # A large run is indexed while it goes, by a child process on another core.
    with IndexFollower(settings(app), start_after=FOLLOW_AFTER) as follower:
        for name in names:
            title = f"harvesting {name}" + (" (dry run)" if dry_run else "")
            with hooks.progress(title) as advance:
                step = _step(advance, None if dry_run else follower)
                run = _run_source(app, name, step, dry_run=dry_run, incremental=incremental)
            _summary(name, run, dry_run)
            failed |= run.status != "finished" or bool(run.report.failures)
    return failed


def _step(advance: Callable[[str], None], follower: IndexFollower | None) -> Callable[[str], None]:
    """Each record moves the progress bar, and the index follower unless nothing is written."""

    def step(kind: str) -> None:
        advance(kind)
        if follower is not None:
            follower.advance()

    return step


def _run_source(
    app: Flask, name: str, step: Callable[[str], None], *, dry_run: bool, incremental: bool
) -> SourceRun:
    from .sources import run_source

    try:
        return run_source(
            database(app),
            name,
            policy=policy(app),
            dry_run=dry_run,
            incremental=incremental,
            progress=step,
            audit_anchor=audit_anchor(app),
            outbound=outbound(app),
            by="console",
            clock=harvest_clock(app),
        )
    except CatalogError as error:
        raise click.ClickException(str(error)) from error


def _pairs(items: tuple[str, ...]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def _summary(name: str, run: SourceRun, dry_run: bool) -> None:
    table = Table(
        title=f"{name}: {run.status}"
        + (" — dry run, nothing written" if dry_run else "")
        + (f" (job #{run.job_id})" if run.job_id else "")
    )
    table.add_column("kind")
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    kinds = sorted({key.split(".")[0] for key in run.report.counts})
    for kind in kinds:
        table.add_row(kind, *(str(run.report.counts.get(f"{kind}.{o}", 0)) for o in OUTCOMES))
    Console().print(table)
    if run.error:
        click.echo(f"the source failed: {run.error}", err=True)
    for note in run.report.notes:
        click.echo(f"note: {note['zh']} ({note['en']})", err=True)
    for held in run.report.held[:20]:
        for note in held.warnings[-1:]:  # the last warning is why it is held
            click.echo(f"HELD {held.key}: {note['zh']} ({note['en']})", err=True)
    if len(run.report.held) > 20:
        click.echo(
            f"… and {len(run.report.held) - 20} more held: `portal harvest show {name}`", err=True
        )
    failures = run.report.failures
    for failure in failures[:20]:
        from schemas import render

        click.echo(
            f"FAILED {failure.location}\n  " + render(failure.errors or {}).replace("\n", "\n  "),
            err=True,
        )
    if len(failures) > 20:
        click.echo(f"… and {len(failures) - 20} more: `portal harvest show {name}`", err=True)
