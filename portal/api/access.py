"""The access API: accounts, tokens, applications and their review, grants and the data
they serve, usage reports, openness requests, the audit log.

Each view declares who may call it (`portal/guard.py`: the token scope and the rule of
`access/rights.py`), which is checked before it runs; a rule about one object is checked
by the service on it. Each view runs one transaction through the access services; a
refused operation raises a service error that `rest.py` turns into a problem document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, jsonify, request, stream_with_context
from sqlalchemy.orm import Session

from schemas import DatasetSchema, message
from schemas.access import (
    ApplicationSchema,
    DecisionSchema,
    FormalitySchema,
    ResubmissionSchema,
    UsageReportSchema,
)

from .. import guard
from ..access import Download, metered, rights
from ..catalog.documents import dataset_document
from ..catalog.errors import CatalogError, Invalid, NotFound
from ..guard import caller, optional_caller
from ..mail import mail_registration_taken
from ..models import Application, OpennessRequest
from ..services import access, database
from . import shapes
from .documented import BINARY, CSV, Reply, documented
from .rest import blueprint
from .serialize import application_json, grant_json, report_json, token_json

T = TypeVar("T")
# Ids in paths: a number the database can hold (a larger one is simply not found).
ID = "int(min=1, max=2147483647)"
REGISTERED = message(
    "已受理：如该邮箱尚未注册，账户已建立，可用其登录；否则该邮箱会收到一封提醒邮件。",
    "Accepted: if the address was new, the account is made and you can sign in; otherwise "
    "the address gets a mail about it.",
)
HELD = (
    "Held for the platform authority: the update changes the dataset's openness or lowers "
    "its grade."
)


def body() -> dict[str, Any]:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: no body we take
        data = None
    if not isinstance(data, dict):
        raise Invalid({"_": [message("请求体须为 JSON 对象", "The body must be a JSON object.")]})
    return data


def committed(work: Callable[[Session], T]) -> T:
    """Run `work` in a transaction. A refused operation still commits what it recorded
    on the way (a failed sign-in counts, its audit entry stays) before it is reported."""
    with database().transaction() as session:
        try:
            return work(session)
        except CatalogError as error:
            refused = error
    raise refused


def ip() -> str | None:
    return request.remote_addr


# -- accounts and tokens ------------------------------------------------------------------
@blueprint.post("/accounts")
@guard.public
@documented(
    tag="accounts", body=shapes.Registration, responses={202: shapes.Account}, errors=(422,)
)
def register() -> tuple[Response, int]:
    """Register an enterprise

    The same answer whether the address is new (the account is made: sign in with it) or
    already has an account (none is made, and its owner is told by mail): sign-up does not
    tell who has an account."""
    data = body()
    made = committed(lambda s: access(s).accounts.sign_up(data, ip=ip()))
    if made.existing is not None:
        mail_registration_taken(made.existing.email, made.existing.display_name)
    email = str(data["email"]).strip().lower()
    return jsonify({"email": email, "role": "enterprise", "detail": REGISTERED}), 202


@blueprint.post("/tokens")
@guard.public  # e-mail and password in the body
@documented(
    tag="accounts", body=shapes.TokenRequest, responses={201: shapes.Token}, errors=(401, 403)
)
def create_token() -> tuple[Response, int]:
    """Create a token (e-mail and password; shown once)

    A token for oneself, against e-mail and password (the API keeps no sessions)."""
    data = body()

    def work(session: Session) -> tuple[Any, str]:
        services = access(session)
        user = services.accounts.authenticate(
            str(data.get("email") or ""), str(data.get("password") or ""), ip=ip()
        )
        return services.tokens.create(
            user,
            name=str(data.get("name") or ""),
            scopes=[str(s) for s in data.get("scopes") or []],
            days=data.get("days", 90),
        )

    token, secret = committed(work)
    return jsonify({**token_json(token), "token": secret}), 201


@blueprint.get("/tokens")
@guard.token("tokens")
@documented(tag="accounts", responses={200: shapes.TokenList})
def list_tokens() -> Response:
    """Your tokens"""

    def work(session: Session) -> list[dict[str, Any]]:
        return [token_json(t) for t in access(session).tokens.of(caller(session).user)]

    return jsonify({"tokens": committed(work)})


@blueprint.delete(f"/tokens/<{ID}:token_id>")
@guard.token("tokens")  # one's own: another's is not found
@documented(tag="accounts", responses={200: shapes.Token}, errors=(404,))
def revoke_token(token_id: int) -> Response:
    """Revoke one of your tokens"""

    def work(session: Session) -> dict[str, Any]:
        return token_json(access(session).tokens.revoke(caller(session).user, token_id))

    return jsonify(committed(work))


# -- applications -------------------------------------------------------------------------
@blueprint.post("/applications")
@guard.token("applications", rule="application.submit")
@documented(tag="applications", body=ApplicationSchema, responses={201: shapes.Application})
def submit_application() -> tuple[Response, int]:
    """Apply for resources of a conditionally open dataset"""
    data = body()

    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        return application_json(access(session).applications.submit(user, data, ip=ip()))

    return jsonify(committed(work)), 201


@blueprint.get("/applications")
@guard.token("applications:read")  # what it lists depends on the caller's queues
@documented(tag="applications", responses={200: shapes.ApplicationList})
def list_applications() -> Response:
    """Yours, or the queue you review

    Mine (an applicant), or the queue I review: the authority's formality queue, an
    officer's substantive queue."""

    def work(session: Session) -> list[dict[str, Any]]:
        user = caller(session).user
        applications = access(session).applications
        if rights.allowed(user, "queue.formality"):
            found = applications.formality_queue(user)
        elif rights.allowed(user, "queue.substantive"):
            found = applications.substantive_queue(user)
        else:
            found = applications.mine(user)
        return [application_json(a) for a in found]

    return jsonify({"applications": committed(work)})


