"""The data officer's workspace: the department's catalog with its quality scores and
grading suggestions, the dataset form, and the department's harvest sources.

Every write goes through the stewardship service, as the API's do: the same rights, the
same validation (its nested field errors are shown beside the form's inputs, inside the
resource and 信息项 rows too) and the same rule that a downgrade of openness waits for
the platform authority.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from schemas import Message, flatten, message, vocab

from .. import guard
from ..access import rights
from ..access.stewardship import is_downgrade
from ..catalog import queries
from ..catalog.documents import dataset_document
from ..catalog.errors import CatalogError, NotFound
from ..db import utcnow
from ..harvest.sources import get_source, job_records, list_sources, run_source
from ..models import Dataset, HarvestJob, HarvestRecord, HarvestSource, OpennessRequest, User
from ..services import access, audit_anchor, catalog, database, policy
from ..visibility import PUBLIC, may_find
from .signed_in import attempt, client_ip, current_account, drain_index
from .site import blueprint

PAGE_SIZE = 50  # datasets a page of the department's catalog
RUN_NOW_LIMIT = 1000  # records: a larger source runs from `portal harvest run` or its schedule
RUNNING_FOR = timedelta(hours=1)  # a job "running" longer than this was left by a dead process
FAILURES_SHOWN = 500  # failed records listed for one job
OUTCOMES = ("added", "updated", "restored", "unchanged", "withdrawn", "held", "failed")


# -- the department's catalog, with grading suggestions --------------------------------------
@dataclass(frozen=True)
class CatalogRow:
    dataset: Dataset
    suggestion: dict[str, Any] | None  # one that differs from the set values, not yet kept
    pending: OpennessRequest | None  # a downgrade of openness waiting for the authority

    @property
    def downgrade(self) -> bool:
        """Would accepting the suggestion make the dataset less open?"""
        return bool(self.suggestion) and is_downgrade(
            self.dataset.open_type, self.suggestion["open_type"]
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
        _refuse_page(refused)
        flash(
            message(
                "未能采纳分级建议（可在编辑页修改后保存）：",
                "The suggestion could not be applied (change it on the edit page):",
            ),
            "error",
        )
        for path, msg in flatten(refused.errors):
            flash(_named(path, msg) if path not in ("", "_") else msg, "error")
    elif outcome == "accepted":
        drain_index()
        flash(message("已采纳分级建议", "The grading suggestion is applied."), "success")
    elif outcome == "held":
        flash(
            message(
                "已采纳分级建议。这会降低开放属性，已提交开放主管部门审批，批准前数据集不变。",
                "Suggestion accepted. It makes the dataset less open, so it waits for the "
                "platform authority's approval; until then the dataset is unchanged.",
            ),
            "success",
        )
    elif outcome == "kept":
        flash(message("已保留现有分级和开放属性", "The grade and openness set are kept."))
    page = request.form.get("page", 1, type=int)
    return redirect(url_for("web.officer_catalog", page=page) + f"#ds-{name}")


def _refuse_page(refused: CatalogError) -> None:
    """A refusal that is about the page, not the data: its status."""
    if isinstance(refused, NotFound):
        abort(404)
    if refused.status == 403:
        abort(403)


def _named(path: str, msg: Message | str) -> Message:
    """A message about a field the page has no input for, with the field's name."""
    text = msg if isinstance(msg, Mapping) else message(str(msg), str(msg))
    return message(f"{path}：{text['zh']}", f"{path}: {text['en']}")


# -- the dataset form --------------------------------------------------------------------
SCALARS = (
    "name",
    "title",
    "title_en",
    "description",
    "domain",
    "industry",
    "grade",
    "open_type",
    "open_condition",
    "update_frequency",
    "contact_phone",
    "contact_email",
)
# The repeated groups: the inputs of a row, and those that make a row more than blank.
ROWS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "resources": (("name", "kind", "format", "url"), ("name", "url")),
    "fields": (("name", "title", "type", "grade", "sensitive"), ("name", "title")),
}
# Which stored row a form row edits: its hidden input, and the stored row's key.
ROW_KEY = {"resources": ("id", "id"), "fields": ("was", "name")}
FLAGS = ("sensitive", "remove")
MAX_ROWS = 500  # rows of one group a form may send
KEYWORD_SEPARATORS = re.compile(r"[,，、;；\n]+")
CHOICES = {
    "domain": "domains",
    "industry": "industries",
    "grade": "grades",
    "open_type": "open_types",
    "update_frequency": "update_frequencies",
    "zones": "zones",
    "kind": "resource_kinds",
    "format": "formats",
    "type": "field_types",
}


