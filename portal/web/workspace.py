"""Workspaces: an enterprise applies and follows its applications, its grants (quota
left, usage reports) and its API tokens; a data officer and the platform authority work
through their review queues.

The pages call the same access services as the API, so rights, validation (field errors
in both languages) and the audit trail are the same; forms carry CSRF tokens.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from harvesters import SourceSettings, load_harvester
from harvesters.base import HarvestSourceError
from harvesters.outbound import Reach
from schemas import message

from .. import guard
from ..access import rights
from ..access.applications import Applications
from ..access.tokens import MAX_DAYS
from ..catalog.errors import NotFound
from ..db import utcnow
from ..harvest.runner import HarvestReport, run_harvest
from ..harvest.uploads import SUFFIXES as UPLOAD_SUFFIXES
from ..harvest.uploads import Uploads, UploadTooLarge
from ..models import Grant, User
from ..services import access, audit_anchor, catalog, database, policy, settings
from ..visibility import PUBLIC, may_find
from .signed_in import attempt, client_ip, current_account, drain_index
from .site import blueprint

ID = "int(min=1, max=2147483647)"  # an id the database can hold (a larger one: 404)


@blueprint.route("/apply/<name>", methods=["GET", "POST"])
@guard.signed_in(rule="application.submit")
def apply(name: str) -> ResponseReturnValue:
    """The application form for a 有条件开放 dataset."""
    with database().sessions() as session:
        dataset = catalog(session, "web").datasets.find(name)
        if dataset is None or not may_find(PUBLIC, dataset):
            abort(404)
        resources = [(r.id, r.name, r.format) for r in dataset.resources]
        title, condition, open_type = dataset.title, dataset.open_condition, dataset.open_type
    form: dict[str, Any] = {
        "resources": request.form.getlist("resources") or [r[0] for r in resources],
        "purpose": request.form.get("purpose", ""),
        "scenario": request.form.get("scenario", ""),
        "term_days": request.form.get("term_days", "90"),
        "quota_calls": request.form.get("quota_calls", "1000"),
        "commitment_accepted": request.form.get("commitment_accepted") == "y",
    }
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        data = {**form, "dataset": name}
        for number in ("term_days", "quota_calls"):
            data[number] = _number(form[number])

        def submit(session: Session) -> int:
            applicant = current_account(session)
            return access(session).applications.submit(applicant, data, ip=client_ip()).id

        made, refused = attempt(submit)
        if refused is None:
            flash(message("申请已提交，请等待形式审查", "Submitted: the formality review is next."))
            return redirect(url_for("web.application", application_id=made))
        errors, status = refused.errors, refused.status
    page = render_template(
        "workspace/apply.html",
        name=name,
        title=title,
        condition=condition,
        open_type=open_type,
        resources=resources,
        form=form,
        errors=errors,
    )
    return page, status


def _number(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text  # the schema reports a bad one


@blueprint.get("/workspace")
@guard.signed_in()  # what it shows depends on the user's rights
def workspace() -> ResponseReturnValue:
    """What the signed-in user has to do or follow, by role."""
    with database().sessions() as session:
        user = current_account(session)
        services = access(session)
        context: dict[str, Any] = {"user": user, "overdue": Applications.overdue}
        if rights.allowed(user, "application.submit"):
            context["applications"] = services.applications.mine(user)
            context["grants"] = services.grants.mine(user)
            context["tokens"] = services.tokens.of(user)
            context.update(_grant_helpers())
        if rights.allowed(user, "queue.formality"):
            context["formality"] = services.applications.formality_queue(user)
            context["openness"] = services.stewardship.pending(user)
        if rights.allowed(user, "queue.substantive"):
            context["substantive"] = services.applications.substantive_queue(user)
            context["overdue_reports"] = services.grants.reports_overdue(user)
        return render_template("workspace/index.html", **context)


@blueprint.route("/workspace/applications/<int:application_id>", methods=["GET", "POST"])
# and the step posted: application.formality, .decide or .withdraw, by the service
@guard.signed_in(object_rule="application.read")
def application(application_id: int) -> ResponseReturnValue:
    """One application: its history, and the decision form for whoever reviews it now."""
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        step = request.form.get("step")
        data = {
            key: value
            for key, value in request.form.items()
            if key not in ("csrf_token", "step", "resources") and value != ""
        }
        if request.form.getlist("resources"):
            data["resources"] = request.form.getlist("resources")
        for number in ("term_days", "quota_calls"):
            if number in data:
                data[number] = _number(data[number])

        def review(session: Session) -> None:
            user = current_account(session)
            applications = access(session).applications
            if step == "formality":
                applications.formality(user, application_id, data, ip=client_ip())
            elif step == "decision":
                applications.decide(user, application_id, data, ip=client_ip())
            elif step == "withdraw":
                applications.withdraw(user, application_id, ip=client_ip())
            else:
                abort(400)

        _done, refused = attempt(review)
        if refused is None:
            flash(message("已处理", "Done."))
            return redirect(url_for("web.application", application_id=application_id))
        errors, status = refused.errors, refused.status
    with database().sessions() as session:
        user = current_account(session)
        try:
            found = access(session).applications.get(user, application_id)
        except NotFound:
            abort(404)
        page = render_template(
            "workspace/application.html",
            application=found,
            user=user,
            resources={r.id: r.name for r in found.dataset.resources},
            overdue=Applications.overdue(found),
            errors=errors,
        )
        return page, status


# -- an enterprise's grants: quota left, usage reports -----------------------------------
def days_left(moment: datetime, now: datetime | None = None) -> int:
    """Whole days until `moment`, a part day counting as one; 0 once it has passed."""
    seconds = (moment - (now or utcnow())).total_seconds()
    return max(0, math.ceil(seconds / 86400))


def grant_status(grant: Grant, now: datetime | None = None) -> str:
    """active, revoked, expired or used_up (the labels are in `workspace/_grants.html`)."""
    now = now or utcnow()
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at <= now:
        return "expired"
    if grant.used_calls >= grant.quota_calls:
        return "used_up"
    return "active"


def report_overdue(grant: Grant, now: datetime | None = None) -> bool:
    """The holder owes a usage report (as `Grants.reports_overdue` counts it)."""
    now = now or utcnow()
    return (
        grant.revoked_at is None and grant.report_due < now and grant.expires_at > grant.report_due
    )


def _grant_helpers() -> dict[str, Any]:
    now = utcnow()
    return {
        "now": now,
        "days_left": lambda moment: days_left(moment, now),
        "grant_status": lambda grant: grant_status(grant, now),
        "report_overdue": lambda grant: report_overdue(grant, now),
    }


REPORT_FIELDS = ("usage", "results", "benefits")


@blueprint.route(f"/workspace/grants/<{ID}:grant_id>", methods=["GET", "POST"])
@guard.signed_in(object_rule="grant.read")  # a report posted: report.file
def workspace_grant(grant_id: int) -> ResponseReturnValue:
    """One grant: what it covers, the quota left, the usage reports and, for its holder,
    the form to file the next one."""
    form = {key: request.form.get(key, "") for key in REPORT_FIELDS}
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":

        def file(session: Session) -> None:
            access(session).grants.file_report(
                current_account(session), grant_id, dict(form), ip=client_ip()
            )

        _done, refused = attempt(file)
        if isinstance(refused, NotFound):
            abort(404)
        if refused is None:
            flash(message("利用情况报告已提交", "Usage report filed."), "success")
            return redirect(url_for("web.workspace_grant", grant_id=grant_id))
        errors, status = refused.errors, refused.status
    with database().sessions() as session:
        user = current_account(session)
        services = access(session)
        try:
            found = services.grants.get(user, grant_id)
        except NotFound:
            abort(404)
        page = render_template(
            "workspace/grant.html",
            grant=found,
            user=user,
            reports=services.grants.reports(user, grant_id),
            resources={r.id: r for r in found.dataset.resources},
            form=form,
            errors=errors,
            **_grant_helpers(),
        )
        return page, status


# -- API tokens: made here, shown once -----------------------------------------------------
DEFAULT_TOKEN_DAYS = 90


def token_status(expires_at: datetime | None, revoked_at: datetime | None) -> str:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= utcnow():
        return "expired"
    return "active"


def _scope_choices(session: Session, user: User) -> tuple[list[str], list[Grant]]:
    """What the user may put on a token: the scopes of their role, and a scope for each
    of their grants still in force."""
    now = utcnow()
    grants = [
        g for g in access(session).grants.mine(user) if g.revoked_at is None and g.expires_at > now
    ]
    return rights.role_scopes(user), grants


@blueprint.route("/workspace/tokens", methods=["GET", "POST"])
@guard.signed_in()  # one's own tokens, with the scopes one's role may hold
def workspace_tokens() -> ResponseReturnValue:
    """The user's API tokens, a form to make one and a button to revoke each. A new
    token's secret is in this response only: never in the session, never again."""
    form: dict[str, Any] = {
        "name": request.form.get("name", ""),
        "scopes": request.form.getlist("scopes"),
        "days": request.form.get("days", str(DEFAULT_TOKEN_DAYS)),
    }
    if request.method == "GET" and request.args.get("grant", "").isdigit():
        form["scopes"] = [f"grant:{request.args['grant']}"]  # from a grant's page
    errors: dict[str, Any] = {}
    status, secret, created = 200, None, None
    if request.method == "POST":

        def make(session: Session) -> tuple[int, str]:
            token, shown = access(session).tokens.create(
                current_account(session),
                name=form["name"],
                scopes=form["scopes"],
                days=_number(form["days"]),
            )
            return token.id, shown

        made, refused = attempt(make)
        if refused is None and made is not None:
            created, secret = made
            form = {"name": "", "scopes": [], "days": str(DEFAULT_TOKEN_DAYS)}
        elif refused is not None:
            errors, status = refused.errors, refused.status
    with database().sessions() as session:
        user = current_account(session)
        scopes, grants = _scope_choices(session, user)
        page = render_template(
            "workspace/tokens.html",
            user=user,
            tokens=access(session).tokens.of(user),
            token_status=token_status,
            scopes=scopes,
            grants=grants,
            max_days=MAX_DAYS,
            form=form,
            errors=errors,
            secret=secret,
            created=created,
        )
    return page, status, {"Cache-Control": "no-store"}


