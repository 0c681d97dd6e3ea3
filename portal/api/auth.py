"""Whom the API's rate limits count. Who calls is `portal/guard.py`'s: it reads the
token (`Authorization: Bearer <token>` or the bare token) before every view, once, and
records its use in the audit log.

The API takes no session cookies, so no other site can make a signed-in browser call it
(and it needs no CSRF token).
"""

from __future__ import annotations

import hashlib

from flask import request

from ..guard import presented_token


def rate_key() -> str:
    """Whom a rate limit counts: the token when one is presented, else the IP."""
    secret = presented_token()
    if secret:
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:24]
    return "ip:" + (request.remote_addr or "unknown")
