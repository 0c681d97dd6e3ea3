"""Setting an instance up: folders, migrations, the plan catalog on first start."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import migrate
from .access.checkpoints import CheckpointLog
from .harvest import HarvestReport
from .harvest.runner import Progress
from .harvest.sources import add_source, run_source
from .models import Dataset, HarvestSource
from .services import audit_anchor, database, harvest_clock, outbound, policy, settings


def initialize(app: Flask) -> None:
    """Create the instance folder and bring the database schema to the newest revision."""
    settings(app).instance_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(database(app).engine)


def is_initialized(app: Flask) -> bool:
    return migrate.is_current(database(app).engine)


def catalog_is_empty(app: Flask) -> bool:
    with database(app).sessions() as session:
        return not session.scalar(select(func.count()).select_from(Dataset))


PLAN_SOURCE = "plan"


def ensure_plan_source(session: Session, anchor: CheckpointLog | None = None) -> None:
    if session.scalar(select(HarvestSource).where(HarvestSource.name == PLAN_SOURCE)) is None:
        add_source(session, name=PLAN_SOURCE, type="plan", url="bundled", audit_anchor=anchor)


def load_plan(app: Flask, progress: Progress | None = None) -> HarvestReport:
    """Harvest the bundled plan catalog through its own source; again, it changes nothing."""
    db = database(app)
    with db.transaction() as session:
        ensure_plan_source(session, audit_anchor(app))
    run = run_source(
        db,
        PLAN_SOURCE,
        policy=policy(app),
        progress=progress,
        audit_anchor=audit_anchor(app),
        outbound=outbound(app),
        clock=harvest_clock(app),
    )
    if run.error:
        raise RuntimeError(f"the plan catalog could not be loaded: {run.error}")
    return run.report
