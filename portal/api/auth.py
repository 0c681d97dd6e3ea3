"""Who calls the API: an API token in `Authorization` (`Bearer <token>` or the bare token).

The API takes no session cookies, so no other site can make a signed-in browser call it
(and it needs no CSRF token). Every token use goes to the audit log.
"""

from __future__ import annotations

import hashlib

from flask import request
from sqlalchemy.orm import Session

from schemas import message

from ..access import Caller
from ..catalog.errors import Forbidden, Unauthenticated
from ..services import access


def presented_token() -> str | None:
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header or None


def rate_key() -> str:
    """Whom a rate limit counts: the token when one is presented, else the IP."""
    secret = presented_token()
    if secret:
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:24]
    return "ip:" + (request.remote_addr or "unknown")


def optional_caller(session: Session) -> Caller | None:
    secret = presented_token()
    if secret is None:
        return None
    return access(session).tokens.use(
        secret, ip=request.remote_addr, request_line=f"{request.method} {request.path}"
    )


def caller(session: Session, scope: str | None = None) -> Caller:
    """The authenticated caller, whose token carries `scope` (when one is named)."""
    found = optional_caller(session)
    if found is None:
        raise Unauthenticated(
            {
                "authorization": [
                    message(
                        "需要 API 令牌：Authorization: Bearer <令牌>",
                        "An API token is needed: Authorization: Bearer <token>.",
                    )
                ]
            }
        )
    if scope and not found.has_scope(scope):
        raise Forbidden.because(
            f"此令牌没有「{scope}」范围", f"This token lacks the {scope!r} scope."
        )
    return found
