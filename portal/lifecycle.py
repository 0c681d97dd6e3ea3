"""Setting an instance up: folders, migrations, the plan catalog on first start."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from harvesters.plan import PlanHarvester

from . import migrate
from .harvest import HarvestReport, run_harvest
from .harvest.runner import Progress
from .models import Dataset
from .services import database, policy, settings


def initialize(app: Flask) -> None:
    """Create the instance folder and bring the database schema to the newest revision."""
    settings(app).instance_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(database(app).engine)


def is_initialized(app: Flask) -> bool:
    return migrate.is_current(database(app).engine)


def catalog_is_empty(app: Flask) -> bool:
    with database(app).sessions() as session:
        return not session.scalar(select(func.count()).select_from(Dataset))


def load_plan(app: Flask, progress: Progress | None = None) -> HarvestReport:
    """Register the bundled plan catalog; loading it again changes nothing."""
    return run_harvest(
        database(app), PlanHarvester(), actor="harvest:plan", policy=policy(app), progress=progress
    )
