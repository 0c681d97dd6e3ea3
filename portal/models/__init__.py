"""The database tables. Import models from here."""

from .access import (
    ApiToken,
    Application,
    ApplicationEvent,
    AuditEntry,
    Grant,
    OpennessRequest,
    PasswordReset,
    SignInFailure,
    UsageReport,
    User,
    WebSession,
)
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
    "ApiToken",
    "Application",
    "ApplicationEvent",
    "AuditEntry",
    "CatalogEvent",
    "DataField",
    "Dataset",
    "Grant",
    "HarvestJob",
    "HarvestRecord",
    "HarvestSource",
    "OpennessRequest",
    "Organization",
    "PasswordReset",
    "Resource",
    "Revision",
    "Scenario",
    "SignInFailure",
    "UsageReport",
    "User",
    "WebSession",
    "Zone",
    "dataset_zones",
]
