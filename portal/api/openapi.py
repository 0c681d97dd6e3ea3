"""The OpenAPI 3 document of REST v1, built with apispec from the profile's marshmallow
schemas (request bodies and the dataset, department and zone shapes) and the table of
operations below; served at /api/v1/openapi.json and, readable, at /api/v1/docs.

The table is checked against the app's routes by a test, so no operation goes
undocumented; schemathesis fuzzes the served document against the running code.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, jsonify, render_template

from schemas import DatasetSchema, OrganizationSchema, ZoneSchema
from schemas.access import (
    ApplicationSchema,
    DecisionSchema,
    FormalitySchema,
    ResubmissionSchema,
    UsageReportSchema,
)

from .. import guard
from .rest import blueprint

NULLABLE_STRING = {"type": "string", "nullable": True}
MESSAGES = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"zh": {"type": "string"}, "en": {"type": "string"}},
        "required": ["zh", "en"],
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details; `errors` maps fields to bilingual messages.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {}},
        },
        "required": ["title", "status"],
    },
    "DatasetPage": {
        "type": "object",
        "properties": {
            "datasets": {"type": "array", "items": {"$ref": "#/components/schemas/Dataset"}},
            "next_cursor": NULLABLE_STRING,
        },
        "required": ["datasets", "next_cursor"],
    },
    "OrganizationPage": {
        "type": "object",
        "properties": {
            "organizations": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Organization"},
            },
            "next_cursor": NULLABLE_STRING,
        },
        "required": ["organizations", "next_cursor"],
    },
    "ZoneList": {
        "type": "object",
        "properties": {
            "zones": {"type": "array", "items": {"$ref": "#/components/schemas/ZoneSummary"}}
        },
        "required": ["zones"],
    },
    "SearchResult": {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "size": {"type": "integer"},
            "pages": {"type": "integer"},
            "sort": {"type": "string"},
            "results": {"type": "array", "items": {"type": "object"}},
            "facets": {"type": "object", "additionalProperties": {"type": "array"}},
        },
        "required": ["total", "results", "facets"],
    },
    "Suggestions": {
        "type": "object",
        "properties": {"suggestions": {"type": "array", "items": {"type": "object"}}},
        "required": ["suggestions"],
    },
    "Account": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "role": {"type": "string"},
        },
        "required": ["id", "email", "role"],
    },
    "Token": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "prefix": {"type": "string"},
            "scopes": {"type": "array", "items": {"type": "string"}},
            "created_at": NULLABLE_STRING,
            "expires_at": NULLABLE_STRING,
            "revoked_at": NULLABLE_STRING,
            "last_used_at": NULLABLE_STRING,
            "token": {"type": "string", "description": "Only in the answer that creates it."},
        },
        "required": ["id", "name", "scopes"],
    },
    "TokenRequest": {
        "type": "object",
        "properties": {
            "email": {"type": "string"},
            "password": {"type": "string"},
            "name": {"type": "string"},
            "scopes": {"type": "array", "items": {"type": "string"}},
            "days": {"type": "integer"},
        },
        "required": ["email", "password", "name", "scopes"],
    },
    "Registration": {
        "type": "object",
        "properties": {
            "email": {"type": "string"},
            "password": {"type": "string"},
            "display_name": {"type": "string"},
            "enterprise_name": {"type": "string"},
            "enterprise_uscc": {"type": "string"},
        },
        "required": ["email", "password", "enterprise_name", "enterprise_uscc"],
    },
    "TokenList": {
        "type": "object",
        "properties": {
            "tokens": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}
        },
        "required": ["tokens"],
    },
    "Application": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "dataset": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "purpose": {"type": "string"},
            "scenario": {"type": "string"},
            "term_days": {"type": "integer"},
            "quota_calls": {"type": "integer"},
            "state": {
                "type": "string",
                "enum": ["submitted", "in_review", "approved", "rejected", "returned", "withdrawn"],
            },
            "submitted_at": NULLABLE_STRING,
            "formality_due": NULLABLE_STRING,
            "overdue": {"type": "boolean"},
            "applicant": {"type": "object"},
            "history": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["id", "dataset", "state", "overdue"],
    },
    "ApplicationList": {
        "type": "object",
        "properties": {
            "applications": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Application"},
            }
        },
        "required": ["applications"],
    },
    "Grant": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "application": {"type": "integer"},
            "dataset": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "conditions": NULLABLE_STRING,
            "starts_at": NULLABLE_STRING,
            "expires_at": NULLABLE_STRING,
            "quota_calls": {"type": "integer"},
            "used_calls": {"type": "integer"},
            "remaining_calls": {"type": "integer"},
            "used_bytes": {"type": "integer"},
            "report_due": NULLABLE_STRING,
            "revoked_at": NULLABLE_STRING,
            "revoke_reason": NULLABLE_STRING,
        },
        "required": ["id", "dataset", "quota_calls", "used_calls"],
    },
    "GrantList": {
        "type": "object",
        "properties": {
            "grants": {"type": "array", "items": {"$ref": "#/components/schemas/Grant"}}
        },
        "required": ["grants"],
    },
    "Report": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "grant": {"type": "integer"},
            "usage": {"type": "string"},
            "results": {"type": "string"},
            "benefits": NULLABLE_STRING,
            "submitted_at": NULLABLE_STRING,
        },
        "required": ["id", "grant", "usage", "results"],
    },
    "ReportList": {
        "type": "object",
        "properties": {
            "reports": {"type": "array", "items": {"$ref": "#/components/schemas/Report"}}
        },
        "required": ["reports"],
    },
    "Reason": {
        "type": "object",
        "properties": {"reason": {"type": "string"}},
        "required": ["reason"],
    },
    "OpennessRequest": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "dataset": {"type": "string"},
            "from": {"type": "string"},
            "to": {"type": "string"},
            "reason": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "approved", "rejected"]},
            "requested_by": {
                "type": "integer",
                "nullable": True,
                "description": "The officer who asked; null when a harvest source's record "
                "would have made the dataset less open (see harvest_source).",
            },
            "harvest_source": {
                **NULLABLE_STRING,
                "description": "The harvest source whose record is held, if one is.",
            },
            "requested_at": NULLABLE_STRING,
            "decided_at": NULLABLE_STRING,
            "decision_reason": NULLABLE_STRING,
        },
        "required": ["id", "dataset", "from", "to", "state"],
    },
    "OpennessRequestList": {
        "type": "object",
        "properties": {
            "requests": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/OpennessRequest"},
            }
        },
        "required": ["requests"],
    },
    "OpennessDecision": {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "reason": {"type": "string"},
        },
        "required": ["decision"],
    },
    "AuditEntries": {
        "type": "object",
        "properties": {"entries": {"type": "array", "items": {"type": "object"}}},
        "required": ["entries"],
    },
    "StoredFile": {
        "type": "object",
        "properties": {
            "resource": {"type": "string"},
            "size": {"type": "integer"},
            "sha256": {"type": "string"},
        },
        "required": ["resource", "size", "sha256"],
    },
}
MARSHMALLOW = {
    "Dataset": DatasetSchema,
    "Organization": OrganizationSchema,
    "Zone": ZoneSchema,
    "NewApplication": ApplicationSchema,
    "Resubmission": ResubmissionSchema,
    "Formality": FormalitySchema,
    "Decision": DecisionSchema,
    "UsageReport": UsageReportSchema,
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _path(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


CURSOR = [
    _query("cursor", "From the previous page's `next_cursor`.", {"type": "string"}),
    _query("limit", "Items per page (1–500).", {"type": "integer", "minimum": 1, "maximum": 500}),
]
ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
JSON_BODY = "application/json"


def _op(
    summary: str,
    ok: int,
    response: str | None,
    *,
    tag: str,
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    auth: bool = True,
    media: str = JSON_BODY,
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if response is None:
        responses[str(ok)] = {"description": "OK"}
    elif response == "binary":
        responses[str(ok)] = {
            "description": "The data, streamed.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    elif response == "csv":
        responses[str(ok)] = {
            "description": "CSV.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    else:
        responses[str(ok)] = {"description": "OK", "content": {media: {"schema": _ref(response)}}}
    standard = {400, 422, 429} | ({401, 403} if auth else set()) | set(errors)
    for status in sorted(standard):
        responses[str(status)] = {
            "description": PROBLEM_TEXT.get(status, "Error"),
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
    if 304 in standard:  # no body
        responses["304"] = {"description": PROBLEM_TEXT[304]}
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        operation["parameters"] = params
    if body == "binary":
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    elif body:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON_BODY: {"schema": _ref(body)}},
        }
    operation["security"] = [{"token": []}] if auth else []
    return operation


PROBLEM_TEXT = {
    304: "Not modified (ETag matched)",
    400: "Bad request",
    401: "No valid token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict (state or name)",
    422: "Invalid input: field errors in Chinese and English",
    429: "Rate limit or grant quota reached (see Retry-After)",
    503: "Search unavailable",
    507: "No room to store the file",
}
APPLICATION = _path("application_id", "Application number.", ID)
GRANT = _path("grant_id", "Grant number.", ID)
RESOURCE = _path("resource_id", "Resource id (from the dataset's `resources`).")
DATASET = _path("name", "Dataset name.")

PATHS: dict[str, dict[str, dict[str, Any]]] = {
    "/datasets": {
        "get": _op(
            "Public datasets, in name order",
            200,
            "DatasetPage",
            tag="catalog",
            auth=False,
            params=[
                *CURSOR,
                _query("publisher", "Department name.", {"type": "string"}),
                _query("zone", "Zone code.", {"type": "string"}),
            ],
        ),
        "post": _op(
            "Register a dataset of your department",
            201,
            "Dataset",
            tag="catalog",
            body="Dataset",
            errors=(409,),
        ),
    },
    "/datasets/{name}": {
        "get": _op(
            "One dataset (ETag; If-None-Match → 304)",
            200,
            "Dataset",
            tag="catalog",
            auth=False,
            params=[DATASET],
            errors=(304, 404),
        ),
        "put": _op(
            "Replace a dataset (202 with a request when it becomes less open)",
            200,
            "Dataset",
            tag="catalog",
            params=[
                DATASET,
                _query(
                    "reason",
                    "Why, when the update makes the dataset less open.",
                    {"type": "string"},
                ),
            ],
            body="Dataset",
            errors=(404, 409),
        ),
    },
    "/datasets/{name}/resources/{resource_id}/data": {
        "get": _op(
            "Download a resource of an openly available dataset",
            200,
            "binary",
            tag="data",
            auth=False,
            params=[DATASET, RESOURCE],
            errors=(403, 404),
        ),
    },
    "/datasets/{name}/resources/{resource_id}/file": {
        "put": _op(
            "Store a resource's data file",
            201,
            "StoredFile",
            tag="data",
            params=[DATASET, RESOURCE],
            body="binary",
            errors=(404, 507),
        ),
    },
    "/organizations": {
        "get": _op(
            "Departments", 200, "OrganizationPage", tag="catalog", auth=False, params=CURSOR
        ),
    },
    "/organizations/{name}": {
        "get": _op(
            "One department",
            200,
            "Organization",
            tag="catalog",
            auth=False,
            params=[_path("name", "Department name.")],
            errors=(304, 404),
        ),
    },
    "/zones": {"get": _op("Zones (专区)", 200, "ZoneList", tag="catalog", auth=False)},
    "/zones/{code}": {
        "get": _op(
            "One zone",
            200,
            "Zone",
            tag="catalog",
            auth=False,
            params=[_path("code", "Zone code.")],
            errors=(304, 404),
        ),
    },
    "/search": {
        "get": _op(
            "Search datasets (see the search section of the README)",
            200,
            "SearchResult",
            tag="search",
            auth=False,
            errors=(503,),
            params=[
                _query("q", 'Words or a "phrase".', {"type": "string"}),
                _query("page", "Page number.", {"type": "integer", "minimum": 1}),
                _query("size", "Results per page.", {"type": "integer", "minimum": 1}),
                _query(
                    "sort", "relevance, modified, title, popularity, quality.", {"type": "string"}
                ),
            ],
        ),
    },
    "/suggest": {
        "get": _op(
            "Title suggestions",
            200,
            "Suggestions",
            tag="search",
            auth=False,
            errors=(503,),
            params=[_query("q", "The start of a title.", {"type": "string"})],
        ),
    },
    "/accounts": {
        "post": _op(
            "Register an enterprise",
            201,
            "Account",
            tag="accounts",
            auth=False,
            body="Registration",
            errors=(409,),
        ),
    },
    "/tokens": {
        "post": _op(
            "Create a token (e-mail and password; shown once)",
            201,
            "Token",
            tag="accounts",
            auth=False,
            body="TokenRequest",
            errors=(401, 403),
        ),
        "get": _op("Your tokens", 200, "TokenList", tag="accounts"),
    },
    "/tokens/{token_id}": {
        "delete": _op(
            "Revoke one of your tokens",
            200,
            "Token",
            tag="accounts",
            params=[_path("token_id", "Token number.", ID)],
            errors=(404,),
        ),
    },
    "/applications": {
        "post": _op(
            "Apply for resources of a conditionally open dataset",
            201,
            "Application",
            tag="applications",
            body="NewApplication",
        ),
        "get": _op("Yours, or the queue you review", 200, "ApplicationList", tag="applications"),
    },
    "/applications/{application_id}": {
        "get": _op(
            "One application with its history",
            200,
            "Application",
            tag="applications",
            params=[APPLICATION],
            errors=(404,),
        ),
    },
    "/applications/{application_id}/withdraw": {
        "post": _op(
            "Withdraw",
            200,
            "Application",
            tag="applications",
            params=[APPLICATION],
            errors=(404, 409),
        ),
    },
    "/applications/{application_id}/resubmit": {
        "post": _op(
            "Send a returned application again",
            200,
            "Application",
            tag="applications",
            params=[APPLICATION],
            body="Resubmission",
            errors=(404, 409),
        ),
    },
    "/applications/{application_id}/formality": {
        "post": _op(
            "Formality review (platform authority)",
            200,
            "Application",
            tag="applications",
            params=[APPLICATION],
            body="Formality",
            errors=(404, 409),
        ),
    },
    "/applications/{application_id}/decision": {
        "post": _op(
            "Substantive review (publishing department)",
            200,
            "Application",
            tag="applications",
            params=[APPLICATION],
            body="Decision",
            errors=(404, 409),
        ),
    },
    "/grants": {"get": _op("Your grants", 200, "GrantList", tag="grants")},
    "/grants/overdue-reports": {
        "get": _op("Grants whose usage report is overdue", 200, "GrantList", tag="grants"),
    },
    "/grants/{grant_id}": {
        "get": _op(
            "One grant, with what is used",
            200,
            "Grant",
            tag="grants",
            params=[GRANT],
            errors=(404,),
        ),
    },
    "/grants/{grant_id}/revoke": {
        "post": _op(
            "Revoke a grant",
            200,
            "Grant",
            tag="grants",
            params=[GRANT],
            body="Reason",
            errors=(404,),
        ),
    },
    "/grants/{grant_id}/resources/{resource_id}/data": {
        "get": _op(
            "The data of a granted resource (metered)",
            200,
            "binary",
            tag="data",
            params=[GRANT, RESOURCE],
            errors=(404,),
        ),
    },
    "/grants/{grant_id}/reports": {
        "post": _op(
            "Report how the data was used",
            201,
            "Report",
            tag="grants",
            params=[GRANT],
            body="UsageReport",
            errors=(404,),
        ),
        "get": _op(
            "Usage reports of a grant",
            200,
            "ReportList",
            tag="grants",
            params=[GRANT],
            errors=(404,),
        ),
    },
    "/openness-requests": {
        "get": _op(
            "Openness downgrades waiting (platform authority)",
            200,
            "OpennessRequestList",
            tag="authority",
        ),
    },
    "/openness-requests/{request_id}/decision": {
        "post": _op(
            "Approve or reject a downgrade",
            200,
            "OpennessRequest",
            tag="authority",
            params=[_path("request_id", "Request number.", ID)],
            body="OpennessDecision",
            errors=(404, 409),
        ),
    },
    "/audit": {
        "get": _op(
            "Audit log entries, newest first",
            200,
            "AuditEntries",
            tag="authority",
            params=[
                _query("action", "Only this action.", {"type": "string"}),
                _query("subject", "Only this subject.", {"type": "string"}),
                _query(
                    "limit", "At most (1–1000).", {"type": "integer", "minimum": 1, "maximum": 1000}
                ),
            ],
        ),
    },
    "/audit.csv": {"get": _op("The whole audit log as CSV", 200, "csv", tag="authority")},
}


PATHS["/datasets/{name}"]["put"]["responses"]["202"] = {
    "description": "Held for the platform authority: the update makes the dataset less open.",
    "content": {JSON_BODY: {"schema": _ref("OpennessRequest")}},
}


@cache
def spec() -> dict[str, Any]:
    document = APISpec(
        title="青岛市公共数据开放平台 API · Qingdao public-data portal",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "REST API v1. Errors are RFC 9457 problem documents whose `errors` map "
                "fields to messages in Chinese and English. Authenticate with "
                "`Authorization: Bearer <token>` (see POST /tokens)."
            )
        },
        servers=[{"url": "/api/v1"}],
    )
    document.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    for name, schema in MARSHMALLOW.items():
        document.components.schema(name, schema=schema)
    for name, schema in SCHEMAS.items():
        document.components.schema(name, schema)
    for path, operations in PATHS.items():
        document.path(path=path, operations=operations)
    out = document.to_dict()
    components = out["components"]["schemas"]
    # The profile's schemas refuse unknown keys; a listed zone also says how many datasets.
    summary = copy.deepcopy(components["Zone"])
    summary["properties"]["dataset_count"] = {"type": "integer"}
    components["ZoneSummary"] = summary
    return out


@blueprint.get("/openapi.json")
@guard.public
def openapi_json() -> Response:
    return jsonify(spec())


@blueprint.get("/docs")
@guard.public
def docs() -> str:
    return render_template("api_docs.html", spec=spec())
