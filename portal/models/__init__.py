"""The database tables. Import models from here."""

from .catalog import (
    CatalogEvent,
    DataField,
    Dataset,
    Organization,
    Resource,
    Revision,
    Scenario,
    Zone,
    dataset_zones,
)
from .harvest import HarvestJob, HarvestRecord, HarvestSource

__all__ = [
    "CatalogEvent",
    "DataField",
    "Dataset",
    "HarvestJob",
    "HarvestRecord",
    "HarvestSource",
    "Organization",
    "Resource",
    "Revision",
    "Scenario",
    "Zone",
    "dataset_zones",
]
