"""Harvesters turn sources into validated catalog records. No Flask, no database here."""

from .base import (
    Harvester,
    HarvestSourceError,
    SourceRecord,
    available_harvesters,
    load_harvester,
)
from .pipeline import Failed, Pipeline, SourceSettings, Validated

__all__ = [
    "Failed",
    "HarvestSourceError",
    "Harvester",
    "Pipeline",
    "SourceRecord",
    "SourceSettings",
    "Validated",
    "available_harvesters",
    "load_harvester",
]
