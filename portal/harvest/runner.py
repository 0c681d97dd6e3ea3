"""One harvest run: each valid record is stored in its own savepoint, so one bad record
(or one the catalog refuses) is reported with its location and the rest goes on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from harvesters import Failed, Harvester, Pipeline
from schemas import GradePolicy, message, render

from ..catalog import Catalog, CatalogError
from ..db import Database

Progress = Callable[[str], None]


@dataclass
class HarvestReport:
    counts: Counter[str] = field(default_factory=Counter)  # "dataset.added" → n
    failures: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (location, errors)

    @property
    def changed(self) -> int:
        return sum(n for key, n in self.counts.items() if not key.endswith(("unchanged", "failed")))

    def describe(self) -> str:
        lines = [f"{key}: {n}" for key, n in sorted(self.counts.items())]
        for location, errors in self.failures:
            lines.append(f"FAILED {location}\n  " + render(errors).replace("\n", "\n  "))
        return "\n".join(lines)


def run_harvest(
    db: Database,
    harvester: Harvester,
    *,
    actor: str,
    policy: GradePolicy,
    progress: Progress | None = None,
    batch_size: int = 200,
) -> HarvestReport:
    report = HarvestReport()
    pipeline = Pipeline(policy=policy)
    session = db.sessions()
    try:
        catalog = Catalog(session, actor, policy)
        pending = 0
        for item in pipeline.process(harvester.records()):
            if isinstance(item, Failed):
                report.counts[f"{item.kind}.failed"] += 1
                report.failures.append((item.location, item.errors))
                continue
            outcome = _store(session, catalog, item.kind, item.data, item.location, report)
            report.counts[f"{item.kind}.{outcome}"] += 1
            if progress:
                progress(item.kind)
            pending += 1
            if pending >= batch_size:
                session.commit()
                pending = 0
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return report


def _store(
    session: Any,
    catalog: Catalog,
    kind: str,
    data: dict[str, Any],
    location: str,
    report: HarvestReport,
) -> str:
    service = {
        "organization": catalog.organizations,
        "zone": catalog.zones,
        "dataset": catalog.datasets,
    }[kind]
    savepoint = session.begin_nested()
    try:
        outcome, _ = service.upsert(data)
        session.flush()
    except CatalogError as error:
        savepoint.rollback()
        report.failures.append((location, error.errors))
        return "failed"
    except IntegrityError as error:  # e.g. a value the database holds unique elsewhere
        savepoint.rollback()
        detail = str(error.orig).splitlines()[0]
        text = message(
            f"数据库拒绝了此记录：{detail}", f"The database refused the record: {detail}"
        )
        report.failures.append((location, {"_": [text]}))
        return "failed"
    savepoint.commit()
    return outcome
