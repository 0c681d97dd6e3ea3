"""The whole catalog as JSON Lines: `portal export` and `portal import`.

Lossless: ids, states, timestamps and every revision travel, so export → import into an
empty instance → export gives the same bytes. Lines are written in a fixed order with
sorted keys. Import is all or nothing: every line is checked first, and one bad line
(reported with its line number) leaves the instance untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, StatementError
from sqlalchemy.orm import Session, selectinload

from schemas import message

from ..models import (
    CatalogEvent,
    Dataset,
    HarvestSource,
    Organization,
    Revision,
    Scenario,
    Zone,
)
from . import Catalog
from .documents import (
    SCENARIO_COLUMNS,
    ZONE_COLUMNS,
    apply_dataset,
    canonical_json,
    dataset_document,
    organization_document,
    zone_document,
)
from .errors import CatalogError, Invalid
from .organizations import validate as validate_organization
from .zones import validate as validate_zone

FORMAT = "qingdao-portal-catalog"
SOURCE_COLUMNS = ("name", "type", "url", "publisher", "zones", "defaults", "options", "schedule")
# Newer columns, with the value an older export's sources get.
SOURCE_DEFAULTS = {"allow": [], "local_files_allowed": False}
VERSION = 1
Progress = Callable[[str], None]


def export_catalog(session: Session, out: TextIO, progress: Progress | None = None) -> int:
    """Write every catalog line to `out`; returns the number of lines."""
    count = 0
    for line in _export_lines(session):
        out.write(canonical_json(line) + "\n")
        count += 1
        if progress:
            progress(line["kind"])
    return count


def _export_lines(session: Session) -> Iterator[dict[str, Any]]:
    yield {"kind": "catalog", "format": FORMAT, "version": VERSION}
    for org in session.scalars(select(Organization).order_by(Organization.name)):
        yield {
            "kind": "organization",
            "id": org.id,
            **_stamps(org),
            "data": organization_document(org),
        }
    for source in session.scalars(select(HarvestSource).order_by(HarvestSource.name)):
        yield {
            "kind": "harvest_source",
            "created": source.created_at.isoformat(),
            "data": {
                column: getattr(source, column) for column in (*SOURCE_COLUMNS, *SOURCE_DEFAULTS)
            },
        }
    for zone in session.scalars(
        select(Zone).order_by(Zone.code).options(selectinload(Zone.scenarios))
    ):
        yield {"kind": "zone", **_stamps(zone), "data": zone_document(zone)}
    datasets = (
        select(Dataset)
        .order_by(Dataset.name)
        .options(
            selectinload(Dataset.resources),
            selectinload(Dataset.fields),
            selectinload(Dataset.zones),
            selectinload(Dataset.publisher),
        )
        .execution_options(yield_per=500)
    )
    for ds in session.scalars(datasets):
        yield {
            "kind": "dataset",
            "id": ds.id,
            "state": ds.state,
            "harvest_source": ds.harvest_source.name if ds.harvest_source else None,
            **_stamps(ds),
            "data": dataset_document(ds),
        }
    revisions = (
        select(Revision)
        .order_by(Revision.entity_type, Revision.entity_id, Revision.number)
        .execution_options(yield_per=1000)
    )
    for rev in session.scalars(revisions):
        yield {
            "kind": "revision",
            "entity_type": rev.entity_type,
            "entity_id": rev.entity_id,
            "number": rev.number,
            "action": rev.action,
            "actor": rev.actor,
            "at": rev.at.isoformat(),
            "message": rev.message,
            "changes": rev.changes,
            "snapshot": rev.snapshot,
        }


def _stamps(row: Any) -> dict[str, str]:
    return {"created": row.created_at.isoformat(), "updated": row.updated_at.isoformat()}


def import_catalog(
    catalog: Catalog, lines: Iterable[str], progress: Progress | None = None
) -> dict[str, int]:
    """Load an export into an empty catalog, in the caller's transaction; counts by kind."""
    session = catalog.session
    if session.scalar(select(func.count()).select_from(Organization)):
        raise CatalogError(
            {
                "_": [
                    message(
                        "只能导入到空的目录中（当前目录已有内容）",
                        "Import needs an empty catalog; this one has content.",
                    )
                ]
            }
        )
    errors: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        savepoint = session.begin_nested()
        try:
            kind = _import_line(catalog, json.loads(raw))
        except OperationalError:
            raise  # the database failed, not the line
        except (
            CatalogError,
            ValueError,
            KeyError,
            TypeError,
            OverflowError,
            RecursionError,
            StatementError,
        ) as error:  # StatementError: a value the database refused
            savepoint.rollback()
            errors[f"line {number}"] = _explain(error)
            continue
        savepoint.commit()
        counts[kind] = counts.get(kind, 0) + 1
        if progress:
            progress(kind)
    if errors:
        raise Invalid(errors)
    return counts


