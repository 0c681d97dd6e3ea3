"""Who may do what: one table, checked by the services for the web and the API alike.

A check names an action and, where it matters, the thing acted on. Reviews are split by
duty: the platform authority checks the form of an application, the publishing
department its substance; administrators manage accounts, not data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    # The department registry: imports and harvests attach records to existing
    # departments, never make one (issue 15).
    "organization.manage": _role("authority", "admin"),
    "queue.formality": _role("authority"),
    "queue.substantive": _role("officer"),
}


@dataclass(frozen=True)
class Scope:
    """A token scope: what it lets a token do, whether it only reads, the roles whose
    accounts may put it on a token, and the read scopes it includes (a write scope
    includes the reads of what it writes)."""

    what: str
    writes: bool
    roles: tuple[str, ...]
    includes: tuple[str, ...] = ()


EVERYONE = ("enterprise", "officer", "authority", "operator", "admin")
# The one table of token scopes. Every API route and CKAN action names the one it needs
# (guard.py, api/ckan_dispatch.py); tests/access/test_declarations.py walks them all.
# A scope narrows its user's rights, never adds to them: the rules above still apply.
SCOPES: dict[str, Scope] = {
    "catalog:read": Scope("search and read the catalog entries the owner may see", False, EVERYONE),
    "catalog:manage": Scope(
        "register and edit the owner's department's datasets and files",
        True,
        ("officer",),
        ("catalog:read",),
    ),
    "applications:read": Scope(
        "read applications, grants and usage reports: one's own, or those one reviews",
        False,
        ("enterprise", "operator", "officer", "authority"),
    ),
    "applications": Scope(
        "submit, withdraw and resubmit applications; file usage reports",
        True,
        ("enterprise", "operator"),
        ("applications:read",),
    ),
    "reviews:read": Scope("read the openness requests waiting", False, ("authority", "officer")),
    "reviews": Scope(
        "decide applications, revoke grants, decide openness requests",
        True,
        ("authority", "officer"),
        ("reviews:read", "applications:read"),
    ),
    "audit:read": Scope("read and export the audit log", False, ("authority", "admin")),
    "tokens": Scope("list and revoke the owner's API tokens", True, EVERYONE),
    "organizations:manage": Scope("create and edit departments", True, ("authority", "admin")),
}
# The roles whose accounts may put each scope on a token (a `grant:<id>` scope: the
# grant's holder, see tokens.py).
ROLE_SCOPES: dict[str, tuple[str, ...]] = {name: scope.roles for name, scope in SCOPES.items()}


def covers(held: list[str], needed: str) -> bool:
    """Whether a token holding the scopes `held` may do what `needed` allows."""
    return needed in held or any(needed in SCOPES[s].includes for s in held if s in SCOPES)


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
