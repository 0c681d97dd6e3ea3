"""`portal user …` and `portal audit …`: accounts made by an administrator at the console,
and the audit log checked and exported."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from ..catalog import CatalogError
from ..services import access, audit_anchor, database
from .accounts import ROLES
from .audit import Witness
from .checkpoints import CheckpointError, load_public_key, read_checkpoints


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
    @click.option(
        "--checkpoints",
        "witnessed",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A witness's copy of the checkpoints (`portal audit checkpoints --export`).",
    )
    @click.option(
        "--public-key",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The public key published with that copy (required with --checkpoints).",
    )
    def audit_verify(witnessed: Path | None, public_key: Path | None) -> None:
        """Recompute the chain and hold it against the signed checkpoints (and a witness's
        copy); exit 1 and say what is wrong if an entry was altered, removed or cut off, or
        the checkpoints are missing or do not verify."""
        if (witnessed is None) != (public_key is None):
            raise click.UsageError("--checkpoints and --public-key go together")
        witness = None
        if witnessed is not None and public_key is not None:
            try:
                witness = Witness(list(read_checkpoints(witnessed)), load_public_key(public_key))
            except (CheckpointError, ValueError, UnicodeDecodeError) as error:
                raise click.ClickException(f"the witness copy cannot be read: {error}") from error
        app = make_app()
        with database(app).sessions() as session:
            report = access(session, app).audit.verify(witness)
        if report.intact:
            last = f", last #{report.last[0]} {report.last[1][:16]}…" if report.last else ""
            click.echo(f"audit log intact: {report.entries} entries{last}")
            click.echo(
                f"signed checkpoints vouch for {report.checkpointed} of them"
                + (", and so does the witness copy" if witness else ""),
            )
            return
        for problem in report.problems:
            click.echo(f"BROKEN: {problem}", err=True)
        sys.exit(1)

    @audit.command("checkpoints")
    @click.option(
        "--export",
        "folder",
        type=click.Path(file_okay=False, path_type=Path),
        help="Write audit-checkpoints.jsonl and audit-public-key.pem into this folder.",
    )
    @click.option(
        "--start",
        is_flag=True,
        help="Sign the current head of a log written before checkpoints existed (or whose "
        "checkpoints were lost): vouches for the log as it is now; check it first.",
    )
    def audit_checkpoints(folder: Path | None, start: bool) -> None:
        """The signed checkpoints of the audit log: list them, export them for an outside
        witness, or start them."""
        app = make_app()
        log = audit_anchor(app)
        try:
            if start:
                with database(app).transaction() as session:
                    audit = access(session, app).audit
                    audit.append("audit.checkpoints_start", actor="console")
                with database(app).sessions() as session:
                    head = access(session, app).audit.start_checkpoints()
                click.echo(f"checkpoints start at {head.count} entries" if head else "no entries")
            if folder is not None:
                lines, key, count = log.export(folder)
                with database(app).transaction() as session:
                    access(session, app).audit.append(
                        "audit.checkpoints_export", actor="console", checkpoints=count
                    )
                click.echo(f"{count} checkpoints written to {lines}, the public key to {key}")
                return
            for checkpoint in log.all():
                click.echo(
                    f"{checkpoint.at}  {checkpoint.count:>9} entries  "
                    f"#{checkpoint.head_id} {checkpoint.head[:16]}…"
                )
        except (CheckpointError, OSError, ValueError) as error:
            raise click.ClickException(str(error)) from error

    @audit.command("export")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def audit_export(file: Path) -> None:
        """Write the whole log as CSV to FILE (`-` for standard output)."""
        app = make_app()
        with database(app).transaction() as session:
            access(session, app).audit.record_export(actor="console")
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
