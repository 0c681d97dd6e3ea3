"""The interface both search backends implement (as Wagtail's search backends do).

Index versions: the live index can be rebuilt beside itself and swapped in. Each version
remembers its outbox cursor (the last catalog event it reflects); whoever writes to a
version replays the events after its cursor, so a crash, a restart or a swap loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..documents import IndexDocument
from ..query import SearchQuery


@dataclass(frozen=True)
class Hit:
    id: str
    score: float | None


@dataclass
class RawResult:
    """What a backend found: ids in order, the total, and facet counts by field."""

    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SearchUnavailable(Exception):
    """The engine cannot be reached or opened; catalog writes still succeed (outbox)."""


class WriterBusy(Exception):
    """Another process holds the index writer; it drains the outbox, we need not."""


class IndexWriter(Protocol):
    version: str

    @property
    def cursor(self) -> int:
        """The last catalog event this version reflects."""
        ...

    def upsert(self, documents: Iterable[IndexDocument]) -> None: ...

    def delete(self, ids: Iterable[str]) -> None: ...

    def commit(self, cursor: int) -> None:
        """Make the writes durable and searchable, and remember `cursor` with them."""
        ...

    def publish(self) -> None:
        """Make this (rebuilt) version the live index."""
        ...

    def close(self) -> None: ...


class SearchBackend(Protocol):
    name: str

    def search(self, query: SearchQuery) -> RawResult:
        """Hits, total and facets, with the viewer's scopes applied inside the engine."""
        ...

    def suggest(self, text: str, scopes: tuple[str, ...], limit: int) -> list[str]:
        """Ids of datasets whose title matches what has been typed so far, best first."""
        ...

    def live_writer(self) -> IndexWriter:
        """This process's writer on the live version (made empty if there is none).
        Raises `WriterBusy` when another process holds it."""
        ...

    def new_version(self, cursor: int) -> IndexWriter:
        """A writer on a new, empty version that starts at `cursor`; not live until published."""
        ...

    def stamps(self) -> Iterator[tuple[str, str]]:
        """Every (id, stamp) in the live index, for `portal doctor`."""
        ...

    def count(self) -> int: ...

    def live_cursor(self) -> int:
        """The cursor of the live version, read without taking the writer."""
        ...

    def close(self) -> None: ...