@dataclass
class DatasetForm:
    """What the form shows and sends: the scalar inputs, zones, keywords (one text) and the
    resource and 信息项 rows (a row may be marked for removal), and how many blank rows to
    add below each group."""

    values: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]
    blank: dict[str, int] = field(default_factory=lambda: {"resources": 1, "fields": 1})

    @classmethod
    def new(cls) -> DatasetForm:
        values: dict[str, Any] = dict.fromkeys(SCALARS, "")
        values |= {"grade": "general1", "open_type": "unconditional", "zones": []}
        values |= {"keywords": "", "reason": ""}
        return cls(values, {"resources": [], "fields": []})

    @classmethod
    def of(cls, document: dict[str, Any]) -> DatasetForm:
        """The form filled with a stored dataset's values."""
        values = {key: _text(document.get(key)) for key in SCALARS}
        values |= {"zones": list(document.get("zones", []))}
        values |= {"keywords": ", ".join(document.get("keywords", [])), "reason": ""}
        resources = [
            {"id": r.get("id", ""), **{c: _text(r.get(c)) for c in ROWS["resources"][0]}}
            for r in document.get("resources", [])
        ]
        fields = [
            {
                "was": f["name"],
                **{c: _text(f.get(c)) for c in ROWS["fields"][0] if c != "sensitive"},
                "sensitive": bool(f.get("sensitive")),
            }
            for f in document.get("fields", [])
        ]
        return cls(values, {"resources": resources, "fields": fields})

    @classmethod
    def sent(cls, form: MultiDict[str, str]) -> DatasetForm:
        """The form as the browser sent it; blank rows are counted, not kept (with "add a
        row", one more than were sent)."""
        values: dict[str, Any] = {key: form.get(key, "").strip() for key in SCALARS}
        values |= {"zones": form.getlist("zones"), "keywords": form.get("keywords", "")}
        values |= {"reason": form.get("reason", "")}
        rows: dict[str, list[dict[str, Any]]] = {}
        blank: dict[str, int] = {}
        for group, (inputs, identity) in ROWS.items():
            hidden = ROW_KEY[group][0]
            rows[group], blanks = _rows(form, group, (*inputs, hidden, "remove"), identity)
            blank[group] = blanks + 1 if form.get("add") == group else 1
        return cls(values, rows, blank)

    @property
    def adding_row(self) -> bool:
        return any(n > 1 for n in self.blank.values())

    def kept_rows(self, group: str) -> list[int]:
        """The form's positions of the rows that go into the document, in order."""
        return [i for i, row in enumerate(self.rows[group]) if not row.get("remove")]

    def document(self, stored: dict[str, Any] | None = None) -> dict[str, Any]:
        """The dataset document: the stored one (what the form does not show stays as it
        is) with the form's values over it."""
        doc = dict(stored or {})
        for key in SCALARS:
            if stored and key == "name":
                continue  # a dataset keeps its name: links and grants point at it
            _put(doc, key, self.values[key])
        if doc.get("open_type") != "conditional":
            doc.pop("open_level", None)
        doc["zones"] = [z for z in self.values["zones"] if z]
        words = KEYWORD_SEPARATORS.split(self.values["keywords"])
        doc["keywords"] = list(dict.fromkeys(w.strip() for w in words if w.strip()))
        for group, (inputs, _identity) in ROWS.items():
            hidden, key = ROW_KEY[group]
            before = {item.get(key): item for item in (stored or {}).get(group, [])}
            items = []
            for i in self.kept_rows(group):
                row = self.rows[group][i]
                item = dict(before.get(row[hidden]) or {}) if row[hidden] else {}
                for column in inputs:
                    if column in FLAGS:
                        item[column] = bool(row[column])
                    else:
                        _put(item, column, row[column])
                items.append(item)
            doc[group] = items
        return doc

    def errors(self, errors: dict[str, Any]) -> dict[str, list[Any]]:
        """The service's nested field errors by the form's input names: `title`,
        `resources-0-url`, `fields-2` (a row as a whole); `_` for what the form has no
        input for (named)."""
        out: dict[str, list[Any]] = {}
        shown = {*SCALARS, "zones", "keywords", "reason"}
        for path, msg in flatten(errors):
            parts = path.split(".") if path else ["_"]
            head, where = parts[0], "_"
            if head in ROWS and len(parts) > 1 and parts[1].isdigit():
                kept = self.kept_rows(head)
                index = int(parts[1])
                if index < len(kept):
                    row = f"{head}-{kept[index]}"
                    column = parts[2] if len(parts) > 2 else None
                    where = f"{row}-{column}" if column in ROWS[head][0] else row
                    if column and column not in ROWS[head][0]:
                        msg = _named(column, msg)
            elif head in shown or head in ROWS:
                where = head
            elif head not in ("_", "_schema"):
                msg = _named(path, msg)
            out.setdefault(where, []).append(msg)
        return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _put(doc: dict[str, Any], key: str, value: str) -> None:
    """Set a text value, or remove the key for an empty one (the schema's 'not given')."""
    if value.strip():
        doc[key] = value.strip()
    else:
        doc.pop(key, None)


