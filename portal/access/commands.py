"""`portal user …` and `portal audit …`: accounts made by an administrator at the console,
and the audit log checked and exported."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from ..catalog import CatalogError
from ..services import access, database
from .accounts import ROLES


def register(main: click.Group, make_app: Callable) -> None:
    @main.group()
    def user() -> None:
        """Accounts: enterprises register themselves; the other roles are made here."""

    @user.command("add")
    @click.argument("email")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--org", "organization", help="The department of an officer (its name).")
    @click.option("--name", "display_name", help="Shown name; default: the e-mail's local part.")
    @click.option("--enterprise", "enterprise_name", help="Enterprise (enterprise, operator).")
    @click.option("--uscc", "enterprise_uscc", help="统一社会信用代码 of the enterprise.")
    @click.password_option(help="Asked for when not given (min. 10 characters).")
    def user_add(email: str, role: str, organization: str | None, password: str, **more) -> None:  # type: ignore[no-untyped-def]
        """Add an account with ROLE (officer, authority, operator, admin, enterprise)."""
        app = make_app()
        try:
            with database(app).transaction() as session:
                made = access(session, app).accounts.create(
                    {"email": email, "password": password, **more},
                    role=role,
                    organization=organization,
                    by="console",
                )
                click.echo(f"user {made.id} {made.email} ({made.role}) added")
        except CatalogError as error:
            raise click.ClickException(str(error)) from error

    @main.group()
    def audit() -> None:
        """The audit log: verify its hash chain, export it."""

    @audit.command("verify")
    def audit_verify() -> None:
        """Recompute the chain; exit 1 and name the entries if any was altered or removed."""
        app = make_app()
        with database(app).sessions() as session:
            report = access(session, app).audit.verify()
        if report.intact:
            last = f", last #{report.last[0]} {report.last[1][:16]}…" if report.last else ""
            click.echo(f"audit log intact: {report.entries} entries{last}")
            return
        for problem in report.problems:
            click.echo(f"BROKEN: {problem}", err=True)
        sys.exit(1)

    @audit.command("export")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def audit_export(file: Path) -> None:
        """Write the whole log as CSV to FILE (`-` for standard output)."""
        app = make_app()
        with database(app).sessions() as session:
            chunks = access(session, app).audit.export_csv()
            if str(file) == "-":
                for chunk in chunks:
                    click.echo(chunk, nl=False)
                return
            with file.open("w", encoding="utf-8", newline="") as out:
                for chunk in chunks:
                    out.write(chunk)
        click.echo(f"audit log written to {file}", err=True)
