"""The platform authority's workspace: openness downgrades to decide, zones to keep, the
profile's vocabularies and grade policy to consult, the audit log to search and verify.

Everything goes through the same services as the API (the stewardship service decides
openness requests, the catalog's `Zones` validates zones against the profile), so rights,
field errors in both languages and the audit trail are the same; forms carry CSRF tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from schemas import Message, flatten, message, vocab, vocabularies

from .. import guard
from ..access.audit import AuditFilter
from ..catalog import listings
from ..catalog.documents import zone_document
from ..catalog.errors import CatalogError
from ..models import AuditEntry, OpennessRequest, Zone
from ..services import access, catalog, database, policy
from ..visibility import Viewer
from .signed_in import attempt, current_account, drain_index
from .site import blueprint

T = TypeVar("T")

AUDIT_PAGE_SIZE = 50
ZONE_FIELDS = ("title", "title_en", "description", "operator")
SCENARIO_FIELDS = ("code", "title", "title_en", "description")
SCENARIO_INPUT = re.compile(r"^scenarios-(\d{1,3})-(code|title|title_en|description)$")
BLANK_SCENARIO_ROWS = 2  # empty rows under a zone's scenarios, to add new ones
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# Who may come in is declared on each view (portal/guard.py checks it before the view):
# openness decisions, zones and the profile are the authority's to keep (domain.md §1),
# the audit log the authority's and the administrators' to read.
def _attempt(work: Callable[[Session], T]) -> tuple[T | None, CatalogError | None]:
    """`attempt`, but a refusal of the right itself is a 403 page, not a form error."""
    done, refused = attempt(work)
    if refused is not None and refused.status == 403:
        abort(403)
    return done, refused


# -- openness downgrades -----------------------------------------------------------------------
@blueprint.get("/workspace/openness")
@guard.signed_in(rule="openness.decide")
def authority_openness() -> ResponseReturnValue:
    return _openness_page()


@blueprint.post("/workspace/openness/<int:request_id>")
@guard.signed_in(rule="openness.decide")
def authority_decide_openness(request_id: int) -> ResponseReturnValue:
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        abort(400)
    reason = request.form.get("reason", "").strip() or None

    def decide(session: Session) -> None:
        access(session).stewardship.decide(
            current_account(session),
            request_id,
            decision == "approve",
            reason,
            ip=request.remote_addr,
        )

    _done, refused = _attempt(decide)
    if refused is None:
        drain_index()
        if decision == "approve":
            flash(
                message(
                    f"已批准第 {request_id} 号申请，数据集的开放属性已变更",
                    f"Request #{request_id} approved: the dataset's openness has changed.",
                )
            )
        else:
            flash(message(f"已驳回第 {request_id} 号申请", f"Request #{request_id} rejected."))
        return redirect(url_for("web.authority_openness"))
    return _openness_page(request_id, refused.errors, reason or "", refused.status)


def _openness_page(
    failed: int | None = None,
    errors: dict[str, Any] | None = None,
    typed: str = "",
    status: int = 200,
) -> ResponseReturnValue:
    """The pending requests; after a refused decision, its errors beside its form (or at
    the top, when the request is no longer pending)."""
    with database().sessions() as session:
        user = current_account(session)
        try:
            pending = access(session).stewardship.pending(user)
        except CatalogError as error:
            abort(error.status)
        requesters = access(session).accounts.by_ids(
            {r.requested_by for r in pending if r.requested_by is not None}
        )
        beside = failed in {r.id for r in pending}  # else decided meanwhile, or never was
        flat = flatten(errors or {})
        page = render_template(
            "authority/openness.html",
            pending=pending,
            requesters=requesters,
            grade_change=_grade_change,
            failed=failed if beside else None,
            reason_errors=[m for path, m in flat if path == "reason"],
            # the request's other refusals beside its form, or at the top of the page
            others=[(path, m) for path, m in flat if path != "reason" or not beside],
            others_on_top=not beside,
            typed=typed,
        )
        return page, status


def _grade_change(item: OpennessRequest) -> tuple[str, str] | None:
    """(before, after) when the requested update also changes the dataset's grade."""
    asked = item.changes.get("grade") if isinstance(item.changes, dict) else None
    after = vocab("grades").resolve(asked) if asked else None
    before = item.dataset.grade
    return (before, after) if after and after != before else None


