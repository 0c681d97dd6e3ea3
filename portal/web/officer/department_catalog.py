"""The department's catalog, a page at a time, with each dataset's grading suggestion to
accept (a downgrade of openness is held for the platform authority) or to decline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from schemas import flatten, message

from ... import guard
from ...access import rights
from ...access.stewardship import needs_authority
from ...catalog import queries
from ...catalog.documents import dataset_document
from ...db import utcnow
from ...models import Dataset, OpennessRequest
from ...services import access, catalog, database
from ..signed_in import attempt, client_ip, current_account, drain_index
from ..site import blueprint
from .refusals import named, refuse_page

PAGE_SIZE = 50  # datasets a page of the department's catalog


@dataclass(frozen=True)
class CatalogRow:
    dataset: Dataset
    suggestion: dict[str, Any] | None  # one that differs from the set values, not yet kept
    pending: OpennessRequest | None  # a downgrade of openness waiting for the authority

    @property
    def downgrade(self) -> bool:
        """Would accepting the suggestion wait for the authority (a change of openness, a
        lower grade: stewardship.needs_authority)?"""
        return bool(self.suggestion) and needs_authority(
            self.dataset, self.suggestion["open_type"], self.suggestion["grade"]
        )


def open_suggestion(dataset: Dataset) -> dict[str, Any] | None:
    """The dataset's grading suggestion when it differs from the grade and openness set,
    unless the officer chose to keep exactly these values."""
    suggestion = dataset.suggestion or {}
    suggested = (suggestion.get("grade"), suggestion.get("open_type"))
    current = (dataset.grade, dataset.open_type)
    if None in suggested or suggested == current:
        return None
    kept = suggestion.get("kept") or {}
    if (kept.get("grade"), kept.get("open_type")) == current:
        return None
    return suggestion


@blueprint.get("/workspace/catalog")
@guard.signed_in(rule="department.officer")
def officer_catalog() -> ResponseReturnValue:
    """The department's datasets in every state, newest change first, a page at a time."""
    with database().sessions() as session:
        user = current_account(session)
        wanted = request.args.get("page", 1, type=int)
        page = queries.department_page(session, user.organization_id, wanted, PAGE_SIZE)
        datasets = page.items
        pending = access(session).stewardship.waiting_on([d.id for d in datasets])
        rows = [CatalogRow(d, open_suggestion(d), pending.get(d.id)) for d in datasets]
        return render_template(
            "officer/catalog.html",
            rows=rows,
            department=user.organization,
            total=page.total,
            suggested=sum(1 for r in rows if r.suggestion),
            page=page.number,
            last_page=page.pages,
        )


@blueprint.post("/workspace/catalog/<name>/suggestion")
@guard.signed_in(rule="department.officer", object_rule="dataset.manage")
def officer_suggestion(name: str) -> ResponseReturnValue:
    """Accept a grading suggestion (through the stewardship update: a downgrade of openness
    is held for the authority) or keep the values set (only that choice is recorded)."""
    decision = request.form.get("decision")
    if decision not in ("accept", "keep"):
        abort(400)

    def decide(session: Session) -> str:
        user = current_account(session)
        dataset = catalog(session, f"user:{user.id}").datasets.get(name)
        if not rights.allowed(user, "dataset.manage", dataset):
            abort(403)
        suggestion = open_suggestion(dataset)
        if suggestion is None:
            return "nothing"  # decided already, or the dataset changed since the page
        if decision == "keep":
            kept = {"grade": dataset.grade, "open_type": dataset.open_type}
            kept |= {"by": user.id, "at": utcnow().isoformat()}
            dataset.suggestion = {**suggestion, "kept": kept}
            return "kept"
        data = dataset_document(dataset)
        data["grade"], data["open_type"] = suggestion["grade"], suggestion["open_type"]
        if data["open_type"] != "conditional":
            data.pop("open_level", None)  # only a conditional dataset has one
        reasons = "；".join(r["zh"] for r in suggestion.get("reasons", ())) or "未发现敏感信息"
        done = access(session).stewardship.update(
            user, name, data, reason=f"采纳分级建议：{reasons}", ip=client_ip()
        )
        return "held" if isinstance(done, OpennessRequest) else "accepted"

    outcome, refused = attempt(decide)
    if refused is not None:
        refuse_page(refused)
        flash(
            message(
                "未能采纳分级建议（可在编辑页修改后保存）：",
                "The suggestion could not be applied (change it on the edit page):",
            ),
            "error",
        )
        for path, msg in flatten(refused.errors):
            flash(named(path, msg) if path not in ("", "_") else msg, "error")
    elif outcome == "accepted":
        drain_index()
        flash(message("已采纳分级建议", "The grading suggestion is applied."), "success")
    elif outcome == "held":
        flash(
            message(
                "已采纳分级建议。这会改变开放属性或降低分级，已提交开放主管部门审批，批准前数据集不变。",
                "Suggestion accepted. It changes the openness or lowers the grade, so it waits "
                "for the platform authority's approval; until then the dataset is unchanged.",
            ),
            "success",
        )
    elif outcome == "kept":
        flash(message("已保留现有分级和开放属性", "The grade and openness set are kept."))
    page = request.form.get("page", 1, type=int)
    return redirect(url_for("web.officer_catalog", page=page) + f"#ds-{name}")