@blueprint.post(f"/workspace/tokens/<{ID}:token_id>/revoke")
@guard.signed_in()
def revoke_workspace_token(token_id: int) -> ResponseReturnValue:
    def revoke(session: Session) -> None:
        access(session).tokens.revoke(current_account(session), token_id)

    _done, refused = attempt(revoke)
    if isinstance(refused, NotFound):
        abort(404)  # another's token: as if absent
    if refused is not None:
        abort(refused.status)
    revoked = message("令牌已撤销，立即停止生效", "Token revoked: it stops working at once.")
    flash(revoked, "success")
    return redirect(url_for("web.workspace_tokens"))


# -- a department uploads its spreadsheet catalog: a dry run first, then the real one ----
def _uploads() -> Uploads:
    return Uploads(settings().instance_dir / "uploads", settings().max_upload_bytes)


def _harvest_upload(path: Path, *, dry_run: bool) -> HarvestReport:
    """The uploaded workbook through the spreadsheet harvester into the officer's
    department; with `dry_run`, what would change, nothing kept."""
    with database().sessions() as session:
        user = current_account(session)
        department, actor = user.organization.name, f"user:{user.id}"
    return run_harvest(
        database(),
        # The file is the portal's own copy of the upload: the one local file it may read.
        load_harvester("spreadsheet", str(path), reach=Reach(local_files=True)),
        actor=actor,
        policy=policy(),
        settings=SourceSettings(publisher=department),
        dry_run=dry_run,
        audit_anchor=audit_anchor(),
    )


