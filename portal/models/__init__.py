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

__all__ = [
    "CatalogEvent",
    "DataField",
    "Dataset",
    "Organization",
    "Resource",
    "Revision",
    "Scenario",
    "Zone",
    "dataset_zones",
]