@blueprint.get(f"/applications/<{ID}:application_id>")
@guard.token("applications:read", object_rule="application.read")
@documented(tag="applications", responses={200: shapes.Application}, errors=(404,))
def show_application(application_id: int) -> Response:
    """One application with its history"""

    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        return application_json(access(session).applications.get(user, application_id), True)

    return jsonify(committed(work))


def _application_action(
    application_id: int, act: Callable[..., Application], *args: Any
) -> Response:
    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        return application_json(act(access(session).applications, user, application_id, *args))

    return jsonify(committed(work))


@blueprint.post(f"/applications/<{ID}:application_id>/withdraw")
@guard.token("applications", object_rule="application.withdraw")
@documented(tag="applications", responses={200: shapes.Application}, errors=(404, 409))
def withdraw_application(application_id: int) -> Response:
    """Withdraw"""
    return _application_action(application_id, lambda a, u, i: a.withdraw(u, i, ip=ip()))


@blueprint.post(f"/applications/<{ID}:application_id>/resubmit")
@guard.token("applications", object_rule="application.resubmit")
@documented(
    tag="applications",
    body=ResubmissionSchema,
    responses={200: shapes.Application},
    errors=(404, 409),
)
def resubmit_application(application_id: int) -> Response:
    """Send a returned application again"""
    data = body()
    return _application_action(application_id, lambda a, u, i: a.resubmit(u, i, data, ip=ip()))


@blueprint.post(f"/applications/<{ID}:application_id>/formality")
@guard.token("reviews", object_rule="application.formality")
@documented(
    tag="applications",
    body=FormalitySchema,
    responses={200: shapes.Application},
    errors=(404, 409),
)
def formality_review(application_id: int) -> Response:
    """Formality review (platform authority)"""
    data = body()
    return _application_action(application_id, lambda a, u, i: a.formality(u, i, data, ip=ip()))


@blueprint.post(f"/applications/<{ID}:application_id>/decision")
@guard.token("reviews", object_rule="application.decide")
@documented(
    tag="applications", body=DecisionSchema, responses={200: shapes.Application}, errors=(404, 409)
)
def substantive_review(application_id: int) -> Response:
    """Substantive review (publishing department)"""
    data = body()
    return _application_action(application_id, lambda a, u, i: a.decide(u, i, data, ip=ip()))


# -- grants, data, reports ----------------------------------------------------------------
@blueprint.get("/grants")
@guard.token("applications:read")  # one's own
@documented(tag="grants", responses={200: shapes.GrantList})
def list_grants() -> Response:
    """Your grants"""

    def work(session: Session) -> list[dict[str, Any]]:
        user = caller(session).user
        return [grant_json(g) for g in access(session).grants.mine(user)]

    return jsonify({"grants": committed(work)})


@blueprint.get(f"/grants/<{ID}:grant_id>")
@guard.token("applications:read", object_rule="grant.read")
@documented(tag="grants", responses={200: shapes.Grant}, errors=(404,))
def show_grant(grant_id: int) -> Response:
    """One grant, with what is used"""

    def work(session: Session) -> dict[str, Any]:
        return grant_json(access(session).grants.get(caller(session).user, grant_id))

    return jsonify(committed(work))


