"""What a request or a command needs from the app: settings, database, a catalog."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.orm import Session

from schemas import GradePolicy

from .access import Access, FileStore
from .catalog import Catalog
from .config import Settings
from .db import Database
from .search import Indexer, SearchBackend


def settings(app: Flask | None = None) -> Settings:
    return (app or current_app).extensions["portal.settings"]


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["portal.db"]


def policy(app: Flask | None = None) -> GradePolicy:
    return (app or current_app).extensions["portal.policy"]


def search_backend(app: Flask | None = None) -> SearchBackend:
    return (app or current_app).extensions["portal.search"]


def indexer(app: Flask | None = None) -> Indexer:
    return Indexer(database(app), search_backend(app))


def catalog(session: Session, actor: str, app: Flask | None = None) -> Catalog:
    return Catalog(session, actor, policy(app))


def audit_anchor(app: Flask | None = None) -> Path:
    """Where the audit log's head is copied after each commit (see `access.audit`)."""
    return settings(app).instance_dir / "audit.anchor"


def access(session: Session, app: Flask | None = None) -> Access:
    """The access services over `session`, with this instance's file store and audit anchor."""
    instance = settings(app).instance_dir
    return Access(
        session,
        policy(app),
        FileStore(instance / "files", settings(app).max_file_bytes),
        anchor=audit_anchor(app),
        holidays=settings(app).holiday_dates,
    )
