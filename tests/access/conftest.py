"""A small world for the access tests: two departments, datasets of each openness, and one
account of every role, each with an API token carrying the scopes its role may hold."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app, lifecycle
from portal.access.rights import ROLE_SCOPES
from portal.catalog import Catalog
from portal.services import access, database, policy

from ..factories import ORG, ZONE, dataset

OTHER_ORG = {"name": "qd-civil", "title": "青岛市民政局"}
PASSWORD = "correct horse battery"
ENTERPRISE_USCC = "91370200163562681G"
OTHER_USCC = "91370212MA3C4HGX4E"
ROLES = (
    "enterprise",
    "other_enterprise",
    "operator",
    "officer",
    "other_officer",
    "authority",
    "admin",
)
OPERATOR_USCC = "91370200MA3C5K8Y2R"


@dataclass
class World:
    app: Flask
    client: FlaskClient
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    resources: dict[str, list[str]] = field(default_factory=dict)  # dataset → resource ids

    def call(
        self,
        method: str,
        path: str,
        who: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ):  # type: ignore[no-untyped-def]
        headers = dict(kwargs.pop("headers", {}))
        secret = token or (self.tokens[who] if who else None)
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def token(self, who: str, scopes: list[str], name: str = "t") -> str:
        email = f"{who}@example.cn"
        response = self.client.post(
            "/api/v1/tokens",
            json={"email": email, "password": PASSWORD, "name": name, "scopes": scopes},
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["token"]


def _valid(uscc: str) -> str:
    from schemas.uscc import check_character

    return uscc[:17] + check_character(uscc[:17])


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    app = create_app(
        {
            "instance_path": str(tmp_path / "instance"),
            "database_url": database_url,
            "api_rate_limit": "",
            "api_ip_rate_limit": "",
            "login_rate_limit": "1000/minute",
        }
    )
    app.config["TESTING"] = True
    lifecycle.initialize(app)
    w = World(app, app.test_client())
    with database(app).transaction() as session:
        catalog = Catalog(session, "test", policy(app))
        catalog.organizations.create(ORG)
        catalog.organizations.create(OTHER_ORG)
        catalog.zones.create(ZONE)
        two = [
            {"name": "线路表", "kind": "file", "format": "csv", "url": "https://a.cn/l.csv"},
            {"name": "站点表", "kind": "file", "format": "csv", "url": "https://a.cn/s.csv"},
        ]
        for name, open_type, grade, extra in (
            ("bus-lines", "unconditional", "general1", {}),
            ("card-swipes", "conditional", "general2", {"open_condition": "须签署协议"}),
            ("driver-records", "closed", "general4", {}),
        ):
            catalog.datasets.create(
                dataset(name=name, open_type=open_type, grade=grade, resources=two, **extra)
            )
        session.flush()
        for ds in ("bus-lines", "card-swipes", "driver-records"):
            w.resources[ds] = [r.id for r in catalog.datasets.get(ds).resources]
        accounts = access(session, app).accounts
        people = {
            "enterprise": ("enterprise", None, _valid(ENTERPRISE_USCC)),
            "other_enterprise": ("enterprise", None, _valid(OTHER_USCC)),
            "operator": ("operator", None, _valid(OPERATOR_USCC)),
            "officer": ("officer", ORG["name"], None),
            "other_officer": ("officer", OTHER_ORG["name"], None),
            "authority": ("authority", None, None),
            "admin": ("admin", None, None),
        }
        for who, (role, org, uscc) in people.items():
            user = accounts.create(
                {
                    "email": f"{who}@example.cn",
                    "password": PASSWORD,
                    "enterprise_name": f"{who} 有限公司" if uscc else None,
                    "enterprise_uscc": uscc,
                },
                role=role,
                organization=org,
                by="test",
            )
            w.users[who] = user.id
    for who, (role, _org, _uscc) in people.items():
        scopes = [scope for scope, roles in ROLE_SCOPES.items() if role in roles]
        w.tokens[who] = w.token(who, scopes)
    with database(app).transaction() as session:
        files = access(session, app).files
        for ds in ("bus-lines", "card-swipes", "driver-records"):
            for resource in Catalog(session, "test").datasets.get(ds).resources:
                files.store(resource, io.BytesIO(f"{ds},{resource.id}\n".encode() * 100))
    yield w
    database(app).dispose()
