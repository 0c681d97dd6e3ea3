"""Who may do what: one table, checked by the services for the web and the API alike.

A check names an action and, where it matters, the thing acted on. Reviews are split by
duty: the platform authority checks the form of an application, the publishing
department its substance; administrators manage accounts, not data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..catalog.errors import Forbidden
from ..models import Application, Dataset, Grant, User

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
    "dataset.manage": _publisher_officer,
    "dataset.files": _publisher_officer,
    "openness.decide": _role("authority"),
    "audit.read": _role("authority", "admin"),
    "account.create": _role("admin"),
    "organization.manage": _role("authority", "admin"),
    "queue.formality": _role("authority"),
    "queue.substantive": _role("officer"),
}


def allowed(user: User, action: str, target: Any = None) -> bool:
    return RULES[action](user, target)


def require(user: User, action: str, target: Any = None) -> None:
    if not allowed(user, action, target):
        raise Forbidden.because(f"您无权执行此操作（{action}）", f"You may not do this ({action}).")