# -- zones -------------------------------------------------------------------------------------
@blueprint.get("/workspace/zones")
@guard.signed_in(rule="profile.manage")
def authority_zones() -> ResponseReturnValue:
    with database().sessions() as session:
        user = current_account(session)
        zones = catalog(session, f"user:{user.id}").zones
        return render_template(
            "authority/zones.html",
            zones=zones.all(),
            counts=zones.dataset_counts(Viewer("authority")),
            free_codes=_free_zone_codes(session),
        )


def _free_zone_codes(session: Session) -> list[str]:
    """The vocabulary's zone codes that have no zone yet (a zone's code is a term of it)."""
    taken = listings.zone_codes(session)
    return [code for code in vocab("zones").codes if code not in taken]


@blueprint.route("/workspace/zones/new", methods=["GET", "POST"])
@guard.signed_in(rule="profile.manage")
def authority_new_zone() -> ResponseReturnValue:
    return _zone_form(None)


@blueprint.route("/workspace/zones/<code>/edit", methods=["GET", "POST"])
@guard.signed_in(rule="profile.manage")
def authority_edit_zone(code: str) -> ResponseReturnValue:
    return _zone_form(code)


def _zone_form(code: str | None) -> ResponseReturnValue:
    """Create (`code` None) or edit a zone: the same validation as every catalog write."""
    with database().sessions() as session:
        free_codes = _free_zone_codes(session)
        existing = catalog(session, "web").zones.find(code) if code else None
        if code is not None and existing is None:
            abort(404)
        if request.method == "GET":
            form, rows = _zone_values(existing)
            return _render_zone_form(code, free_codes, form, rows, {}, 200)
    form, rows = _submitted_zone()
    data = {**{k: form[k] for k in ZONE_FIELDS}, "code": code or form["code"], "scenarios": rows}

    def write(session: Session) -> str:
        user = current_account(session)
        zones = catalog(session, f"user:{user.id}").zones
        before = zone_document(zones.get(code)) if code else None
        zone = zones.update(code, data) if code else zones.create(data)
        if zone_document(zone) != before:  # a save that changes nothing is not an event
            access(session).audit.append(
                "zone.update" if code else "zone.create",
                actor=f"user:{user.id}",
                subject=f"zone:{zone.code}",
                ip=request.remote_addr,
            )
        return zone.code

    saved, refused = _attempt(write)
    if refused is None:
        flash(message(f"专区「{saved}」已保存", f"Zone {saved} saved."))
        return redirect(url_for("web.authority_zones"))
    return _render_zone_form(code, free_codes, form, rows, refused.errors, refused.status)


