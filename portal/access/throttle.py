"""Sign-in throttling that a stranger cannot turn into a lockout of the owner.

Failures are counted per typed address (known or not: the answers must not tell) and
source (an IP; an IPv6 /64, which one host can rotate through): after `FREE_FAILURES` from
one source, that source waits a delay that doubles with every further failure, up to
`MAX_DELAY`; the request is refused with 429 and `Retry-After`, never slept on. All
sources together have a much higher bound, `GLOBAL_FREE_FAILURES`, past which the account
waits too -- unless the right password comes from a known device (a browser that signed
in to the account before) -- and a password reset forgets every count.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..catalog.errors import TooManyAttempts
from ..db import utcnow
from ..models import SignInFailure

FREE_FAILURES = 5  # per address and source, before the delays start
GLOBAL_FREE_FAILURES = 100  # per address over all sources
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # counts of a quiet address start again
ALL_SOURCES = "*"


def account_key(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def source_key(ip: str | None) -> str:
    """The source counted: the IP, or its /64 for IPv6 (one host holds billions)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def delay(failures: int, free: int) -> timedelta:
    """The wait after the `failures`-th failure: none while free, then doubling."""
    if failures < free:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - free, 20), MAX_DELAY)


@dataclass
class SignInThrottle:
    session: Session

    def check(self, email: str, ip: str | None, *, known_device: bool = False) -> None:
        """Raise `TooManyAttempts` while this source, or (without a known device) every
        source, must wait before trying a password for this address again."""
        now = utcnow()
        account = account_key(email)
        sources = [source_key(ip)] if known_device else [source_key(ip), ALL_SOURCES]
        rows = self.session.scalars(
            select(SignInFailure).where(
                SignInFailure.account == account, SignInFailure.source.in_(sources)
            )
        ).all()
        waits = [r.blocked_until for r in rows if r.blocked_until and r.blocked_until > now]
        if waits:
            raise TooManyAttempts.wait(max(waits) - now)

    def failed(self, email: str, ip: str | None) -> None:
        now = utcnow()
        self.session.execute(
            delete(SignInFailure).where(SignInFailure.last_failed_at < now - FORGET_AFTER)
        )
        account = account_key(email)
        for source, free in ((source_key(ip), FREE_FAILURES), (ALL_SOURCES, GLOBAL_FREE_FAILURES)):
            failures = self._count(account, source, now)
            wait = delay(failures, free)
            if wait:
                self.session.execute(
                    update(SignInFailure)
                    .where(SignInFailure.account == account, SignInFailure.source == source)
                    .values(blocked_until=now + wait)
                )

    def _count(self, account: str, source: str, now: datetime) -> int:
        """One more failure, counted by the database (concurrent failures all count)."""
        where = (SignInFailure.account == account, SignInFailure.source == source)
        bump = (
            update(SignInFailure)
            .where(*where)
            .values(failures=SignInFailure.failures + 1, last_failed_at=now)
        )
        if self.session.execute(bump).rowcount == 0:  # type: ignore[attr-defined]
            try:
                with self.session.begin_nested():
                    self.session.add(
                        SignInFailure(
                            account=account, source=source, failures=1, last_failed_at=now
                        )
                    )
            except IntegrityError:  # another request made the row first
                self.session.execute(bump)
        return self.session.scalar(select(SignInFailure.failures).where(*where)) or 0

    def succeeded(self, email: str, ip: str | None) -> None:
        """The right password: this source and the account's total start again."""
        self.session.execute(
            delete(SignInFailure).where(
                SignInFailure.account == account_key(email),
                SignInFailure.source.in_([source_key(ip), ALL_SOURCES]),
            )
        )

    def forget(self, email: str) -> None:
        """A password reset: every count of the address goes."""
        self.session.execute(
            delete(SignInFailure).where(SignInFailure.account == account_key(email))
        )
