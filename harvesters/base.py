"""The harvester protocol: a harvester yields source records, each with where it came from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Literal, Protocol

RecordKind = Literal["organization", "zone", "dataset"]
ENTRY_POINT_GROUP = "portal.harvesters"


@dataclass(frozen=True)
class SourceRecord:
    """One record as the source gave it, and where: a file and line, a URL, a sheet and row."""

    kind: RecordKind
    data: dict[str, Any]
    location: str


class Harvester(Protocol):
    """Anything with a name that yields source records; organizations and zones come first."""

    name: str

    def records(self) -> Iterator[SourceRecord]: ...


def available_harvesters() -> dict[str, type]:
    """Harvester classes registered under the `portal.harvesters` entry point group."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_harvester(kind: str, **options: Any) -> Harvester:
    registered = available_harvesters()
    if kind not in registered:
        raise LookupError(f"no harvester {kind!r}; registered: {', '.join(sorted(registered))}")
    return registered[kind](**options)