def _upload_page(errors: dict[str, Any], status: int) -> ResponseReturnValue:
    return render_template("workspace/upload.html", report=None, upload=None, errors=errors), status


def _unreadable(error: HarvestSourceError) -> ResponseReturnValue:
    return _upload_page({"catalog": [message(f"无法读取：{error}", f"Cannot read: {error}")]}, 422)


@blueprint.route("/workspace/catalog/upload", methods=["GET", "POST"])
@guard.signed_in(rule="dataset.create")
def upload_catalog() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("workspace/upload.html", report=None, upload=None, errors={})
    file = request.files.get("catalog")
    suffix = Path(file.filename or "").suffix.lower() if file else ""
    if file is None or suffix not in UPLOAD_SUFFIXES:
        return _upload_page(
            {"catalog": [message("请选择 .xlsx 或 .csv 文件", "Choose an .xlsx or .csv file.")]},
            422,
        )
    uploads = _uploads()
    try:
        upload = uploads.save(file.stream, suffix)
    except UploadTooLarge as error:
        too_large = message(
            f"文件超过 {error.limit:,} 字节", f"The file is over {error.limit:,} bytes."
        )
        return _upload_page({"catalog": [too_large]}, 413)
    path = uploads.path(upload)
    assert path is not None
    try:
        report = _harvest_upload(path, dry_run=True)
    except HarvestSourceError as error:
        uploads.discard(upload)  # nothing to commit: not kept
        return _unreadable(error)
    except BaseException:
        uploads.discard(upload)
        raise
    return render_template(
        "workspace/upload.html", report=report, upload=upload, dry_run=True, errors={}
    )


@blueprint.post("/workspace/catalog/upload/<upload>/commit")
@guard.signed_in(rule="dataset.create")
def commit_upload(upload: str) -> ResponseReturnValue:
    uploads = _uploads()
    path = uploads.path(upload)
    if path is None:
        abort(404)
    try:
        report = _harvest_upload(path, dry_run=False)
    except HarvestSourceError as error:
        return _unreadable(error)
    finally:
        uploads.discard(upload)
    drain_index()
    return render_template(
        "workspace/upload.html", report=report, upload=None, dry_run=False, errors={}
    )
