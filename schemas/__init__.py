"""The metadata profile: marshmallow schemas and controlled vocabularies.

No Flask and no database here: harvesters and the portal both build on this.
"""

from .dataset import DatasetSchema, dataset_schema
from .field import FieldSchema
from .messages import Message, flatten, message, render
from .organization import OrganizationSchema
from .policy import GradePolicy, load_policy
from .resource import ResourceSchema
from .vocab import Term, Vocabulary, grade_rank, vocab, vocabularies
from .zone import ScenarioSchema, ZoneSchema

__all__ = [
    "DatasetSchema",
    "FieldSchema",
    "GradePolicy",
    "Message",
    "OrganizationSchema",
    "ResourceSchema",
    "ScenarioSchema",
    "Term",
    "Vocabulary",
    "ZoneSchema",
    "dataset_schema",
    "flatten",
    "grade_rank",
    "load_policy",
    "message",
    "render",
    "vocab",
    "vocabularies",
]
