"""Migrations run forward on an empty database (SQLite; PostgreSQL in CI) and match the models."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from portal import migrate
from portal.db import Base, make_engine


def test_migrations_run_forward_on_an_empty_database_and_match_the_models(
    new_database_url: Callable[[], str],
) -> None:
    engine = make_engine(new_database_url())
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


def test_harvest_openness_migration_goes_up_and_down(
    new_database_url: Callable[[], str],
) -> None:
    """0005: an openness request may come from a harvest source, without a requester."""
    from alembic import command

    engine = make_engine(new_database_url())

    def columns() -> dict[str, dict]:  # type: ignore[type-arg]
        return {c["name"]: c for c in inspect(engine).get_columns("openness_requests")}

    def run(step, revision: str) -> None:  # type: ignore[no-untyped-def]
        config = migrate.alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)

    try:
        migrate.upgrade(engine, "0004")
        assert columns()["requested_by"]["nullable"] is False
        assert "harvest_source_id" not in columns()
        migrate.upgrade(engine)
        assert columns()["requested_by"]["nullable"] is True
        assert columns()["harvest_source_id"]["nullable"] is True
        keys = inspect(engine).get_foreign_keys("openness_requests")
        assert any(k["referred_table"] == "harvest_sources" for k in keys)
        run(command.downgrade, "0004")
        assert migrate.current_revision(engine) == "0004"
        assert columns()["requested_by"]["nullable"] is False
        assert "harvest_source_id" not in columns()
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
