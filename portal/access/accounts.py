"""Accounts: registration, sign-in with throttling, web sessions, password reset by a
one-time token.

Passwords are hashed with Argon2id (argon2-cffi, OWASP's first choice); a hash made with
older parameters is upgraded at the next sign-in. No answer tells whether an address has
an account: sign-in, registration and reset requests answer alike, and cost alike (an
Argon2 hash or check on every path that could make one).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from schemas import message
from schemas.bounds import MAX_EMAIL, MAX_NAME, MAX_PASSWORD, is_email, too_long
from schemas.uscc import is_valid as valid_uscc

from ..catalog.errors import Conflict, Invalid, NotFound, TooManyAttempts, Unauthenticated
from ..db import utcnow
from ..models import ApiToken, Organization, PasswordReset, User, WebSession
from .audit import AuditLog
from .throttle import SignInThrottle

ROLES = ("enterprise", "officer", "authority", "operator", "admin")
RESET_VALID_FOR = timedelta(hours=1)
SESSION_LIFETIME = timedelta(days=7)  # a web session ends then, used or not
KNOWN_DEVICE_FOR = timedelta(days=180)
DEVICE_SALT = "portal.known-device"
MIN_PASSWORD = 10
# Every text an account form or the API sends, and its longest allowed length.
FIELD_LIMITS = {
    "email": MAX_EMAIL,
    "password": MAX_PASSWORD,
    "display_name": MAX_NAME,
    "enterprise_name": MAX_NAME,
    "enterprise_uscc": 18,
}
_hasher = PasswordHasher()
# Verifying against this when the account does not exist takes as long as a real check,
# so response times do not tell which e-mail addresses have accounts.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Registration:
    """What a sign-up did: made `user`, or found the address taken by `existing` (the
    caller answers the same and tells the owner by mail)."""

    user: User | None = None
    existing: User | None = None


@dataclass
class Accounts:
    session: Session
    audit: AuditLog
    device_key: str = ""  # signs the known-device marks (the app's secret key)

    def get(self, user_id: int) -> User:
        user = self.find(user_id)
        if user is None:
            raise NotFound.entity("用户", "user", str(user_id))
        return user

    def find(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def by_ids(self, ids: Collection[int]) -> dict[int, User]:
        """The accounts with these ids (those that exist), by id."""
        if not ids:
            return {}
        return {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(ids)))}

    def by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(User.email == email.strip().lower()))

    def sign_up(self, data: dict[str, Any], *, ip: str | None = None) -> Registration:
        """An enterprise signs itself up (the pages and the API). An address already
        registered makes no account and no error: the caller answers as for a new one and
        tells the owner by mail, so that sign-up does not tell who has an account; it costs
        the same, an Argon2 hash either way."""
        _check_enterprise(data)
        existing = self.by_email(str(data["email"]))
        if existing is None:
            return Registration(user=self.register_enterprise(data, ip=ip))
        _hasher.hash(str(data["password"]))  # as long as making the account would take
        self.audit.append(
            "account.register_taken", actor="anonymous", subject=_actor(existing), ip=ip
        )
        return Registration(existing=existing)

    def register_enterprise(self, data: dict[str, Any], *, ip: str | None = None) -> User:
        """An enterprise's account: name, 统一社会信用代码 (check digit verified); a taken
        address is a Conflict (self-service sign-up goes through `sign_up`)."""
        uscc = _check_enterprise(data)
        user = self._add(
            data,
            role="enterprise",
            enterprise_name=str(data["enterprise_name"]).strip(),
            enterprise_uscc=uscc,
        )
        self.audit.append("account.register", actor=_actor(user), subject=_actor(user), ip=ip)
        return user

    def create(
        self, data: dict[str, Any], *, role: str, organization: str | None = None, by: str
    ) -> User:
        """An account made by an administrator (or `portal user add`): any role; officers
        name their department."""
        errors = _check_account(data)
        if role not in ROLES:
            errors["role"] = [message(f"未知角色「{role}」", f"Unknown role {role!r}.")]
        organization_id = None
        if role == "officer":
            org = self.session.scalar(select(Organization).where(Organization.name == organization))
            if org is None:
                errors["organization"] = [
                    message(
                        "数据官须属于一个已登记的部门", "An officer must belong to a department."
                    )
                ]
            else:
                organization_id = org.id
        uscc = str(data.get("enterprise_uscc") or "").strip().upper() or None
        if uscc and not valid_uscc(uscc):
            errors["enterprise_uscc"] = [message("统一社会信用代码无效", "Not a valid USCC.")]
        if errors:
            raise Invalid(errors)
        user = self._add(
            data,
            role=role,
            organization_id=organization_id,
            enterprise_name=data.get("enterprise_name"),
            enterprise_uscc=uscc,
        )
        self.audit.append("account.create", actor=by, subject=_actor(user), role=role)
        return user

    def _add(self, data: dict[str, Any], **fields: Any) -> User:
        email = str(data["email"]).strip().lower()
        if self.by_email(email) is not None:
            raise Conflict.field("email", message("该邮箱已注册", "This e-mail is registered."))
        user = User(
            email=email,
            display_name=str(data.get("display_name") or email.split("@")[0]).strip(),
            password_hash=_hasher.hash(str(data["password"])),
            active=True,
            **fields,
        )
        self.session.add(user)
        self.session.flush()
        return user

    @property
    def throttle(self) -> SignInThrottle:
        return SignInThrottle(self.session)

    def authenticate(
        self, email: str, password: str, *, ip: str | None = None, device: str | None = None
    ) -> User:
        """The account if the password is right and the account active. Throttled per
        address and source (`access/throttle.py`): a 429 to wait, the same for every
        address; `device`, a known-device mark (`device_mark`), lifts the bound over all
        sources. Every attempt, good or bad, goes to the audit log, and failures are
        counted: commit the session also when this raises."""
        email = (email or "").strip().lower()
        user = self.by_email(email)
        who = _actor(user) if user is not None else "anonymous"
        subject = _actor(user) if user is not None else f"email:{email[:254]}"
        known = user is not None and self.recognises(user, device)
        try:
            self.throttle.check(email, ip, known_device=known)
        except TooManyAttempts:
            self.audit.append("login.throttled", actor=who, subject=subject, ip=ip)
            raise
        right = _verify(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not right or not user.active:
            self.throttle.failed(email, ip)
            self.audit.append("login.failed", actor=who, subject=subject, ip=ip)
            raise Unauthenticated({"_": [_WRONG]})
        self.throttle.succeeded(email, ip)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        self.audit.append("login", actor=_actor(user), subject=_actor(user), ip=ip)
        return user

    # -- known devices: a browser that signed in to the account before ---------------------
    def device_mark(self, user: User) -> str:
        """A signed mark for the browser that just signed in; it dies with the password."""
        return self._devices().dumps([user.id, password_stamp(user)])

    def recognises(self, user: User, mark: str | None) -> bool:
        if not mark or not self.device_key or len(mark) > 500:
            return False
        try:
            found = self._devices().loads(mark, max_age=KNOWN_DEVICE_FOR.total_seconds())
        except BadData:
            return False
        return found == [user.id, password_stamp(user)]

    def _devices(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.device_key, salt=DEVICE_SALT)

    # -- web sessions ----------------------------------------------------------------------
    def open_session(self, user: User) -> str:
        """A new web session of `user`: the secret for the cookie (kept here as SHA-256)."""
        now = utcnow()
        self.session.execute(delete(WebSession).where(WebSession.expires_at < now))
        secret = secrets.token_urlsafe(32)
        self.session.add(
            WebSession(
                user_id=user.id,
                secret_hash=token_digest(secret),
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        return secret

    def session_user(self, user_id: int, secret: str) -> User | None:
        """The active user whose web session this is, or None: signed out, expired, reset."""
        found = self.session.scalar(
            select(WebSession).where(
                WebSession.secret_hash == token_digest(secret or ""),
                WebSession.user_id == user_id,
                WebSession.expires_at > utcnow(),
            )
        )
        if found is None:
            return None
        user = self.find(user_id)
        return user if user is not None and user.active else None

    def end_session(self, secret: str, *, ip: str | None = None) -> None:
        """Sign out: this session ends, wherever its cookie was copied to."""
        found = self.session.scalar(
            select(WebSession).where(WebSession.secret_hash == token_digest(secret or ""))
        )
        if found is not None:
            self.audit.append("logout", actor=f"user:{found.user_id}", ip=ip)
            self.session.delete(found)

    def end_all_sessions(self, user: User, *, ip: str | None = None) -> int:
        """Sign out everywhere: every web session of `user` ends."""
        ended = self.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        count = int(ended.rowcount or 0)  # type: ignore[attr-defined]
        self.audit.append("logout.everywhere", actor=_actor(user), sessions=count, ip=ip)
        return count

    def request_reset(self, email: str, *, ip: str | None = None) -> str | None:
        """A one-time reset token for the account (to be sent by e-mail), or None when
        there is no such account (the caller answers the same either way)."""
        user = self.by_email(email or "")
        if user is None or not user.active:
            return None
        token = secrets.token_urlsafe(32)
        self.session.add(
            PasswordReset(
                user_id=user.id,
                token_hash=token_digest(token),
                expires_at=utcnow() + RESET_VALID_FOR,
            )
        )
        self.audit.append("password.reset_requested", actor=_actor(user), ip=ip)
        return token

    def reset_usable(self, token: str) -> bool:
        """Whether a reset link can still be used (a page says so before the form is filled
        in; `reset_password` checks again)."""
        reset = self._reset(token)
        return reset is not None and reset.used_at is None and reset.expires_at > utcnow()

    def _reset(self, token: str) -> PasswordReset | None:
        return self.session.scalar(
            select(PasswordReset).where(PasswordReset.token_hash == token_digest(token or ""))
        )

    def reset_password(self, token: str, password: str, *, ip: str | None = None) -> User:
        reset = self._reset(token)
        if reset is None or reset.used_at is not None or reset.expires_at < utcnow():
            raise Invalid(
                {
                    "token": [
                        message("重置链接无效或已过期", "The reset link is invalid or expired.")
                    ]
                }
            )
        errors = _check_password(password)
        if errors:
            raise Invalid(errors)
        user = self.get(reset.user_id)
        now = utcnow()
        user.password_hash = _hasher.hash(password)
        # Whoever held the old password (or another link) holds nothing now: every other
        # link, every API token and every web session of the account ends with it.
        self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        revoked = self.session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        self.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        self.throttle.forget(user.email)
        self.audit.append(
            "password.reset",
            actor=_actor(user),
            subject=_actor(user),
            ip=ip,
            tokens_revoked=int(revoked.rowcount or 0),  # type: ignore[attr-defined]
        )
        return user

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(User)) or 0


def password_stamp(user: User) -> str:
    """A digest of the stored password hash: what a known-device mark is bound to."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _actor(user: User) -> str:
    return f"user:{user.id}"


