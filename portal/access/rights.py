"""Who may do what: one table, checked by the services for the web and the API alike.

A check names an action and, where it matters, the thing acted on. Reviews are split by
duty: the platform authority checks the form of an application, the publishing
department its substance; administrators manage accounts, not data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..catalog.errors import Forbidden
from ..models import Application, Dataset, Grant, HarvestSource, User

Rule = Callable[[User, Any], bool]


def _role(*roles: str) -> Rule:
    return lambda user, _target: user.role in roles


def _publisher_officer(user: User, target: Any) -> bool:
    """An officer of the department that publishes the dataset the target concerns."""
    dataset: Dataset = target if isinstance(target, Dataset) else target.dataset
    return user.role == "officer" and user.organization_id == dataset.publisher_id


def _applicant(user: User, application: Application) -> bool:
    return application.applicant_id == user.id


def _holder(user: User, grant: Grant) -> bool:
    return grant.holder_id == user.id


def _department_officer(user: User, _target: Any = None) -> bool:
    """An officer who belongs to a department (accounts of no department may do nothing)."""
    return user.role == "officer" and user.organization_id is not None


def _source_keeper(user: User, source: HarvestSource) -> bool:
    """An officer of the department a harvest source registers datasets for."""
    return user.organization is not None and source.publisher == user.organization.name


def _any(*rules: Rule) -> Rule:
    return lambda user, target: any(rule(user, target) for rule in rules)


RULES: dict[str, Rule] = {
    "application.submit": _role("enterprise", "operator"),
    "application.read": _any(_applicant, _role("authority"), _publisher_officer),
    "application.withdraw": _applicant,
    "application.resubmit": _applicant,
    "application.formality": _role("authority"),
    "application.decide": _publisher_officer,
    "grant.read": _any(_holder, _role("authority"), _publisher_officer),
    "grant.use": _holder,
    "grant.revoke": _any(_role("authority"), _publisher_officer),
    "report.file": _holder,
    "report.read": _any(_holder, _role("authority"), _publisher_officer),
    "report.overdue": _any(_role("authority"), _department_officer),  # whose grants owe one
    "department.officer": _department_officer,  # acts for a department: its queues, reports
    "dataset.create": _department_officer,
    "dataset.manage": _publisher_officer,
    "dataset.files": _publisher_officer,
    "openness.decide": _role("authority"),
    "audit.read": _role("authority", "admin"),
    "account.create": _role("admin"),
    "profile.manage": _role("authority"),  # zones, vocabularies, grade policy (domain.md §1)
    "harvest.use": _any(_role("authority"), _department_officer),
    "harvest.source": _any(_role("authority"), _source_keeper),
    "catalog.all": _role("authority"),  # every department's sources, grants and reports
    "organization.manage": _role("authority", "admin"),
    "queue.formality": _role("authority"),
    "queue.substantive": _role("officer"),
}

# The scopes an API token may carry, and the roles whose accounts may put each on one
# (a `grant:<id>` scope: the grant's holder, see tokens.py).
ROLE_SCOPES: dict[str, tuple[str, ...]] = {
    "catalog:read": ("enterprise", "officer", "authority", "operator", "admin"),
    "catalog:manage": ("officer",),
    "applications": ("enterprise", "operator"),
    "reviews": ("authority", "officer"),
    "audit:read": ("authority", "admin"),
}


def role_scopes(user: User) -> list[str]:
    """The scopes of ROLE_SCOPES that `user`'s role may put on a token."""
    return [scope for scope, roles in ROLE_SCOPES.items() if user.role in roles]


def allowed(user: User, action: str, target: Any = None) -> bool:
    return RULES[action](user, target)


def refusal(user: User, action: str, target: Any = None) -> Forbidden | None:
    """The error `require` raises, or None when `user` may do `action`."""
    if allowed(user, action, target):
        return None
    return Forbidden.because(f"您无权执行此操作（{action}）", f"You may not do this ({action}).")


def require(user: User, action: str, target: Any = None) -> None:
    refused = refusal(user, action, target)
    if refused is not None:
        raise refused
