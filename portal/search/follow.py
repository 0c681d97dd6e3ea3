"""Index while a long write runs: a child process applies the outbox as it grows.

A harvest of 100k records leaves 100k events in the outbox. Applied after it, they add a
third to its time; applied by another process while it runs, on another core, they add
only the tail, and the first datasets are searchable within a second. A serving portal
does this with its own indexer thread; `portal harvest run` and `portal import` run alone,
so they start a follower once a run proves large (small runs drain at the end, as before:
spawning a process costs about a second).

The follower is an ordinary drain in a loop, so it is as safe as any drain: if a serving
portal holds the index writer it finds the writer busy and leaves the work to it; killed
at any point, it leaves events that the next drain applies.
"""

from __future__ import annotations

import logging
import multiprocessing
from multiprocessing.synchronize import Event
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

    from ..config import Settings

log = logging.getLogger(__name__)
START_AFTER = 5_000  # records: below this, draining at the end costs less than a process


class IndexFollower:
    """Use as a context manager around the write; call `advance()` per record written."""

    def __init__(
        self, settings: Settings, start_after: int = START_AFTER, interval: float = 0.5
    ) -> None:
        self.settings, self.start_after, self.interval = settings, start_after, interval
        self.seen = 0
        self._context = multiprocessing.get_context("spawn")  # never fork a threaded process
        self._stop: Event = self._context.Event()
        self._child: multiprocessing.process.BaseProcess | None = None

    def advance(self, count: int = 1) -> None:
        self.seen += count
        if self._child is None and self.seen >= self.start_after:
            self.start()

    def start(self) -> None:
        self._child = self._context.Process(
            target=_follow,
            args=(self.settings, self._stop, self.interval),
            name="search-follower",
            daemon=True,
        )
        self._child.start()

    @property
    def started(self) -> bool:
        return self._child is not None

    def __enter__(self) -> IndexFollower:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Let the follower apply what is left, then stop it (at once if the write failed:
        the caller's own drain or the next one applies what was committed)."""
        if self._child is None:
            return
        self._stop.set()
        if error is not None:
            self._child.terminate()
        self._child.join()


def _follow(settings: Settings, stop: Event, interval: float) -> None:
    from .. import create_app
    from ..services import indexer

    parent = multiprocessing.parent_process()
    follower = indexer(create_app(settings))
    try:
        while True:
            last_round = stop.is_set()
            try:
                follower.drain()
            except Exception:  # the events stay in the outbox; the next drain applies them
                log.exception("search follower: drain failed; will retry")
            # An orphan (its parent killed) stops too: its parent's next run drains.
            if last_round or (parent is not None and not parent.is_alive()):
                return
            stop.wait(interval)
    except KeyboardInterrupt:  # Ctrl+C reaches the whole process group
        return
