"""Fixtures: every test gets a database of its own, SQLite by default.

`database_url` is already migrated: a copy of one database migrated once per test process
(a SQLite file copied; on PostgreSQL, as CI's second run uses, a database created from a
template database), since running the migrations took a quarter of a second a test on
SQLite and more on PostgreSQL. `new_database_url()` makes an empty one (a SQLite file, or a
PostgreSQL schema), for the tests of migrating and of a database not yet migrated. All are
dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from portal import create_app, lifecycle, migrate
from portal.access import accounts
from portal.catalog import Catalog
from portal.db import make_engine
from portal.services import database, policy

from .factories import ORG, ZONE

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BASE_URL = os.environ.get("DATABASE_URL", "")


def pytest_report_header() -> str:
    return f"database: {make_url(BASE_URL).render_as_string() if BASE_URL else 'SQLite per test'}"


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Argon2id at its smallest cost, in every test but those marked `real_hashing`: a
    hash at the real cost takes 0.2–0.4 s here, and a test's accounts cost seconds. Still
    Argon2id, still verified; the `portal` processes that tests start hash at full cost."""
    if request.node.get_closest_marker("real_hashing"):
        yield
        return
    real = accounts._hasher, accounts._DUMMY_HASH
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    accounts._hasher, accounts._DUMMY_HASH = cheap, cheap.hash("not-a-password-of-anyone")
    yield
    accounts._hasher, accounts._DUMMY_HASH = real


@pytest.fixture
def new_database_url(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases: SQLite files, or PostgreSQL schemas dropped at the end."""
    schemas: list[str] = []
    admin = create_engine(BASE_URL, isolation_level="AUTOCOMMIT") if _on_postgres() else None

    def make() -> str:
        if admin is None:
            return f"sqlite:///{tmp_path / f'portal-{uuid.uuid4().hex[:8]}.db'}"
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = make_url(BASE_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.connect() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _on_postgres() -> bool:
    return BASE_URL.startswith("postgresql")


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per test process, copied by `database_url`: a SQLite file, or
    a PostgreSQL database that the copies name as their template."""
    if not _on_postgres():
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'migrated.db'}"
        _migrate(url)
        yield url
        return
    with _postgres_database("tpl") as (name, url):
        _migrate(url)
        yield name


@contextmanager
def _postgres_database(prefix: str, template: str | None = None) -> Iterator[tuple[str, str]]:
    """A new PostgreSQL database (a copy of `template`, if named): its name and URL; dropped
    at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield name, make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()  # no connection may stay open on a template


@contextmanager
def _copy_of(template: str, folder: Path) -> Iterator[str]:
    """A migrated database of its own, copied from the template, dropped at the end."""
    if not _on_postgres():
        copy = folder / f"portal-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(make_url(template).database or "", copy)
        yield f"sqlite:///{copy}"
        return
    with _postgres_database("t", template) as (_, url):
        yield url


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of this test's own."""
    with _copy_of(migrated_template, tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database shared by a module's tests, for those that only read."""
    with _copy_of(migrated_template, tmp_path_factory.mktemp("module-db")) as url:
        yield url


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = create_app({"instance_path": str(tmp_path / "instance"), "database_url": database_url})
    app.config["TESTING"] = True
    lifecycle.initialize(app)
    yield app
    database(app).dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with database(app).sessions() as session:
        yield session


@pytest.fixture
def catalog(app: Flask, session: Session) -> Catalog:
    return Catalog(session, "test", policy(app))


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent (a fresh clone); real-data tests skipped")
    return SHARED


@pytest.fixture
def seeded(catalog: Catalog) -> Catalog:
    catalog.organizations.create(ORG)
    catalog.zones.create(ZONE)
    catalog.session.commit()
    return catalog
