"""The `portal` command."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from . import create_app, lifecycle
from .access.commands import register as register_access_commands
from .catalog import CatalogError
from .catalog.exchange import export_catalog, import_catalog
from .config import markdown_table
from .harvest.commands import register as register_harvest_commands
from .models import Dataset
from .search import IndexerThread, SearchUnavailable, WriterBusy
from .services import access, catalog, database, indexer, settings
from .web.pages import warm_up

console = Console(stderr=True)


@click.group()
@click.version_option(package_name="qingdao-data-portal")
def main() -> None:
    """Qingdao public-data portal (青岛市公共数据开放平台)."""


def _app() -> Flask:
    return create_app()


def _require_initialized(app: Flask) -> None:
    if not lifecycle.is_initialized(app):
        raise click.ClickException(
            f"the database at {database(app).engine.url} is not initialized or not up to date; "
            "run `portal init` (or `portal up`)"
        )


def _columns() -> list:
    return [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}"),
    ]


@contextmanager
def _progress(description: str, total: int | None = None) -> Iterator[Callable[[str], None]]:
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}"),
    ]
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda _kind: bar.advance(task)


@main.command()
@click.option(
    "--load-plan", is_flag=True, help="Also load the plan catalog if the catalog is empty."
)
def init(load_plan: bool) -> None:
    """Create the instance folder and migrate the database to the newest schema."""
    app = _app()
    lifecycle.initialize(app)
    console.print(f"initialized: {database(app).engine.url}")
    if load_plan and lifecycle.catalog_is_empty(app):
        report = lifecycle.load_plan(app)
        console.print(f"plan catalog loaded: {report.changed} records")


HOST_OPTION = click.option("--host", help="Listen address [default: PORTAL_HOST, 127.0.0.1].")
PORT_OPTION = click.option("--port", type=int, help="Port [default: PORTAL_PORT, 5000].")


@main.command()
@HOST_OPTION
@PORT_OPTION
def up(host: str | None, port: int | None) -> None:
    """Initialize if needed, load the plan catalog if the catalog is empty, and serve."""
    app = _app()
    lifecycle.initialize(app)
    if lifecycle.catalog_is_empty(app):
        with _progress("loading the plan catalog") as advance:
            report = lifecycle.load_plan(app, progress=advance)
        console.print(f"plan catalog loaded: {report.changed} records")
        if report.failures:
            click.echo(report.describe(), err=True)
    _serve(app, host, port)


@main.command()
@HOST_OPTION
@PORT_OPTION
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str | None, port: int | None, threads: int) -> None:
    """Serve an initialized instance."""
    app = _app()
    _require_initialized(app)
    _serve(app, host, port, threads)


def _serve(app: Flask, host: str | None, port: int | None, threads: int = 8) -> None:
    from waitress import serve as waitress_serve

    config = settings(app)
    host = host or config.host
    port = port or config.port
    interval = config.index_interval
    worker = IndexerThread(indexer(app), interval) if interval > 0 else None
    if worker:
        _catch_up(app)
        worker.start()
    warm_up(database(app))
    console.print(f"serving on http://{host}:{port}/  (Ctrl+C stops)")
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="qingdao-portal")
    finally:
        if worker:
            worker.stop()


def _catch_up(app: Flask) -> None:
    """Bring the search index up to the database before serving (first start: build it)."""
    try:
        applied = indexer(app).drain()
    except (SearchUnavailable, WriterBusy) as error:
        console.print(f"search index not updated now ({error}); it catches up later")
        return
    if applied:
        console.print(f"search index: {applied} catalog changes applied")


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def export_command(file: str) -> None:
    """Write the whole catalog as JSON Lines to FILE ('-' for standard output)."""
    app = _app()
    _require_initialized(app)
    with database(app).sessions() as session:
        if file == "-":
            count = export_catalog(session, sys.stdout)
        else:
            target = Path(file)
            partial = target.with_name(target.name + ".partial")
            with (
                _progress(f"exporting to {file}") as advance,
                partial.open("w", encoding="utf-8", newline="\n") as out,
            ):
                count = export_catalog(session, out, advance)
            partial.replace(target)  # never leave a half-written export under the real name
    with database(app).transaction() as session:  # the whole catalog left the portal
        access(session, app).audit.append("catalog.export", actor="console", lines=count)
    console.print(f"exported {count} lines")


@main.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def import_command(file) -> None:  # type: ignore[no-untyped-def]
    """Load a catalog export (JSON Lines) into an empty instance; all or nothing."""
    app = _app()
    lifecycle.initialize(app)
    try:
        with database(app).transaction() as session, _progress("importing") as advance:
            counts = import_catalog(catalog(session, "cli:import", app), file, advance)
            access(session, app).audit.append("catalog.import", actor="console", counts=counts)
    except CatalogError as error:
        raise click.ClickException(f"nothing was imported:\n{error}") from error
    database(app).optimize()
    console.print("imported " + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
    _index_now(app)


@main.group()
def dataset() -> None:
    """Withdraw, restore and look back at single datasets."""


def _dataset_action(
    name: str, action: Callable, audited: str | None = None, **detail: object
) -> None:
    """`action` on the datasets in one transaction; `audited`: the audit action of a write."""
    app = _app()
    _require_initialized(app)
    try:
        with database(app).transaction() as session:
            action(catalog(session, "cli", app).datasets)
            if audited:
                access(session, app).audit.append(
                    audited, actor="console", subject=f"dataset:{name}", **detail
                )
    except CatalogError as error:
        raise click.ClickException(str(error)) from error
    _index_now(app)


def _index_now(app: Flask) -> None:
    """Apply this command's changes to the search index, unless a running server owns the
    index writer (it applies them within a second) or the engine is down (it catches up)."""
    try:
        indexer(app).drain()
    except SearchUnavailable as error:
        console.print(f"search index not updated now: {error}")


@dataset.command("withdraw")
@click.argument("name")
@click.option("--reason")
def dataset_withdraw(name: str, reason: str | None) -> None:
    """Withdraw NAME from the catalog (kept, restorable)."""
    _dataset_action(
        name, lambda ds: ds.withdraw(name, reason=reason), "dataset.withdraw", reason=reason
    )


@dataset.command("restore")
@click.argument("name")
def dataset_restore(name: str) -> None:
    """Put a withdrawn dataset back."""
    _dataset_action(name, lambda ds: ds.restore(name), "dataset.restore")


@dataset.command("revert")
@click.argument("name")
@click.argument("number", type=int)
def dataset_revert(name: str, number: int) -> None:
    """Make revision NUMBER of NAME current again."""
    _dataset_action(name, lambda ds: ds.revert(name, number), "dataset.revert", revision=number)


@dataset.command("history")
@click.argument("name")
def dataset_history(name: str) -> None:
    """List the revisions of NAME, newest first."""

    def show(datasets) -> None:  # type: ignore[no-untyped-def]
        for rev in datasets.history(name):
            changed = ", ".join(rev.changes)
            click.echo(
                f"#{rev.number}\t{rev.at:%Y-%m-%d %H:%M:%S}\t{rev.actor}\t{rev.action}\t{changed}"
            )

    _dataset_action(name, show)


@main.command()
def reindex() -> None:
    """Rebuild the search index from the database and swap it in (searches go on meanwhile)."""
    app = _app()
    _require_initialized(app)
    with database(app).sessions() as session:
        total = session.scalar(
            select(func.count()).select_from(Dataset).where(Dataset.state == "active")
        )
    started = time.perf_counter()
    with Progress(*_columns(), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("reindexing", total=total)
        count = indexer(app).reindex(progress=lambda n: bar.advance(task, n))
    elapsed = time.perf_counter() - started
    console.print(
        f"reindexed {count} datasets in {elapsed:.1f} s ({count / max(elapsed, 1e-9):,.0f}/s)"
    )


@main.command()
def doctor() -> None:
    """Report datasets missing, stale or left over in the search index."""
    app = _app()
    _require_initialized(app)
    try:
        report = indexer(app).doctor()
    except SearchUnavailable as error:
        raise click.ClickException(f"search index unavailable: {error}") from error
    click.echo(
        f"database: {report.expected} searchable datasets; index: {report.indexed} documents"
    )
    click.echo(f"outbox events not yet applied: {report.pending}")
    for label, ids in (
        ("missing", report.missing),
        ("stale", report.stale),
        ("orphaned", report.orphaned),
    ):
        click.echo(f"{label}: {len(ids)}" + (f"  e.g. {', '.join(ids[:5])}" if ids else ""))
    if not report.clean:
        click.echo("run `portal reindex` to repair")
        sys.exit(1)


register_harvest_commands(main, _app, _progress, lambda app: _index_now(app))
register_access_commands(main, _app)


@main.command("config")
@click.option("--markdown", is_flag=True, help="Print the settings table for README.")
def config_command(markdown: bool) -> None:
    """Show the effective settings."""
    if markdown:
        click.echo(markdown_table())
        return
    app = _app()
    for name, value in vars(settings(app)).items():
        shown = "(set)" if name == "secret_key" and value else value
        click.echo(f"{name} = {shown}")