def _zone_values(zone: Zone | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    if zone is None:
        return {"code": "", **dict.fromkeys(ZONE_FIELDS, "")}, []
    form = {"code": zone.code, **{k: getattr(zone, k) or "" for k in ZONE_FIELDS}}
    rows = [{k: getattr(s, k) or "" for k in SCENARIO_FIELDS} for s in zone.scenarios]
    return form, rows


def _submitted_zone() -> tuple[dict[str, str], list[dict[str, str]]]:
    """The posted zone and its scenario rows, in order, the empty rows left out (so a
    row's position is its index in the schema's errors)."""
    form = {k: request.form.get(k, "") for k in ("code", *ZONE_FIELDS)}
    cells: dict[int, dict[str, str]] = {}
    for key, value in request.form.items():
        if found := SCENARIO_INPUT.match(key):
            cells.setdefault(int(found.group(1)), {})[found.group(2)] = value
    rows = []
    for index in sorted(cells):
        row = {k: cells[index].get(k, "") for k in SCENARIO_FIELDS}
        if any(v.strip() for v in row.values()):
            rows.append(row)
    return form, rows


def _render_zone_form(
    code: str | None,
    free_codes: list[str],
    form: dict[str, str],
    rows: list[dict[str, str]],
    errors: dict[str, Any],
    status: int,
) -> ResponseReturnValue:
    scenario_errors = errors.get("scenarios")
    by_row: dict[int, Any] = {}
    scenarios_general: list[Any] = []
    if isinstance(scenario_errors, dict) and not {"zh", "en"} <= scenario_errors.keys():
        by_row = {int(k): v for k, v in scenario_errors.items()}
    elif scenario_errors:
        scenarios_general = [m for _path, m in flatten(scenario_errors)]
    blank = dict.fromkeys(SCENARIO_FIELDS, "")
    page = render_template(
        "authority/zone_form.html",
        code=code,
        free_codes=free_codes,
        form=form,
        rows=[*rows, *([blank] * BLANK_SCENARIO_ROWS)],
        errors=errors,
        row_errors=by_row,
        scenario_errors={"scenarios": scenarios_general},
    )
    return page, status


# -- the profile: vocabularies and grade policy (read-only) ------------------------------------
@blueprint.get("/workspace/vocabularies")
@guard.signed_in(rule="profile.manage")
def authority_vocabularies() -> ResponseReturnValue:
    return render_template(
        "authority/vocabularies.html",
        vocabularies=vocabularies(),
        is_chinese=lambda text: bool(CJK.search(text)),
    )


@blueprint.get("/workspace/grade-policy")
@guard.signed_in(rule="profile.manage")
def authority_grade_policy() -> ResponseReturnValue:
    running = policy()
    open_types = vocab("open_types").codes
    return render_template(
        "authority/grade_policy.html",
        policy=running,
        grades=vocab("grades").terms,  # most sensitive first
        open_types=open_types,
        implied={o: running.grade_implied_by(o) for o in open_types},
    )


# -- the audit log -----------------------------------------------------------------------------
@dataclass
class AuditFilters(AuditFilter):
    """What the audit page's form asks for: the entries and the page of them."""

    page: int = 1


def _audit_filters(args: MultiDict[str, str]) -> tuple[AuditFilters, dict[str, list[Message]]]:
    filters = AuditFilters(
        actor=args.get("actor", "").strip(),
        action=args.get("action", "").strip(),
        subject=args.get("subject", "").strip(),
    )
    errors: dict[str, list[Message]] = {}
    for name in ("since", "until"):
        text = args.get(name, "").strip()
        if not text:
            continue
        try:
            setattr(filters, name, date.fromisoformat(text))
        except ValueError:
            errors[name] = [message("日期格式应为 YYYY-MM-DD", "Write the date as YYYY-MM-DD.")]
    if filters.since and filters.until and filters.until < filters.since:
        errors["until"] = [message("截止日期早于起始日期", "The end date is before the start.")]
    page = args.get("page", "1").strip()
    if page.isdigit() and len(page) <= 9 and int(page) >= 1:  # an offset the database holds
        filters.page = int(page)
    else:
        errors["page"] = [message("页码应为正整数", "The page must be a positive whole number.")]
    return filters, errors


@blueprint.get("/workspace/audit")
@guard.signed_in(rule="audit.read")
def authority_audit() -> ResponseReturnValue:
    filters, errors = _audit_filters(request.args)
    with database().sessions() as session:
        log = access(session).audit
        entries: list[AuditEntry] = []
        total = 0
        if not errors:
            offset = (filters.page - 1) * AUDIT_PAGE_SIZE
            entries, total = log.search(filters, offset, AUDIT_PAGE_SIZE)
        last_page = max(1, -(-total // AUDIT_PAGE_SIZE))
        people = access(session).accounts.by_ids({n for e in entries for n in _actor_ids(e.actor)})
        page = render_template(
            "authority/audit.html",
            filters=filters,
            errors=errors,
            entries=entries,
            total=total,
            last_page=last_page,
            actions=log.actions(),
            csv_url=url_for(
                "web.authority_audit_csv",
                **{k: v for k, v in request.args.items() if k not in ("page", "lang") and v},
            ),
            emails=lambda entry: [people[n].email for n in _actor_ids(entry.actor) if n in people],
            detail=lambda entry: json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
        )
        return page, 422 if errors else 200


def _actor_ids(actor: str) -> list[int]:
    """The accounts an actor names: `user:3`, `user:3 approved-by:user:5`."""
    return [int(n) for n in re.findall(r"\buser:(\d+)", actor)]


@blueprint.get("/workspace/audit.csv")
@guard.signed_in(rule="audit.read")
def authority_audit_csv() -> ResponseReturnValue:
    """The filtered entries as CSV, oldest first like `portal audit export`, streamed."""
    filters, errors = _audit_filters(request.args)
    if errors:
        return authority_audit()
    with database().transaction() as session:
        by = f"user:{current_account(session).id}"
        access(session).audit.record_export(actor=by, ip=request.remote_addr, wanted=filters)

    def rows() -> Iterator[str]:
        with database().sessions() as session:
            yield from access(session).audit.export_csv(filters)

    response = Response(stream_with_context(rows()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response


# AuditLog.verify reports in English: the same problems, in both languages.
PROBLEMS: list[tuple[re.Pattern[str], Callable[[str], Message]]] = [
    (
        re.compile(r"^entry #(\d+) does not follow the entry before it"),
        lambda n: message(
            f"第 {n} 条记录与前一条接不上（有记录被删除或替换）",
            f"Entry #{n} does not follow the entry before it (an entry was removed or replaced).",
        ),
    ),
    (
        re.compile(r"^entry #(\d+) was altered"),
        lambda n: message(f"第 {n} 条记录被改动过", f"Entry #{n} was altered."),
    ),
    (
        re.compile(r"^entry #(\d+), named by .*, is missing"),
        lambda n: message(
            f"签名检查点记录的第 {n} 条记录缺失（有记录被截去或删除）",
            f"Entry #{n}, named by a signed checkpoint, is missing (entries were cut or removed).",
        ),
    ),
    (
        re.compile(r"^entry #(\d+) is not the one .* signed"),
        lambda n: message(
            f"第 {n} 条记录与签名检查点不符（哈希链被改写或重算）",
            f"Entry #{n} is not the one a checkpoint signed (the chain was rewritten or "
            "re-hashed).",
        ),
    ),
    (
        re.compile(r".*but the log ends at (\d+) entries"),
        lambda n: message(
            f"签名检查点记录的条数多于日志现有的 {n} 条（末尾的记录被截去）",
            f"A signed checkpoint counts more entries than the {n} the log holds "
            "(entries were cut off the end).",
        ),
    ),
    (
        re.compile(r"^the log holds (\d+) entries but its signed checkpoints"),
        lambda n: message(
            f"日志有 {n} 条记录，但签名检查点文件不见了",
            f"The log holds {n} entries but its signed checkpoint files are missing.",
        ),
    ),
    (
        re.compile(r"^checkpoint (\d+) of .*signature does not verify"),
        lambda n: message(
            f"第 {n} 个检查点的签名验证失败",
            f"The signature of checkpoint {n} does not verify.",
        ),
    ),
    (
        re.compile(r"^checkpoint (\d+) of .*does not follow"),
        lambda n: message(
            f"第 {n} 个检查点与前一个接不上（检查点被删除或改动）",
            f"Checkpoint {n} does not follow the one before it (checkpoints were removed "
            "or edited).",
        ),
    ),
    (
        re.compile(r"^the checkpoint signing key (.*) is missing"),
        lambda path: message(
            f"检查点签名密钥 {path} 不见了，无法核验检查点",
            f"The checkpoint signing key {path} is missing: the checkpoints cannot be checked.",
        ),
    ),
    (
        re.compile(r"^the head checkpoint (.*) is missing"),
        lambda path: message(
            f"最新检查点文件 {path} 不见了", f"The head checkpoint {path} is missing."
        ),
    ),
]


def _problem(text: str) -> Message:
    for pattern, bilingual in PROBLEMS:
        if found := pattern.match(text):
            return bilingual(found.group(1))
    return message(text, text)


@blueprint.get("/workspace/audit/verify")
@guard.signed_in(rule="audit.read")
def authority_audit_verify() -> ResponseReturnValue:
    """Recompute the hash chain from the first entry, as `portal audit verify` does."""
    with database().sessions() as session:
        report = access(session).audit.verify()
    problems = [_problem(p) for p in report.problems]
    return render_template("authority/audit_verify.html", report=report, problems=problems)
