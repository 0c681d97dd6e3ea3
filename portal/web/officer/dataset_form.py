"""The dataset form: register a dataset of the officer's department, or edit one. The
service's nested field errors are shown beside the form's inputs, inside the resource and
信息项 rows too; a downgrade of openness needs a reason and waits for the authority."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from schemas import flatten, message, vocab

from ... import guard
from ...catalog.documents import dataset_document
from ...catalog.errors import Forbidden, NotFound
from ...models import Dataset, OpennessRequest
from ...services import access, catalog, database
from ...visibility import PUBLIC, may_find
from ..signed_in import attempt, client_ip, current_account, drain_index
from ..site import blueprint
from .refusals import named, refuse_page

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
                        msg = named(column, msg)
            elif head in shown or head in ROWS:
                where = head
            elif head not in ("_", "_schema"):
                msg = named(path, msg)
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
        refuse_page(refused)
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
        try:  # one the officer may not even read is not found, as one that does not exist
            dataset = access(session).stewardship.managed(user, name, "dataset.manage")
        except NotFound:
            abort(404)
        except Forbidden:
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
        refuse_page(refused)
        with database().sessions() as session:
            dataset = catalog(session, "web").datasets.get(name)
            return _render_form(form, form.errors(refused.errors), dataset, refused.status)
    assert saved is not None
    held, public = saved
    if held:
        flash(
            message(
                "修改会改变开放属性或降低分级，已提交开放主管部门审批；批准后才会生效。",
                "The change alters the dataset's openness or lowers its grade: it waits for "
                "the platform authority's approval and takes effect only then.",
            ),
            "success",
        )
        return redirect(url_for("web.officer_catalog") + f"#ds-{name}")
    flash(message("数据集已保存", "The dataset is saved."), "success")
    return _after_save(name, public)
