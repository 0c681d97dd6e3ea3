"""The harvester protocol: a harvester yields source records, each with where it came from."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal, Protocol

from schemas import Message

RecordKind = Literal["organization", "zone", "dataset"]
ENTRY_POINT_GROUP = "portal.harvesters"


@dataclass(frozen=True)
class SourceRecord:
    """One record mapped to the profile's field names, and where it came from: a file and
    line, a URL, a sheet and row. `warnings` say what the mapping dropped (a value that
    matched no vocabulary term, say) so the job report can show it."""

    kind: RecordKind
    data: dict[str, Any]
    location: str
    warnings: tuple[Message, ...] = ()


class HarvestSourceError(RuntimeError):
    """A source that cannot be opened or read at all (as opposed to a bad record in it).
    `message` is bilingual; `url` is what could not be read, when there is one."""

    def __init__(self, message: str | Message, url: str | None = None) -> None:
        text = message if isinstance(message, str) else f"{message['en']} / {message['zh']}"
        super().__init__(text)
        self.message: Message = {"zh": text, "en": text} if isinstance(message, str) else message
        self.url = url


def stable_name(prefix: str, identifier: str, readable: str = "") -> str:
    """A slug for a harvested dataset or organization that stays the same run after run:
    `prefix`, the ASCII words of `readable` (if any), and a hash of the source's own
    identifier (its URL or id), e.g. stable_name("gz", url, "bus lines") → gz-bus-lines-3f2a9c1e.
    """
    words = re.findall(r"[a-z0-9]+", readable.lower())
    head = "-".join([prefix.lower(), *words])[:80].strip("-")
    digest = hashlib.sha1(identifier.encode("utf-8")).hexdigest()[:10]
    return f"{head}-{digest}"


class Harvester(Protocol):
    """Anything with a name that yields source records; organizations and zones come first."""

    name: str

    def records(self) -> Iterator[SourceRecord]: ...


def available_harvesters() -> dict[str, EntryPoint]:
    """Harvesters registered under the `portal.harvesters` entry point group (not loaded:
    a broken plug-in must not stop the others)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_harvester(kind: str, *args: Any, **options: Any) -> Harvester:
    """An instance of the harvester registered as `kind`, built with these arguments."""
    registered = available_harvesters()
    if kind not in registered:
        raise LookupError(f"no harvester {kind!r}; registered: {', '.join(sorted(registered))}")
    return registered[kind].load()(*args, **options)
