"""The product's one way out to the network: an address policy, a pinned and bounded
HTTP client, typed errors, and what a harvester may read (`Reach`)."""

from .client import Fetched, HostHeaders, Limits, OutboundClient, OutboundSession
from .errors import (
    OutboundError,
    RefusedDestination,
    ResponseTooLarge,
    UpstreamFailed,
    UpstreamTimeout,
)
from .policy import AllowList
from .reach import Reach, Read

__all__ = [
    "AllowList",
    "Fetched",
    "HostHeaders",
    "Limits",
    "OutboundClient",
    "OutboundError",
    "OutboundSession",
    "Reach",
    "Read",
    "RefusedDestination",
    "ResponseTooLarge",
    "UpstreamFailed",
    "UpstreamTimeout",
]
