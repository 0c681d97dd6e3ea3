"""Engine, sessions and the column types both SQLite and PostgreSQL store the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


JSONColumn = JSON  # JSON text on SQLite, json on PostgreSQL


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(value: Any) -> str:
    # Chinese as itself, not as \uXXXX escapes: a third of the bytes of a JSON column's
    # Chinese text (quality notes, revisions, extras), on disk and through the driver.
    return json.dumps(value, ensure_ascii=False)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, json_serializer=_json)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, json_serializer=_json)


WRITE_INTENT = {"sqlite_begin": "IMMEDIATE"}


def _sqlite_begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once (no waiting) when
    # another connection wrote in between; one that announces its writing waits its turn.
    mode = connection.get_execution_options().get("sqlite_begin", "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Reads of a large catalog (the indexer's look-ups by id, search's result rows) hit
    # pages all over the file: map it and keep more pages, rather than a read() per page.
    cursor.execute("PRAGMA mmap_size=1073741824")  # 1 GiB of address space, not memory
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB, allocated as used
    cursor.close()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Sessions meant to write: on SQLite each of their transactions holds the write lock
        # from its start (see `_sqlite_begin`), so it never fails for another's commit.
        writer = self.engine
        if self.engine.dialect.name == "sqlite":
            writer = self.engine.execution_options(**WRITE_INTENT)
        self.writing_sessions = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A writing session whose work is committed at the end, or rolled back entirely
        on error."""
        with self.writing_sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        """Reach the database with the simplest query; raises SQLAlchemyError if it cannot."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def optimize(self) -> None:
        """Refresh the query planner's statistics after a large write: without them SQLite
        can pick a poor index (PostgreSQL's autovacuum does this by itself). A sampled
        ANALYZE: milliseconds even at a million datasets."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.begin() as connection:
                connection.exec_driver_sql("PRAGMA analysis_limit=1000")
                connection.exec_driver_sql("ANALYZE")

    def dispose(self) -> None:
        self.engine.dispose()
