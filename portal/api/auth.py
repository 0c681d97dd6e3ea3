"""Whom the API's rate limits count. Who calls is `portal/guard.py`'s: it reads the
token (`Authorization: Bearer <token>` or the bare token) before every view, once, and
records its use in the audit log.

The API takes no session cookies, so no other site can make a signed-in browser call it
(and it needs no CSRF token).
"""

from __future__ import annotations

import hashlib

from flask import g, request

from ..guard import presented_token
from ..services import access, database


def rate_key() -> str:
    """Whom a rate limit counts: a live token presented, else the IP. An unknown, expired
    or revoked token counts against its IP: made-up tokens get no fresh budgets."""
    secret = presented_token()
    if secret and _live(secret):
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:24]
    return "ip:" + (request.remote_addr or "unknown")


def _live(secret: str) -> bool:
    if "portal.token_live" not in g:  # the limits ask more than once a request
        with database().sessions() as session:
            g.setdefault("portal.token_live", access(session).tokens.is_live(secret))
    return bool(g.get("portal.token_live"))