_WRONG = message("邮箱或密码错误", "Wrong e-mail or password.")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _check_enterprise(data: dict[str, Any]) -> str:
    """Refuse an enterprise's sign-up form with its field errors; its USCC, normalised."""
    errors = _check_account(data)
    uscc = str(data.get("enterprise_uscc") or "").strip().upper()
    if not str(data.get("enterprise_name") or "").strip():
        errors["enterprise_name"] = [message("请填写企业名称", "Enter the enterprise's name.")]
    if not valid_uscc(uscc):
        errors["enterprise_uscc"] = [
            message(
                "统一社会信用代码无效（18 位，末位为校验码）",
                "Not a valid unified social credit code (18 characters, the last a "
                "check character).",
            )
        ]
    if errors:
        raise Invalid(errors)
    return uscc


def _check_account(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    for name, limit in FIELD_LIMITS.items():
        if too_long(data.get(name), limit):
            errors[name] = [message(f"不能超过 {limit} 个字符", f"Longer than {limit} characters.")]
    if errors:  # nothing longer than its limit goes on to a pattern or a hash
        return errors
    if not is_email(str(data.get("email") or "")):
        errors["email"] = [message("请填写有效的邮箱地址", "Enter a valid e-mail address.")]
    errors.update(_check_password(data.get("password")))
    return errors


def _check_password(password: Any) -> dict[str, Any]:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return {
            "password": [
                message(
                    f"密码至少 {MIN_PASSWORD} 个字符", f"Use at least {MIN_PASSWORD} characters."
                )
            ]
        }
    return {}