def _import_line(catalog: Catalog, line: dict[str, Any]) -> str:
    kind = line["kind"]
    session = catalog.session
    if kind == "catalog":
        if line.get("format") != FORMAT or line.get("version") != VERSION:
            raise ValueError(f"not a {FORMAT} v{VERSION} file")
    elif kind == "organization":
        _ensure_new(session, Organization, line["id"])
        org = Organization(id=line["id"], **_stamp_values(line))
        for key, value in validate_organization(_data(line)).items():
            setattr(org, key, value)
        session.add(org)
    elif kind == "harvest_source":
        data = _data(line)
        session.add(
            HarvestSource(
                created_at=datetime.fromisoformat(line["created"]),
                **{column: data.get(column) for column in SOURCE_COLUMNS},
                **{column: data.get(column, empty) for column, empty in SOURCE_DEFAULTS.items()},
            )
        )
    elif kind == "zone":
        data = validate_zone(_data(line))
        _ensure_new(session, Zone, data["code"])
        scenarios = [
            Scenario(position=i, **{c: item.get(c) for c in SCENARIO_COLUMNS})
            for i, item in enumerate(data["scenarios"])
        ]
        zone = Zone(scenarios=scenarios, **_stamp_values(line))
        for column in ZONE_COLUMNS:
            setattr(zone, column, data.get(column))
        session.add(zone)
    elif kind == "dataset":
        _import_dataset(catalog, line)
    elif kind == "revision":
        session.add(
            Revision(
                **{k: line[k] for k in ("entity_type", "entity_id", "number", "action", "actor")},
                at=datetime.fromisoformat(line["at"]),
                message=line.get("message"),
                changes=line["changes"],
                snapshot=line["snapshot"],
            )
        )
    else:
        raise ValueError(f"unknown kind {kind!r}")
    session.flush()
    return kind


def _import_dataset(catalog: Catalog, line: dict[str, Any]) -> None:
    session = catalog.session
    loaded = catalog.datasets.validate(_data(line))
    publisher = session.scalar(select(Organization).where(Organization.name == loaded["publisher"]))
    if publisher is None:
        raise Invalid({"publisher": [message("找不到数据提供方", "No such organization.")]})
    _ensure_new(session, Dataset, line["id"])
    dataset = Dataset(
        id=line["id"],
        state=line["state"],
        content_hash="",
        resources=[],
        fields=[],
        **_stamp_values(line),
    )
    if line.get("harvest_source"):
        dataset.harvest_source = session.scalar(
            select(HarvestSource).where(HarvestSource.name == line["harvest_source"])
        )
    session.add(dataset)
    with session.no_autoflush:
        apply_dataset(dataset, loaded)
        dataset.publisher = publisher
        dataset.zones = list(session.scalars(select(Zone).where(Zone.code.in_(loaded["zones"]))))
    session.flush()
    catalog.datasets.derive(dataset)
    session.add(CatalogEvent(entity_type="dataset", entity_id=dataset.id, action="import"))


def _data(line: dict[str, Any]) -> dict[str, Any]:
    data = line["data"]
    if not isinstance(data, dict):
        raise TypeError(f"data is {type(data).__name__}, not an object")
    return data


def _ensure_new(session: Session, model: type, key: str) -> None:
    if not isinstance(key, str):  # ids and codes are text; anything else is no key
        raise TypeError(f"{model.__name__} key {key!r} is not a string")
    if session.get(model, key) is not None:
        raise ValueError(f"{model.__name__} {key} appears twice")


def _stamp_values(line: dict[str, Any]) -> dict[str, datetime]:
    return {
        "created_at": datetime.fromisoformat(line["created"]),
        "updated_at": datetime.fromisoformat(line["updated"]),
    }


def _explain(error: Exception) -> Any:
    if isinstance(error, CatalogError):
        return error.errors
    detail = error.orig if isinstance(error, StatementError) and error.orig else error
    text = f"{type(error).__name__}: {str(detail).splitlines()[0] if str(detail) else ''}"
    return [message(f"此行无法读取：{text}", f"Unreadable line: {text}")]
