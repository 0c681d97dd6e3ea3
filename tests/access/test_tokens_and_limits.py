"""API tokens (shown once, hashed, scoped, expiring, revocable, both header forms), sign-in
throttling, per-token and per-IP rate limits, and what a token lets its holder find."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app, lifecycle
from portal.db import utcnow
from portal.models import ApiToken, AuditEntry
from portal.services import access, database, indexer

from .conftest import PASSWORD, World


def test_a_token_is_shown_once_and_kept_only_as_a_digest(world: World) -> None:
    secret = world.token("enterprise", ["catalog:read", "tokens"], name="laptop")
    listed = world.call("GET", "/api/v1/tokens", token=secret).get_json()["tokens"]
    assert all("token" not in t for t in listed)
    assert any(t["name"] == "laptop" and secret.startswith(t["prefix"]) for t in listed)
    with database(world.app).sessions() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
    assert hashlib.sha256(secret.encode()).hexdigest() in stored
    assert secret not in stored


def test_both_header_forms_and_refusals(world: World) -> None:
    secret = world.token("enterprise", ["catalog:read", "tokens"])
    for header in (f"Bearer {secret}", secret, f"bearer  {secret}"):
        response = world.client.get("/api/v1/tokens", headers={"Authorization": header})
        assert response.status_code == 200, header
    bad = world.client.get("/api/v1/tokens", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert bad.get_json()["errors"]["authorization"][0]["zh"]
    assert world.client.get("/api/v1/tokens").status_code == 401


def test_revoked_and_expired_tokens_stop_working_at_once(world: World) -> None:
    secret = world.token("enterprise", ["catalog:read", "tokens"], name="short")
    listed = world.call("GET", "/api/v1/tokens", token=secret).get_json()["tokens"]
    short = next(t for t in listed if t["name"] == "short")
    assert world.call("DELETE", f"/api/v1/tokens/{short['id']}", token=secret).status_code == 200
    assert world.call("GET", "/api/v1/tokens", token=secret).status_code == 401
    other = world.token("enterprise", ["catalog:read"], name="expiring")
    with database(world.app).transaction() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == "expiring"))
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert world.call("GET", "/api/v1/tokens", token=other).status_code == 401


def test_scopes_a_role_cannot_hold_are_refused(world: World) -> None:
    for scopes in (["catalog:manage"], ["reviews"], ["audit:read"], ["grant:1"], ["root"], []):
        response = world.client.post(
            "/api/v1/tokens",
            json={
                "email": "enterprise@example.cn",
                "password": PASSWORD,
                "name": "x",
                "scopes": scopes,
            },
        )
        assert response.status_code == 422, scopes
        assert "scopes" in response.get_json()["errors"]
    # a token without the scope an endpoint needs is refused, whatever the role allows
    reader = world.token("officer", ["catalog:read"])
    response = world.call("PUT", "/api/v1/datasets/card-swipes", token=reader, json={})
    assert response.status_code == 403 and "catalog:manage" in response.get_json()["detail"]


def test_sign_in_is_throttled_per_account(world: World) -> None:
    def attempt(password: str) -> int:
        return world.client.post(
            "/api/v1/tokens",
            json={
                "email": "enterprise@example.cn",
                "password": password,
                "name": "x",
                "scopes": ["catalog:read"],
            },
        ).status_code

    assert [attempt("wrong") for _ in range(5)] == [401] * 5
    assert attempt(PASSWORD) == 429  # this source waits, even with the right password
    with database(world.app).sessions() as session:
        failed = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "login.failed")
        ).all()
    assert len(failed) == 5


def limited_app(tmp_path: Path, database_url: str, **limits: str) -> Flask:
    app = create_app(
        {"instance_path": str(tmp_path / "limited"), "database_url": database_url, **limits}
    )
    lifecycle.initialize(app)
    return app


def test_rate_limits_per_token_and_per_ip_say_when_to_retry(
    tmp_path: Path, database_url: str
) -> None:
    app = limited_app(
        tmp_path, database_url, api_rate_limit="3/minute", api_ip_rate_limit="5/minute"
    )
    client = app.test_client()
    statuses = [client.get("/api/v1/search?q=公交").status_code for _ in range(4)]
    assert statuses[:3] != [429] * 3 and statuses[3] == 429
    limited = client.get("/api/v1/search?q=公交")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.content_type == "application/problem+json"
    # another key (a token, even an unknown one) has its own budget, until the IP's runs out
    other = [
        client.get("/api/v1/suggest?q=a", headers={"Authorization": "Bearer x"}).status_code
        for _ in range(3)
    ]
    assert 429 in other  # the IP's 5/minute is spent after two more calls
    database(app).dispose()


def test_an_officer_s_token_finds_the_department_s_unlisted_datasets(world: World) -> None:
    indexer(world.app).drain()

    def names(token: str | None) -> set[str]:
        response = world.call("GET", "/api/v1/search?q=公交", token=token)
        assert response.status_code == 200, response.get_json()
        return {item["name"] for item in response.get_json()["results"]}

    public = names(None)
    officer = names(world.tokens["officer"])
    other = names(world.tokens["other_officer"])
    assert "driver-records" not in public and "driver-records" not in other
    assert "driver-records" in officer
    assert names(world.tokens["authority"]) >= officer


def test_workers_share_one_budget_through_redis(tmp_path: Path, database_url: str) -> None:
    """With PORTAL_RATE_LIMIT_STORAGE on Redis, two processes (here two apps) count
    together, as gunicorn's workers must; CI starts a Redis (`.ci/services`)."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        if os.environ.get("PORTAL_REQUIRE_SERVICES"):
            pytest.fail("REDIS_URL is not set, and PORTAL_REQUIRE_SERVICES asks for Redis")
        pytest.skip("REDIS_URL is not set (start one with .ci/services start)")
    limits = {"api_rate_limit": "", "api_ip_rate_limit": "3/minute"}
    first = limited_app(tmp_path / "a", database_url, rate_limit_storage=redis_url, **limits)
    second = create_app(
        {
            "instance_path": str(tmp_path / "a" / "limited"),
            "database_url": database_url,
            "rate_limit_storage": redis_url,
            **limits,
        }
    )
    # a client address of its own, so that concurrent runs on one Redis do not share it
    address = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"}
    statuses = [
        app.test_client().get("/api/v1/zones", environ_base=address).status_code
        for app in (first, second, first, second)
    ]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429, statuses
    database(first).dispose()
    database(second).dispose()


def test_an_unreachable_rate_limit_store_still_limits_and_never_fails(
    tmp_path: Path, database_url: str
) -> None:
    """Redis gone (here: a port nobody listens on): the process counts by itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limits = {"api_rate_limit": "", "api_ip_rate_limit": "3/minute"}
    app = limited_app(
        tmp_path / "a", database_url, rate_limit_storage=f"redis://127.0.0.1:{port}/0", **limits
    )
    client = app.test_client()
    statuses = [client.get("/api/v1/zones").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429], statuses
    database(app).dispose()


@pytest.mark.real_hashing
def test_passwords_are_hashed_with_argon2id_at_full_cost(world: World) -> None:
    """The other tests hash cheaply (tests/conftest.py); what users get is Argon2id at
    argon2-cffi's default cost (RFC 9106's low-memory profile)."""
    with database(world.app).transaction() as session:
        user = access(session, world.app).accounts.create(
            {"email": "full-cost@example.cn", "password": PASSWORD}, role="authority", by="test"
        )
        stored = user.password_hash
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    assert world.token("full-cost", ["audit:read"])