@blueprint.post(f"/grants/<{ID}:grant_id>/revoke")
@guard.token("reviews", object_rule="grant.revoke")
@documented(tag="grants", body=shapes.Reason, responses={200: shapes.Grant}, errors=(404,))
def revoke_grant(grant_id: int) -> Response:
    """Revoke a grant"""
    reason = body().get("reason")

    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        return grant_json(access(session).grants.revoke(user, grant_id, reason, ip=ip()))

    return jsonify(committed(work))


@blueprint.get(f"/grants/<{ID}:grant_id>/resources/<resource_id>/data")
@guard.token("grant:{grant_id}", object_rule="grant.use")
@documented(tag="data", responses={200: BINARY}, errors=(404,))
def grant_data(grant_id: int, resource_id: str) -> Response:
    """The data of a granted resource (metered)

    To the grant's holder, with a token scoped to the grant. The call is counted (and
    audited) before the first byte; the bytes when the last is sent."""

    def work(session: Session) -> Download:
        return access(session).grants.serve(caller(session), grant_id, resource_id, ip=ip())

    download = committed(work)

    def count_bytes(sent: int) -> None:
        with database().transaction() as session:
            access(session).grants.count_bytes(grant_id, sent)

    return _stream(download, count_bytes)


@blueprint.get("/datasets/<name>/resources/<resource_id>/data")
@guard.token("catalog:read", optional=True)  # a token given names who downloads
@documented(tag="data", responses={200: BINARY}, errors=(403, 404))
def open_data(name: str, resource_id: str) -> Response:
    """Download a resource of an openly available dataset

    A resource of a 无条件开放 dataset: no token needed."""

    def work(session: Session) -> Download:
        found = optional_caller(session)
        actor = found.label if found else f"anonymous {ip() or ''}".strip()
        return access(session).grants.open_download(name, resource_id, actor=actor, ip=ip())

    return _stream(committed(work), None)


