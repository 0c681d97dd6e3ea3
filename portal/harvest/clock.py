"""Wall-time bounds of a harvest: per record and per job.

Python cannot safely interrupt a CPU-bound call running in a thread, so nothing here stops
a parse or a mapping half-way; what keeps any single parse bounded is the parsers' own
limits (XML with a DTD refused, JSON depth, the outbound size cap). The clock is read
between records: a record that took longer than `record_seconds` to reach us (its reading,
mapping and validation) is reported as that record's error, and the job's clock is checked
after each record, so a job past `max_seconds` stops at the next record boundary, keeping
what it committed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from schemas import Message, message


@dataclass
class HarvestClock:
    max_seconds: float = 3600.0
    record_seconds: float = 60.0
    started: float = field(default_factory=time.monotonic)
    last: float = field(default_factory=time.monotonic)
    taken: int = 0  # records so far

    def start(self) -> None:
        self.started = self.last = time.monotonic()
        self.taken = 0

    def record_overran(self) -> Message | None:
        """Why the record just taken is refused (it took too long), or None."""
        now = time.monotonic()
        took, self.last = now - self.last, now
        self.taken += 1
        # The first record's wait is the source's own reading (a harvester may fetch and
        # parse its whole document first): bounded by the outbound limits and the job's
        # clock, not blamed on that record.
        if self.taken == 1 or took <= self.record_seconds:
            return None
        return message(
            f"读取该记录用时 {took:.1f} 秒，超过上限 {self.record_seconds:g} 秒",
            f"Reading this record took {took:.1f} s, over the bound of {self.record_seconds:g} s.",
        )

    def job_overran(self) -> Message | None:
        """Why the job stops now (over its total bound), or None."""
        took = time.monotonic() - self.started
        if took <= self.max_seconds:
            return None
        return message(
            f"采集运行 {took:.1f} 秒，超过上限 {self.max_seconds:g} 秒"
            "（PORTAL_HARVEST_MAX_SECONDS），已停止；之前提交的记录保留",
            f"The harvest ran {took:.1f} s, over its bound of {self.max_seconds:g} s "
            "(PORTAL_HARVEST_MAX_SECONDS); stopped, the records committed before are kept.",
        )
