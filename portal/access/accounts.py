"""Accounts: registration, sign-in with throttling, password reset by a one-time token.

Passwords are hashed with Argon2id (argon2-cffi, OWASP's first choice); a hash made with
older parameters is upgraded at the next sign-in.
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
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas import message
from schemas.bounds import MAX_EMAIL, MAX_NAME, MAX_PASSWORD, is_email, too_long
from schemas.uscc import is_valid as valid_uscc

from ..catalog.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from ..db import utcnow
from ..models import Organization, PasswordReset, User
from .audit import AuditLog

ROLES = ("enterprise", "officer", "authority", "operator", "admin")
MAX_FAILURES = 5  # consecutive failed sign-ins before the account is locked for a while
LOCK_FOR = timedelta(minutes=15)
RESET_VALID_FOR = timedelta(hours=1)
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


@dataclass
class Accounts:
    session: Session
    audit: AuditLog

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

    def register_enterprise(self, data: dict[str, Any], *, ip: str | None = None) -> User:
        """An enterprise signs itself up: name, 统一社会信用代码 (check digit verified)."""
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
            failed_logins=0,
            **fields,
        )
        self.session.add(user)
        self.session.flush()
        return user

    def authenticate(self, email: str, password: str, *, ip: str | None = None) -> User:
        """The account if the password is right; refuses a locked or disabled account.
        Every attempt, good or bad, goes to the audit log, and failures count towards a
        lock: commit the session also when this raises."""
        user = self.by_email(email or "")
        now = utcnow()
        if user is None:
            _verify(_DUMMY_HASH, password)
            self.audit.append("login.failed", actor="anonymous", subject=f"email:{email}", ip=ip)
            raise Unauthenticated({"_": [_WRONG]})
        if user.locked_until and user.locked_until > now:
            self.audit.append("login.locked", actor=_actor(user), subject=_actor(user), ip=ip)
            minutes = int((user.locked_until - now).total_seconds() // 60) + 1
            raise Forbidden.because(
                f"登录失败次数过多，请 {minutes} 分钟后再试",
                f"Too many failed sign-ins; try again in {minutes} minutes.",
            )
        if not _verify(user.password_hash, password) or not user.active:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + LOCK_FOR, 0
            self.audit.append("login.failed", actor=_actor(user), subject=_actor(user), ip=ip)
            raise Unauthenticated({"_": [_WRONG]})
        user.failed_logins, user.locked_until = 0, None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        self.audit.append("login", actor=_actor(user), subject=_actor(user), ip=ip)
        return user

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
        user.password_hash = _hasher.hash(password)
        user.failed_logins, user.locked_until = 0, None
        reset.used_at = utcnow()
        self.audit.append("password.reset", actor=_actor(user), subject=_actor(user), ip=ip)
        return user

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(User)) or 0


def _actor(user: User) -> str:
    return f"user:{user.id}"


_WRONG = message("邮箱或密码错误", "Wrong e-mail or password.")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


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
