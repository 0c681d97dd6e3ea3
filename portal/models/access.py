"""Access tables: accounts, API tokens, applications for conditional data and their
review trail, grants and their metering, usage reports, openness-downgrade requests,
and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, JSONColumn, UTCDateTime, utcnow
from .catalog import Dataset, Organization
from .harvest import HarvestSource


class User(Base):
    """An account. `role` is one of enterprise, officer, authority, operator, admin.
    Officers belong to a department; enterprises (and operators) carry their company's
    name and 统一社会信用代码."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), index=True)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization | None] = relationship()


class PasswordReset(Base):
    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """Failed sign-ins of one address (`account`: the SHA-256 of the typed e-mail, known or
    not) from one source (an IP, an IPv6 /64, or "*" for all sources together): what the
    sign-in throttle counts (`access/throttle.py`)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (UniqueConstraint("account", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser session: the cookie holds the secret, this row its SHA-256.
    Signing out deletes it; a password reset deletes every session of the user."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ApiToken(Base):
    """A token is shown once; only its SHA-256 is kept. Scopes: `catalog:read`,
    `catalog:manage` (the owner's department), `grant:<id>`."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists, to tell tokens apart
    scopes: Mapped[list[str]] = mapped_column(JSONColumn)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Application(Base):
    """申请: an enterprise asks for resources of one 有条件开放 dataset."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    resource_ids: Mapped[list[str]] = mapped_column(JSONColumn)
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    term_days: Mapped[int] = mapped_column(Integer)
    quota_calls: Mapped[int] = mapped_column(Integer)
    commitment_accepted: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(20), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    formality_due: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    applicant: Mapped[User] = relationship()
    dataset: Mapped[Dataset] = relationship()
    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", order_by="ApplicationEvent.id"
    )


class ApplicationEvent(Base):
    """Each transition of an application: who, when, from and to which state, and why."""

    __tablename__ = "application_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONColumn)

    application: Mapped[Application] = relationship(back_populates="events")


class Grant(Base):
    """What an approval gives: resources of a dataset, a term, a call quota; metered."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    resource_ids: Mapped[list[str]] = mapped_column(JSONColumn)
    conditions: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quota_calls: Mapped[int] = mapped_column(Integer)
    used_calls: Mapped[int] = mapped_column(Integer, default=0)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    report_due: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    holder: Mapped[User] = relationship()
    dataset: Mapped[Dataset] = relationship()
    application: Mapped[Application] = relationship()


class UsageReport(Base):
    """利用情况、成果与效益: what a grant holder did with the data."""

    __tablename__ = "usage_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    usage: Mapped[str] = mapped_column(Text)
    results: Mapped[str] = mapped_column(Text)
    benefits: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpennessRequest(Base):
    """A request to make a dataset less open, for the authority to decide: a department's
    (`requested_by`, an officer) or a harvest's (`harvest_source_id`: the source lists the
    dataset as less open than the catalog has it; no person asked)."""

    __tablename__ = "openness_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    from_open_type: Mapped[str] = mapped_column(String(20))
    to_open_type: Mapped[str] = mapped_column(String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(JSONColumn)  # the whole requested update
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    harvest_source_id: Mapped[int | None] = mapped_column(
        ForeignKey("harvest_sources.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20), index=True)  # pending, approved, rejected
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship()
    harvest_source: Mapped[HarvestSource | None] = relationship()


class AuditEntry(Base):
    """One security-relevant event. `hash` covers the entry's content and the previous
    entry's hash; `prev_hash` is unique, so the chain cannot fork. Rows are never updated
    or deleted (triggers refuse it); `portal audit verify` recomputes the chain."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(300))  # user:<id> <email>, token:<id>, system
    action: Mapped[str] = mapped_column(String(50), index=True)
    subject: Mapped[str | None] = mapped_column(String(300))  # application:12, dataset:<name>
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONColumn)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