def _stream(download: Download, on_done: Callable[[int], None] | None) -> Response:
    chunks = metered(download.chunks, on_done) if on_done else download.chunks
    response = Response(stream_with_context(chunks), mimetype=download.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    if download.size is not None:
        response.headers["Content-Length"] = str(download.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.post(f"/grants/<{ID}:grant_id>/reports")
@guard.token("applications", object_rule="report.file")
@documented(tag="grants", body=UsageReportSchema, responses={201: shapes.Report}, errors=(404,))
def file_report(grant_id: int) -> tuple[Response, int]:
    """Report how the data was used"""
    data = body()

    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        return report_json(access(session).grants.file_report(user, grant_id, data, ip=ip()))

    return jsonify(committed(work)), 201


@blueprint.get(f"/grants/<{ID}:grant_id>/reports")
@guard.token("applications:read", object_rule="report.read")
@documented(tag="grants", responses={200: shapes.ReportList}, errors=(404,))
def list_reports(grant_id: int) -> Response:
    """Usage reports of a grant"""

    def work(session: Session) -> list[dict[str, Any]]:
        user = caller(session).user
        return [report_json(r) for r in access(session).grants.reports(user, grant_id)]

    return jsonify({"reports": committed(work)})


@blueprint.get("/grants/overdue-reports")
@guard.token("applications:read", rule="report.overdue")
@documented(tag="grants", responses={200: shapes.GrantList})
def overdue_reports() -> Response:
    """Grants whose usage report is overdue"""

    def work(session: Session) -> list[dict[str, Any]]:
        user = caller(session).user
        return [grant_json(g) for g in access(session).grants.reports_overdue(user)]

    return jsonify({"grants": committed(work)})


# -- a department's catalog ---------------------------------------------------------------
@blueprint.post("/datasets")
@guard.token("catalog:manage", rule="dataset.create")
@documented(tag="catalog", body=DatasetSchema, responses={201: DatasetSchema}, errors=(409,))
def create_dataset() -> tuple[Response, int]:
    """Register a dataset of your department"""
    data = body()

    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        return dataset_document(access(session).stewardship.create(user, data, ip=ip()))

    return jsonify(committed(work)), 201


@blueprint.put("/datasets/<name>")
@guard.token("catalog:manage", object_rule="dataset.manage")
@documented(
    tag="catalog",
    query=shapes.UpdateArgs,
    body=DatasetSchema,
    responses={200: DatasetSchema, 202: Reply(shapes.OpennessRequest, HELD)},
    errors=(404, 409),
)
def update_dataset(name: str) -> tuple[Response, int]:
    """Replace a dataset (202 with a request when its openness or grade must be approved)

    200 with the dataset; 202 with the request when the update changes the dataset's
    openness or lowers its grade (it waits for the platform authority)."""
    data = body()
    reason = request.args.get("reason") or data.pop("_reason", None)

    def work(session: Session) -> tuple[dict[str, Any], int]:
        user = caller(session).user
        result = access(session).stewardship.update(user, name, data, reason=reason, ip=ip())
        if isinstance(result, OpennessRequest):
            return _openness_json(result), 202
        return dataset_document(result), 200

    document, status = committed(work)
    return jsonify(document), status


@blueprint.put("/datasets/<name>/resources/<resource_id>/file")
@guard.token("catalog:manage", object_rule="dataset.files")
@documented(tag="data", body=BINARY, responses={201: shapes.StoredFile}, errors=(404, 507))
def upload_file(name: str, resource_id: str) -> tuple[Response, int]:
    """Store a resource's data file

    The data of a resource, kept by the portal (the request body is the file)."""

    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        services = access(session)
        dataset = services.stewardship.managed(user, name, "dataset.files")
        resource = next((r for r in dataset.resources if r.id == resource_id), None)
        if resource is None:
            raise NotFound.entity("资源", "resource", resource_id)
        stored = services.files.store(resource, request.stream)
        services.audit.append(
            "resource.upload",
            actor=f"user:{user.id}",
            subject=f"dataset:{name}",
            ip=ip(),
            resource=resource_id,
            size=stored.size,
            sha256=stored.sha256,
        )
        return {"resource": resource_id, "size": stored.size, "sha256": stored.sha256}

    return jsonify(committed(work)), 201


# -- the platform authority ---------------------------------------------------------------
@blueprint.get("/openness-requests")
@guard.token("reviews:read", rule="openness.decide")
@documented(tag="authority", responses={200: shapes.OpennessRequestList})
def openness_requests() -> Response:
    """Openness downgrades waiting (platform authority)"""

    def work(session: Session) -> list[dict[str, Any]]:
        user = caller(session).user
        return [_openness_json(r) for r in access(session).stewardship.pending(user)]

    return jsonify({"requests": committed(work)})


@blueprint.post(f"/openness-requests/<{ID}:request_id>/decision")
@guard.token("reviews", rule="openness.decide")
@documented(
    tag="authority",
    body=shapes.OpennessDecision,
    responses={200: shapes.OpennessRequest},
    errors=(404, 409),
)
def decide_openness(request_id: int) -> Response:
    """Approve or reject a downgrade"""
    data = body()
    approve = data.get("decision") == "approve"
    if data.get("decision") not in ("approve", "reject"):
        raise Invalid(
            {"decision": [message("决定须为 approve 或 reject", "Decide approve or reject.")]}
        )

    def work(session: Session) -> dict[str, Any]:
        user = caller(session).user
        decided = access(session).stewardship.decide(
            user, request_id, approve, data.get("reason"), ip=ip()
        )
        return _openness_json(decided)

    return jsonify(committed(work))


def _limit(value: str | None) -> int:
    if value is None:
        return 100
    if not value.isdigit() or not 1 <= int(value) <= 1000:
        raise Invalid({"limit": [message("limit 为 1–1000 的整数", "limit is 1–1000.")]})
    return int(value)


def _openness_json(item: OpennessRequest) -> dict[str, Any]:
    return {
        "id": item.id,
        "dataset": item.dataset.name,
        "from": item.from_open_type,
        "to": item.to_open_type,
        "reason": item.reason,
        "state": item.state,
        "requested_by": item.requested_by,  # None: a harvest source's record asked
        "harvest_source": item.harvest_source.name if item.harvest_source else None,
        "requested_at": item.requested_at.isoformat(),
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "decision_reason": item.decision_reason,
    }


@blueprint.get("/audit")
@guard.token("audit:read", rule="audit.read")
@documented(tag="authority", query=shapes.AuditArgs, responses={200: shapes.AuditEntries})
def audit_entries() -> Response:
    """Audit log entries, newest first"""

    def work(session: Session) -> list[dict[str, Any]]:
        entries = access(session).audit.entries(
            action=request.args.get("action"),
            subject=request.args.get("subject"),
            limit=_limit(request.args.get("limit")),
        )
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "ip": e.ip,
                "detail": e.detail,
                "hash": e.hash,
            }
            for e in entries
        ]

    return jsonify({"entries": committed(work)})


@blueprint.get("/audit.csv")
@guard.token("audit:read", rule="audit.read")
@documented(tag="authority", responses={200: CSV})
def audit_csv() -> Response:
    """The whole audit log as CSV"""
    committed(lambda s: access(s).audit.record_export(actor=caller(s).label, ip=ip()))

    def rows() -> Any:
        with database().sessions() as session:
            yield from access(session).audit.export_csv()

    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
