"""The JSON shapes of access objects in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..access.applications import Applications
from ..models import ApiToken, Application, Grant, UsageReport


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": token.scopes,
        "created_at": _time(token.created_at),
        "expires_at": _time(token.expires_at),
        "revoked_at": _time(token.revoked_at),
        "last_used_at": _time(token.last_used_at),
    }


def application_json(application: Application, with_history: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": application.id,
        "dataset": application.dataset.name,
        "resources": application.resource_ids,
        "purpose": application.purpose,
        "scenario": application.scenario,
        "term_days": application.term_days,
        "quota_calls": application.quota_calls,
        "state": application.state,
        "submitted_at": _time(application.submitted_at),
        "formality_due": _time(application.formality_due),
        "overdue": Applications.overdue(application),
        "applicant": {
            "id": application.applicant.id,
            "enterprise": application.applicant.enterprise_name,
        },
    }
    if with_history:
        out["history"] = [
            {
                "action": e.action,
                "from": e.from_state,
                "to": e.to_state,
                "actor": e.actor_id,
                "at": _time(e.at),
                "reason": e.reason,
                "detail": e.detail,
            }
            for e in application.events
        ]
    return out


def grant_json(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "application": grant.application_id,
        "dataset": grant.dataset.name,
        "resources": grant.resource_ids,
        "conditions": grant.conditions,
        "starts_at": _time(grant.starts_at),
        "expires_at": _time(grant.expires_at),
        "quota_calls": grant.quota_calls,
        "used_calls": grant.used_calls,
        "remaining_calls": max(grant.quota_calls - grant.used_calls, 0),
        "used_bytes": grant.used_bytes,
        "report_due": _time(grant.report_due),
        "revoked_at": _time(grant.revoked_at),
        "revoke_reason": grant.revoke_reason,
    }


def report_json(report: UsageReport) -> dict[str, Any]:
    return {
        "id": report.id,
        "grant": report.grant_id,
        "usage": report.usage,
        "results": report.results,
        "benefits": report.benefits,
        "submitted_at": _time(report.submitted_at),
    }
