"""Migrations run forward on an empty database (SQLite; PostgreSQL in CI) and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from portal import migrate
from portal.db import Base, make_engine


def test_migrations_run_forward_on_an_empty_database_and_match_the_models(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"datasets", "organizations", "zones", "revisions", "catalog_events"} <= tables
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert drift == [], f"models and migrations differ: {drift}"
        migrate.upgrade(engine)  # running again is harmless
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
