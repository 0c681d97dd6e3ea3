"""API tokens: made by a user for themselves, shown once, kept as a SHA-256 digest, named,
scoped, expiring and revocable.

Scopes: the table `rights.SCOPES` (each read or write, with the roles that may hold it),
and `grant:<id>` (use one of the owner's grants' data, and nothing else).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import message

from ..catalog.errors import Invalid, NotFound, Unauthenticated
from ..db import utcnow
from ..models import ApiToken, AuditEntry, Grant, User
from . import rights
from .accounts import token_digest
from .audit import AuditLog

PREFIX = "qdp_"  # recognisable in logs and by secret scanners
MAX_DAYS = 366
GRANT_SCOPE = re.compile(r"^grant:(\d{1,10})$")  # longer: no grant id, and no SQL integer
# Which roles may put which scope on a token is rights.ROLE_SCOPES; what the token then
# does is checked by the services all the same: a scope narrows a user's rights, it never
# adds to them.


@dataclass(frozen=True)
class Caller:
    """Who makes a request: the user, and the token used (None for a web session, which
    carries every right of its user)."""

    user: User
    token: ApiToken | None = None

    def has_scope(self, scope: str) -> bool:
        """A session may do all its user may; a token what its scopes cover."""
        return self.token is None or rights.covers(list(self.token.scopes), scope)

    @property
    def label(self) -> str:
        if self.token is None:
            return f"user:{self.user.id}"
        return f"user:{self.user.id} token:{self.token.id}"


@dataclass
class Tokens:
    session: Session
    audit: AuditLog

    def create(
        self, user: User, *, name: str, scopes: list[str], days: int = 90
    ) -> tuple[ApiToken, str]:
        """The token row and the secret, which is never shown again."""
        errors = {}
        if not (name or "").strip() or len(name) > 100:
            errors["name"] = [message("请为令牌命名（最多 100 字）", "Name the token (≤ 100).")]
        bad = [s for s in scopes if not self._allowed(user, s)]
        if not scopes or bad:
            errors["scopes"] = [
                message(
                    f"不能授予的范围：{', '.join(bad) or '（空）'}",
                    f"Scopes you cannot grant: {', '.join(bad) or '(none)'}.",
                )
            ]
        if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            errors["days"] = [message(f"有效期为 1–{MAX_DAYS} 天", f"Expiry is 1–{MAX_DAYS} days.")]
        if errors:
            raise Invalid(errors)
        secret = PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            user_id=user.id,
            name=name.strip(),
            token_hash=token_digest(secret),
            prefix=secret[:12],
            scopes=sorted(set(scopes)),
            expires_at=utcnow() + timedelta(days=days),
        )
        self.session.add(token)
        self.session.flush()
        self.audit.append(
            "token.create", actor=f"user:{user.id}", subject=f"token:{token.id}", scopes=scopes
        )
        return token, secret

    def _allowed(self, user: User, scope: str) -> bool:
        if scope in rights.ROLE_SCOPES:
            return scope in rights.role_scopes(user)
        match = GRANT_SCOPE.match(scope)
        if match:
            grant = self.session.get(Grant, int(match.group(1)))
            return grant is not None and grant.holder_id == user.id
        return False

    def of(self, user: User) -> list[ApiToken]:
        return list(
            self.session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
            )
        )

    def revoke(self, user: User, token_id: int) -> ApiToken:
        token = self.session.get(ApiToken, token_id)
        if token is None or token.user_id != user.id:  # another's token: as if absent
            raise NotFound.entity("令牌", "token", str(token_id))
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            self.audit.append("token.revoke", actor=f"user:{user.id}", subject=f"token:{token.id}")
        return token

    def resolve(self, secret: str, *, ip: str | None = None) -> Caller:
        """The caller a presented token stands for; refuses unknown, expired, revoked
        tokens and disabled accounts."""
        token = self.session.scalar(
            select(ApiToken).where(ApiToken.token_hash == token_digest(secret))
        )
        now = utcnow()
        if token is None or token.revoked_at or _expired(token.expires_at, now):
            raise Unauthenticated(
                {
                    "authorization": [
                        message(
                            "API 令牌无效、已过期或已撤销",
                            "The API token is invalid, expired or revoked.",
                        )
                    ]
                }
            )
        if not token.user.active:
            raise Unauthenticated(
                {"authorization": [message("该账户已停用", "This account is disabled.")]}
            )
        token.last_used_at = now
        return Caller(token.user, token)

    def is_live(self, secret: str) -> bool:
        """Whether a presented token is one that `resolve` would take (for the rate limits:
        a bogus token must not get a budget of its own). Only well-formed secrets are
        looked up."""
        if not secret.startswith(PREFIX) or len(secret) > 100:
            return False
        now = utcnow()
        found = self.session.scalar(
            select(ApiToken.id).where(
                ApiToken.token_hash == token_digest(secret),
                ApiToken.revoked_at.is_(None),
                (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now),
            )
        )
        return found is not None

    def use(self, secret: str, *, ip: str | None, request_line: str) -> Caller:
        """`resolve`, and the use recorded in the audit log (what was asked, from where).
        A refused token is recorded too (`token.refused`, bounded: see `refused`); the
        caller commits the transaction before answering, so that the entry stays."""
        try:
            found = self.resolve(secret, ip=ip)
        except Unauthenticated:
            self.refused(
                f"token:{_shown_prefix(secret)}", ip=ip, request_line=request_line,
                reason="invalid, expired or revoked",
            )  # fmt: skip
            raise
        self.audit.append("token.use", actor=found.label, subject=request_line[:300], ip=ip)
        return found

    def refused(
        self, who: str, *, ip: str | None, request_line: str, reason: str
    ) -> AuditEntry | None:
        """Record a request refused for its token (unknown, expired, revoked, or lacking
        the scope or right asked for): one entry per token and address a minute, and at
        most `REFUSALS_PER_MINUTE` a minute in all (per process), so that a flood of bad
        tokens cannot flood the log; the rest are only counted in the next entry."""
        suppressed = _REFUSALS.admit((who, ip or ""))
        if suppressed is None:
            return None
        return self.audit.append(
            "token.refused", actor=who, subject=request_line[:300], ip=ip,
            reason=reason, suppressed_before=suppressed,
        )  # fmt: skip


def _shown_prefix(secret: str) -> str:
    """As much of a presented secret as the log may keep: the public prefix tokens carry
    (`ApiToken.prefix`), printable characters only."""
    return "".join(c for c in secret[:12] if c.isascii() and c.isprintable()) or "?"


REFUSALS_PER_MINUTE = 120
_REFUSAL_KEYS = 10_000


class RefusalBudget:
    """A fixed one-minute window: each key (token, address) once, `limit` in all; counts
    what it turned away, for the next entry to say."""

    def __init__(
        self, limit: int = REFUSALS_PER_MINUTE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._seen: set[tuple[str, str]] = set()
        self._suppressed = 0

    def admit(self, key: tuple[str, str]) -> int | None:
        """The number turned away since the last admitted one, or None to turn this away."""
        with self._lock:
            window = int(self._clock() // 60)
            if window != self._window:
                self._window, self._seen = window, set()
            if key in self._seen or len(self._seen) >= min(self.limit, _REFUSAL_KEYS):
                self._suppressed += 1
                return None
            self._seen.add(key)
            suppressed, self._suppressed = self._suppressed, 0
            return suppressed


_REFUSALS = RefusalBudget()


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
