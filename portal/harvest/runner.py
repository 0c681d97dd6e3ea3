"""One harvest run: each record is stored in its own savepoint, so one bad record (or one
the catalog refuses) is reported with its location and the rest goes on. Work is
committed in batches; a run killed half-way leaves whole records only, and running it
again finishes the job without duplicates (records are matched by name).

A record that would change an existing dataset's openness or lower its grade is not
applied but `held`: it becomes a request for the platform authority (see `openness.py`).

Departments are the platform authority's registry. A run for one department (an officer's
spreadsheet upload, a department's harvest source) stores datasets of that department
only: a record naming another is refused with its location, and the rest goes on; its
department records change nothing (one that would create or alter a department is
refused). Only a source of no department, which an operator registers at the command
line (the plan, a city-wide mirror), may register departments, each with an audit entry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from harvesters import Failed, Harvester, Pipeline, SourceSettings, Validated
from schemas import GradePolicy, Message, message, render

from ..access.audit import AuditLog
from ..access.checkpoints import CheckpointLog
from ..catalog import Catalog, CatalogError
from ..catalog.bulk import DatasetBatches
from ..catalog.documents import organization_document
from ..catalog.organizations import validate as validate_organization
from ..db import Database
from ..models import Dataset
from .clock import HarvestClock
from .openness import OpennessHolds

Progress = Callable[[str], None]
# A worker process costs about a second to start; past this many records it pays off.
PARALLEL_AFTER = 5_000


@dataclass(frozen=True)
class RecordOutcome:
    kind: str
    outcome: str  # added, updated, unchanged, restored, withdrawn, held, failed
    key: str | None
    location: str | None
    errors: dict[str, Any] | None = None
    warnings: tuple[Message, ...] = ()


@dataclass
class HarvestReport:
    counts: Counter[str] = field(default_factory=Counter)  # "dataset.added" → n
    outcomes: list[RecordOutcome] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)  # about the run as a whole
    stopped: Message | None = None  # why the run stopped before the source's end

    def add(self, outcome: RecordOutcome) -> None:
        self.counts[f"{outcome.kind}.{outcome.outcome}"] += 1
        self.outcomes.append(outcome)

    @property
    def failures(self) -> list[RecordOutcome]:
        return [o for o in self.outcomes if o.outcome == "failed"]

    @property
    def held(self) -> list[RecordOutcome]:
        """Records not applied: they would make a dataset less open (see `openness.py`)."""
        return [o for o in self.outcomes if o.outcome == "held"]

    @property
    def changed(self) -> int:
        return sum(
            n for key, n in self.counts.items() if not key.endswith(("unchanged", "held", "failed"))
        )

    def describe(self) -> str:
        lines = [f"{key}: {n}" for key, n in sorted(self.counts.items())]
        lines += [f"NOTE {note['zh']} ({note['en']})" for note in self.notes]
        for failure in self.failures:
            detail = render(failure.errors or {}).replace("\n", "\n  ")
            lines.append(f"FAILED {failure.location}\n  {detail}")
        for held in self.held:
            notes = "; ".join(f"{w['zh']} ({w['en']})" for w in held.warnings)
            lines.append(f"HELD {held.key} {notes}".rstrip())
        return "\n".join(lines)


def run_harvest(
    db: Database,
    harvester: Harvester,
    *,
    actor: str,
    policy: GradePolicy,
    settings: SourceSettings | None = None,
    source_id: int | None = None,
    withdraw_missing: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    batch_size: int = 500,
    parallel_after: int | None = PARALLEL_AFTER,
    audit_anchor: CheckpointLog | None = None,
    by: str | None = None,
    clock: HarvestClock | None = None,
) -> HarvestReport:
    """Harvest into the catalog. With `withdraw_missing`, datasets of this source that the
    run did not see are withdrawn (never deleted); with `dry_run` nothing is kept. Records
    after the first `parallel_after` are validated by worker processes (None: never).
    Openness requests of held records go to the audit log, whose head is signed into
    `audit_anchor` (the instance's, see `services.audit_anchor`); so does the run itself
    (`harvest.commit`, in its last transaction; `harvest.failed` when batches were kept
    before a failure), with `by` (who started it; default: `actor`) as its actor.
    `clock`: the run's wall-time bounds (see `clock.py`); a run past its total stops at the
    next record, keeps what it stored, withdraws nothing and says why (`report.stopped`)."""
    clock = clock or HarvestClock()
    pipeline = Pipeline(policy=policy, source=settings or SourceSettings())
    session = db.writing_sessions()  # commits a batch at a time, alongside other writers
    audit = AuditLog(session, audit_anchor)
    subject = f"harvest_source:{source_id}" if source_id is not None else f"upload:{actor}"

    def audited(action: str, report: HarvestReport, **detail: Any) -> None:
        counts = dict(report.counts)
        audit.append(action, actor=by or actor, subject=subject, counts=counts, **detail)

    run: _Run | None = None
    try:
        holds = OpennessHolds(session, audit, actor, source_id, dry_run)
        department = settings.publisher if settings else None
        run = _Run(Catalog(session, actor, policy), holds, source_id, dry_run, batch_size)
        run.department = department
        clock.start()
        for item in pipeline.process(harvester.records(), parallel_after):
            overran = clock.record_overran()
            if overran is not None:
                item = Failed(item.kind, {"_": [overran]}, item.location, item.warnings)
            run.take(item)
            if progress:
                progress(item.kind)
            run.report.stopped = clock.job_overran()
            if run.report.stopped is not None:
                run.report.notes.append(run.report.stopped)
                break
        complete = run.report.stopped is None  # an unfinished run saw only part of the source
        run.finish(
            withdraw_missing and complete,
            lambda: audited("harvest.commit", run.report, source_actor=actor),
        )
    except BaseException as error:
        session.rollback()
        if run is not None and run.committed:
            # what earlier batches stored stays: the log says so, and why the run stopped
            audited("harvest.failed", run.report, source_actor=actor, error=type(error).__name__)
            session.commit()
        raise
    finally:
        session.close()
    return run.report


class _Run:
    """What one run stores, record by record: organizations and zones at once, datasets a
    batch at a time; each outcome goes into the report."""

    def __init__(
        self,
        catalog: Catalog,
        holds: OpennessHolds,
        source_id: int | None,
        dry_run: bool,
        batch_size: int,
    ) -> None:
        self.catalog = catalog
        self.session = catalog.session
        self.holds = holds
        self.source_id = source_id
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.report = HarvestReport()
        self.committed = False  # a batch was kept before the end
        self.department: str | None = None  # the one department the run stores for
        self.aliases: set[str] = set()  # the source's names for that department
        self.seen: set[str] = set()  # names of the datasets the source gave
        self.waiting: list[Validated] = []  # datasets until their batch is stored
        self.held: dict[str, Message] = {}  # dataset name → why its record is held
        # A batch that the database refuses is stored again one by one.
        self.batches = DatasetBatches(
            catalog.datasets, source_id, lambda data: self.store_one("dataset", data)
        )

    def take(self, item: Validated | Failed) -> None:
        """One record from the pipeline."""
        if isinstance(item, Failed):
            self.report.add(
                RecordOutcome(item.kind, "failed", None, item.location, item.errors, item.warnings)
            )
        elif item.kind == "dataset":
            self.seen.add(item.data["name"])
            refused = self._foreign(item.data)
            if refused is not None:
                self._refuse(item, refused)
                return
            self.waiting.append(item)
            if len(self.waiting) >= self.batch_size:
                self.store_waiting()
        elif item.kind == "organization" and self.department is not None:
            self._department_record(item)
        else:
            outcome, errors = self.store_one(item.kind, item.data)
            if item.kind == "organization" and outcome == "added" and not self.dry_run:
                self.holds.audit.append(
                    "organization.create",
                    actor=self.catalog.actor,
                    subject=f"organization:{item.data['name']}",
                    location=item.location,
                )
            key = _key(item.kind, item.data)
            self.report.add(
                RecordOutcome(item.kind, outcome, key, item.location, errors, item.warnings)
            )

    def _foreign(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """Why a dataset record of another department than the run's is refused; a record
        naming the run's department under the source's own name for it is attached."""
        named = data.get("publisher")
        if named in self.aliases:
            data["publisher"] = self.department
            return None
        if self.department is None or named == self.department:
            return None
        text = message(
            f"记录的数据提供方「{named}」不是本次导入的部门「{self.department}」，未导入",
            f"The record's publisher {named!r} is not this import's department "
            f"{self.department!r}; not imported.",
        )
        return {"publisher": [text]}

    def _department_record(self, item: Validated) -> None:
        """A department record in a department's run: the run's own department (by its
        name, title or 统一社会信用代码), which changes nothing, or refused."""
        name = item.data.get("name")
        own = self.catalog.organizations.find(self.department or "")
        if own is not None and name != own.name and _same_department(own, item.data):
            self.aliases.add(name)  # the source's name for the run's department
            self.report.add(RecordOutcome(item.kind, "unchanged", own.name, item.location))
            return
        found = self.catalog.organizations.find(name) if name else None
        try:
            same = found is not None and organization_document(found) == validate_organization(
                item.data
            )
        except CatalogError:
            same = False
        if same:
            self.report.add(RecordOutcome(item.kind, "unchanged", name, item.location))
            return
        text = message(
            f"部门「{name}」只能由开放主管部门登记或修改，未导入",
            f"Only the platform authority registers or changes departments ({name!r}); "
            "not imported.",
        )
        self._refuse(item, {"name": [text]})

    def _refuse(self, item: Validated, errors: dict[str, Any]) -> None:
        self.report.add(
            RecordOutcome(
                item.kind,
                "failed",
                _key(item.kind, item.data),
                item.location,
                errors,
                item.warnings,
            )
        )

    def store_one(self, kind: str, data: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        """One record in its own savepoint: (outcome, errors if it failed)."""
        outcome, errors, note = _store(
            self.session, self.catalog, kind, data, self.source_id, self.holds
        )
        if note is not None:
            self.held[data["name"]] = note
        return outcome, errors

    def store_waiting(self) -> None:
        """The waiting datasets as one batch, committed unless this is a dry run."""
        results = self.batches.upsert([item.data for item in self.waiting])
        for item, (outcome, errors) in zip(self.waiting, results, strict=True):
            name = item.data["name"]
            warnings = item.warnings + self._why_held(outcome, name)
            self.report.add(
                RecordOutcome("dataset", outcome, name, item.location, errors, warnings)
            )
        self.waiting.clear()
        if not self.dry_run:
            self.session.commit()
            self.committed = True

    def finish(self, withdraw_missing: bool, audited: Callable[[], None]) -> None:
        """The last batch; the datasets the source no longer has; kept with the run's audit
        entry (`audited`), or not at all for a dry run."""
        if self.waiting:
            self.store_waiting()
        if withdraw_missing and self.source_id is not None:
            _withdraw_vanished(self.session, self.catalog, self.source_id, self.seen, self.report)
        if self.dry_run:
            self.session.rollback()
        else:
            audited()
            self.session.commit()

    def _why_held(self, outcome: str, name: str) -> tuple[Message, ...]:
        return (self.held.pop(name),) if outcome == "held" and name in self.held else ()


def _same_department(department: Any, data: dict[str, Any]) -> bool:
    titles = {department.title, department.description}
    uscc = data.get("uscc")
    if uscc and department.uscc:
        return bool(uscc == department.uscc)
    return data.get("title") in titles or data.get("description") in titles - {None}


def _key(kind: str, data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return data.get("code" if kind == "zone" else "name")


def _store(
    session: Session,
    catalog: Catalog,
    kind: str,
    data: dict[str, Any],
    source_id: int | None,
    holds: OpennessHolds,
) -> tuple[str, dict[str, Any] | None, Message | None]:
    """One record through the service, in a savepoint: (outcome, errors if it failed,
    why it is held if it is)."""
    savepoint = session.begin_nested()
    try:
        if kind == "dataset":
            note = holds.hold(data)
            if note is not None:
                session.flush()
                savepoint.commit()
                return "held", None, note
            outcome, _ = catalog.datasets.upsert(data, harvest_source_id=source_id)
        else:
            service = catalog.organizations if kind == "organization" else catalog.zones
            outcome, _ = service.upsert(data)
        session.flush()
    except CatalogError as error:
        savepoint.rollback()
        return "failed", error.errors, None
    except IntegrityError as error:  # e.g. a value the database holds unique elsewhere
        savepoint.rollback()
        detail = str(error.orig).splitlines()[0]
        text = message(
            f"数据库拒绝了此记录：{detail}", f"The database refused the record: {detail}"
        )
        return "failed", {"_": [text]}, None
    savepoint.commit()
    return outcome, None, None


def _withdraw_vanished(
    session: Session, catalog: Catalog, source_id: int, seen: set[str], report: HarvestReport
) -> None:
    active = session.scalars(
        select(Dataset.name).where(
            Dataset.harvest_source_id == source_id, Dataset.state == "active"
        )
    ).all()
    vanished = sorted(set(active) - seen)
    if vanished and not seen:
        # An empty answer from a source that had datasets is more likely an outage than
        # a catalog emptied overnight: keep them and say so.
        report.notes.append(
            message(
                f"来源本次没有返回任何数据集，未撤回原有的 {len(vanished)} 个数据集",
                f"The source returned no datasets; its {len(vanished)} datasets were kept.",
            )
        )
        return
    for name in vanished:
        catalog.datasets.withdraw(name, reason="no longer in its harvest source")
        report.add(RecordOutcome("dataset", "withdrawn", name, None))
