"""The JSON shapes of REST v1 that are not the profile's: its problem documents, pages and
lists, the access objects `serialize.py` writes, and the query parameters its views read.

They describe the API for its OpenAPI document (views name them with `@documented`);
the views parse their own arguments and `serialize.py` writes the objects, so the
schemathesis test checks each answer against its shape. A component is named after its
class (`Grant`), the profile's `…Schema` classes after theirs without the suffix.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from schemas import DatasetSchema, OrganizationSchema, ZoneSchema


def _nullable(description: str | None = None, *, required: bool = False) -> fields.String:
    metadata = {"description": description} if description else {}
    return fields.String(allow_none=True, required=required, metadata=metadata)


def _objects(*, required: bool = False) -> fields.List:
    """A list of objects whose keys the document does not fix."""
    return fields.List(fields.Dict(), required=required)


def _query(field: fields.Field, description: str) -> fields.Field:
    field.metadata = {**field.metadata, "description": description}
    return field


class Shape(Schema):
    """Open to keys it does not name: an answer may gain one, and the views that read
    these bodies ignore keys they do not know (unlike the profile's schemas)."""

    class Meta:
        unknown = EXCLUDE


# -- errors -------------------------------------------------------------------------------
class Problem(Shape):
    class Meta(Shape.Meta):
        description = "RFC 9457 problem details; `errors` maps fields to bilingual messages."

    type = fields.String()
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict()


# -- the catalog --------------------------------------------------------------------------
class DatasetPage(Shape):
    datasets = fields.List(fields.Nested(DatasetSchema), required=True)
    next_cursor = _nullable(required=True)


class OrganizationPage(Shape):
    organizations = fields.List(fields.Nested(OrganizationSchema), required=True)
    next_cursor = _nullable(required=True)


class ZoneSummary(ZoneSchema):
    """A zone as listed: the profile's zone, and how many public datasets it holds."""

    dataset_count = fields.Integer()


class ZoneList(Shape):
    zones = fields.List(fields.Nested(ZoneSummary), required=True)


class PageArgs(Shape):
    cursor = _query(fields.String(), "From the previous page's `next_cursor`.")
    limit = _query(fields.Integer(validate=validate.Range(1, 500)), "Items per page (1–500).")


class DatasetListArgs(PageArgs):
    publisher = _query(fields.String(), "Department name.")
    zone = _query(fields.String(), "Zone code.")


class UpdateArgs(Shape):
    reason = _query(
        fields.String(),
        "Why, when the update changes the openness or lowers the grade (required when it "
        "makes the dataset less open).",
    )


class StoredFile(Shape):
    resource = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)


# -- search -------------------------------------------------------------------------------
class SearchResult(Shape):
    total = fields.Integer(required=True)
    page = fields.Integer()
    size = fields.Integer()
    pages = fields.Integer()
    sort = fields.String()
    results = _objects(required=True)
    facets = fields.Dict(values=fields.List(fields.Raw()), required=True)


class SearchArgs(Shape):
    q = _query(fields.String(), 'Words or a "phrase".')
    page = _query(fields.Integer(validate=validate.Range(min=1)), "Page number.")
    size = _query(fields.Integer(validate=validate.Range(min=1)), "Results per page.")
    sort = _query(fields.String(), "relevance, modified, title, popularity, quality.")


class Suggestions(Shape):
    suggestions = _objects(required=True)


class SuggestArgs(Shape):
    q = _query(fields.String(), "The start of a title.")


# -- accounts and tokens ------------------------------------------------------------------
class Registration(Shape):
    email = fields.String(required=True)
    password = fields.String(required=True)
    display_name = fields.String()
    enterprise_name = fields.String(required=True)
    enterprise_uscc = fields.String(required=True)


class Account(Shape):
    email = fields.String(required=True)
    role = fields.String(required=True)
    detail = fields.Dict(required=True)  # {"zh", "en"}


class TokenRequest(Shape):
    email = fields.String(required=True)
    password = fields.String(required=True)
    name = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    days = fields.Integer()


class Token(Shape):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String()
    scopes = fields.List(fields.String(), required=True)
    created_at = _nullable()
    expires_at = _nullable()
    revoked_at = _nullable()
    last_used_at = _nullable()
    token = fields.String(metadata={"description": "Only in the answer that creates it."})


class TokenList(Shape):
    tokens = fields.List(fields.Nested(Token), required=True)


# -- applications and grants --------------------------------------------------------------
APPLICATION_STATES = ["submitted", "in_review", "approved", "rejected", "returned", "withdrawn"]


class Application(Shape):
    id = fields.Integer(required=True)
    dataset = fields.String(required=True)
    resources = fields.List(fields.String())
    purpose = fields.String()
    scenario = fields.String()
    term_days = fields.Integer()
    quota_calls = fields.Integer()
    state = fields.String(required=True, validate=validate.OneOf(APPLICATION_STATES))
    submitted_at = _nullable()
    formality_due = _nullable()
    overdue = fields.Boolean(required=True)
    applicant = fields.Dict()
    history = _objects()


class ApplicationList(Shape):
    applications = fields.List(fields.Nested(Application), required=True)


class Grant(Shape):
    id = fields.Integer(required=True)
    application = fields.Integer()
    dataset = fields.String(required=True)
    resources = fields.List(fields.String())
    conditions = _nullable()
    starts_at = _nullable()
    expires_at = _nullable()
    quota_calls = fields.Integer(required=True)
    used_calls = fields.Integer(required=True)
    remaining_calls = fields.Integer()
    used_bytes = fields.Integer()
    report_due = _nullable()
    revoked_at = _nullable()
    revoke_reason = _nullable()


class GrantList(Shape):
    grants = fields.List(fields.Nested(Grant), required=True)


class Reason(Shape):
    reason = fields.String(required=True)


class Report(Shape):
    id = fields.Integer(required=True)
    grant = fields.Integer(required=True)
    usage = fields.String(required=True)
    results = fields.String(required=True)
    benefits = _nullable()
    submitted_at = _nullable()


class ReportList(Shape):
    reports = fields.List(fields.Nested(Report), required=True)


# -- the platform authority ---------------------------------------------------------------
class OpennessRequest(Shape):
    id = fields.Integer(required=True)
    dataset = fields.String(required=True)
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)
    reason = fields.String()
    state = fields.String(
        required=True, validate=validate.OneOf(["pending", "approved", "rejected"])
    )
    requested_by = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The officer who asked; null when a harvest source's record "
            "would have changed its openness or lowered its grade (see harvest_source)."
        },
    )
    harvest_source = _nullable("The harvest source whose record is held, if one is.")
    requested_at = _nullable()
    decided_at = _nullable()
    decision_reason = _nullable()


class OpennessRequestList(Shape):
    requests = fields.List(fields.Nested(OpennessRequest), required=True)


class OpennessDecision(Shape):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    reason = fields.String()


class AuditEntries(Shape):
    entries = _objects(required=True)


class AuditArgs(Shape):
    action = _query(fields.String(), "Only this action.")
    subject = _query(fields.String(), "Only this subject.")
    limit = _query(fields.Integer(validate=validate.Range(1, 1000)), "At most (1–1000).")
