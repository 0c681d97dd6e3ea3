"""Runs a harvester through the pipeline into the catalog service, record by record."""

from .runner import HarvestReport, run_harvest

__all__ = ["HarvestReport", "run_harvest"]