def _rows(
    form: MultiDict[str, str], group: str, inputs: tuple[str, ...], identity: tuple[str, ...]
) -> tuple[list[dict[str, Any]], int]:
    """The filled rows of `group` (`resources-3-url` …) in order, and the number of blank
    ones (nothing in the inputs that identify a row)."""
    pattern = re.compile(rf"^{group}-(\d+)-")
    indexes = sorted({int(m.group(1)) for k in form if (m := pattern.match(k))})[:MAX_ROWS]
    rows, blanks = [], 0
    for i in indexes:
        row: dict[str, Any] = {}
        for column in inputs:
            value = form.get(f"{group}-{i}-{column}", "")
            row[column] = value == "y" if column in FLAGS else value.strip()
        if any(row[c] for c in identity):
            rows.append(row)
        else:
            blanks += 1
    return rows, blanks


def _render_form(
    form: DatasetForm, errors: dict[str, list[Any]], dataset: Dataset | None, status: int = 200
) -> ResponseReturnValue:
    with database().sessions() as session:
        user = current_account(session)
        choices = {key: vocab(name).codes for key, name in CHOICES.items()}
        page = render_template(
            "officer/dataset_form.html",
            form=form,
            errors=errors,
            dataset=dataset,
            department=(dataset.publisher if dataset else user.organization),
            choices=choices,
        )
        return page, status


def _public(dataset: Dataset) -> bool:
    return may_find(PUBLIC, dataset)


def _after_save(name: str, public: bool) -> ResponseReturnValue:
    drain_index()
    if public:
        return redirect(url_for("web.dataset", name=name))
    return redirect(url_for("web.officer_catalog") + f"#ds-{name}")


@blueprint.route("/workspace/datasets/new", methods=["GET", "POST"])
@guard.signed_in(rule="dataset.create")
def officer_new_dataset() -> ResponseReturnValue:
    """Register a dataset of the officer's department."""
    if request.method == "GET":
        return _render_form(DatasetForm.new(), {}, None)
    form = DatasetForm.sent(request.form)
    if form.adding_row:
        return _render_form(form, {}, None)

    def create(session: Session) -> tuple[str, bool]:
        made = access(session).stewardship.create(
            current_account(session), form.document(), ip=client_ip()
        )
        return made.name, _public(made)

    made, refused = attempt(create)
    if refused is not None:
        _refuse_page(refused)
        return _render_form(form, form.errors(refused.errors), None, refused.status)
    assert made is not None
    flash(message("数据集已登记", "The dataset is registered."), "success")
    return _after_save(*made)


@blueprint.route("/workspace/datasets/<name>/edit", methods=["GET", "POST"])
@guard.signed_in(object_rule="dataset.manage")
def officer_edit_dataset(name: str) -> ResponseReturnValue:
    """Edit a dataset of the officer's department (a downgrade of openness needs a reason
    and waits for the authority)."""
    with database().sessions() as session:
        user = current_account(session)
        try:
            dataset = catalog(session, f"user:{user.id}").datasets.get(name)
        except NotFound:
            abort(404)
        if not rights.allowed(user, "dataset.manage", dataset):
            abort(403)
        stored = dataset_document(dataset)
        form = DatasetForm.of(stored) if request.method == "GET" else DatasetForm.sent(request.form)
        if request.method == "GET" or form.adding_row:
            return _render_form(form, {}, dataset)

    def save(session: Session) -> tuple[bool, bool]:
        user = current_account(session)
        current = dataset_document(catalog(session, f"user:{user.id}").datasets.get(name))
        reason = form.values["reason"].strip() or None
        done = access(session).stewardship.update(
            user, name, form.document(current), reason=reason, ip=client_ip()
        )
        if isinstance(done, OpennessRequest):
            return True, False
        return False, _public(done)

    saved, refused = attempt(save)
    if refused is not None:
        _refuse_page(refused)
        with database().sessions() as session:
            dataset = catalog(session, "web").datasets.get(name)
            return _render_form(form, form.errors(refused.errors), dataset, refused.status)
    assert saved is not None
    held, public = saved
    if held:
        flash(
            message(
                "修改会降低开放属性，已提交开放主管部门审批；批准后才会生效。",
                "The change makes the dataset less open: it waits for the platform "
                "authority's approval and takes effect only then.",
            ),
            "success",
        )
        return redirect(url_for("web.officer_catalog") + f"#ds-{name}")
    flash(message("数据集已保存", "The dataset is saved."), "success")
    return _after_save(name, public)


# -- harvest sources and their jobs ----------------------------------------------------------
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
    if refusal is not None:
        flash(refusal, "error")
        return redirect(url_for("web.officer_harvest_source", name=name))
    run = run_source(database(), name, policy=policy(), audit_anchor=audit_anchor())
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
