"""What a request or a command needs from the app: settings, database, a catalog."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy.orm import Session

from schemas import GradePolicy

from .access import Access, FileStore
from .access.checkpoints import CheckpointLog
from .catalog import Catalog
from .config import Settings
from .db import Database
from .harvest.clock import HarvestClock
from .outbound import Outbound
from .search import Indexer, SearchBackend


def settings(app: Flask | None = None) -> Settings:
    return (app or current_app).extensions["portal.settings"]


def database(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["portal.db"]


def policy(app: Flask | None = None) -> GradePolicy:
    return (app or current_app).extensions["portal.policy"]


def outbound(app: Flask | None = None) -> Outbound:
    """The instance's outbound policy (allow lists, limits, department credentials)."""
    return (app or current_app).extensions["portal.outbound"]


def harvest_clock(app: Flask | None = None) -> HarvestClock:
    """A fresh clock for one harvest run, with the instance's wall-time bounds."""
    config = settings(app)
    return HarvestClock(config.harvest_max_seconds, config.harvest_record_seconds)


def search_backend(app: Flask | None = None) -> SearchBackend:
    return (app or current_app).extensions["portal.search"]


def indexer(app: Flask | None = None) -> Indexer:
    return Indexer(database(app), search_backend(app))


def catalog(session: Session, actor: str, app: Flask | None = None) -> Catalog:
    return Catalog(session, actor, policy(app))


def audit_anchor(app: Flask | None = None) -> CheckpointLog:
    """The signed checkpoints of the audit log's head, written after each commit (see
    `access.checkpoints`)."""
    config = settings(app)
    return CheckpointLog(
        config.instance_dir, config.audit_key, every=max(1, config.audit_checkpoint_every)
    )


def access(session: Session, app: Flask | None = None) -> Access:
    """The access services over `session`, with this instance's file store and audit
    checkpoints."""
    instance = settings(app).instance_dir
    return Access(
        session,
        policy(app),
        FileStore(instance / "files", settings(app).max_file_bytes),
        anchor=audit_anchor(app),
        holidays=settings(app).holiday_dates,
        outbound=outbound(app),
        secret=(app or current_app).config["SECRET_KEY"],
    )
