"""A harvest may not make a dataset less open on its own: the record is held as an openness
request for the authority, as an officer's downgrade is; approved, it applies; rejected,
the next runs do not ask again. More open waits the same way (issue 15); new datasets are
applied at once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from harvesters.outbound import Reach
from portal.harvest.sources import add_source, run_source
from portal.models import AuditEntry, Dataset, HarvestJob, HarvestRecord, OpennessRequest, User
from portal.search import SearchQuery, search
from portal.services import access, audit_anchor, database, indexer, policy, search_backend

from ..web.test_workspace import BASE, signed_in
from .test_sources import dataset, write_source

LOCAL = Reach(local_files=True)  # the tests name files as an operator would

LESS_OPEN = {"open_type": "conditional", "open_condition": "须签署数据使用协议"}


@pytest.fixture
def source(app: Flask, tmp_path: Path) -> Path:
    path = write_source(tmp_path / "source.yaml", [dataset(i) for i in range(3)])
    with database(app).transaction() as session:
        add_source(
            session,
            name="transport",
            type="plan",
            url=str(path),
            local_files_allowed=True,
            defaults={"update_frequency": "每天"},
        )
    return path


@pytest.fixture
def authority(app: Flask) -> int:
    with database(app).transaction() as session:
        user = access(session, app).accounts.create(
            {"email": "authority@example.cn", "password": "correct horse battery"},
            role="authority",
            organization=None,
            by="test",
        )
        return user.id


def run(app: Flask, **options: Any):  # type: ignore[no-untyped-def]
    return run_source(
        database(app), "transport", policy=policy(app), audit_anchor=audit_anchor(app), **options
    )


def outcome(run, name: str):  # type: ignore[no-untyped-def]
    return next(o for o in run.report.outcomes if o.key == name)


def open_type(app: Flask, name: str) -> str:
    with database(app).sessions() as session:
        return session.scalar(select(Dataset.open_type).where(Dataset.name == name))


def requests(app: Flask) -> list[tuple[OpennessRequest, str | None]]:
    """Every openness request, oldest first, with its harvest source's name."""
    with database(app).sessions() as session:
        query = select(OpennessRequest).order_by(OpennessRequest.id)
        return [
            (r, r.harvest_source.name if r.harvest_source else None) for r in session.scalars(query)
        ]


def audited(app: Flask, action: str) -> list[AuditEntry]:
    with database(app).sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def indexed(app: Flask, open_type: str) -> set[str]:
    indexer(app).drain()
    query = SearchQuery(filters={"open_type": (open_type,)}, size=100)
    with database(app).sessions() as session:
        return {item.name for item in search(search_backend(app), session, query).items}


def decide(app: Flask, authority: int, request_id: int, approve: bool) -> None:
    with database(app).transaction() as session:
        user = session.get(User, authority)
        reason = None if approve else "无法律依据"
        access(session, app).stewardship.decide(user, request_id, approve, reason)


def downgrade(path: Path) -> None:
    write_source(path, [dataset(0, **LESS_OPEN), dataset(1), dataset(2)])


def test_a_harvested_downgrade_waits_for_the_authority_then_applies(
    app: Flask, source: Path, authority: int
) -> None:
    first = run(app)
    assert first.report.counts["dataset.added"] == 3
    assert indexed(app, "unconditional") == {"line-00000", "line-00001", "line-00002"}

    downgrade(source)
    dry = run(app, dry_run=True)
    assert outcome(dry, "line-00000").outcome == "held"
    assert requests(app) == []  # a dry run asks nothing

    held = run(app)
    record = outcome(held, "line-00000")
    assert record.outcome == "held" and held.report.counts["dataset.held"] == 1
    assert held.report.counts["dataset.unchanged"] == 2
    assert held.report.changed == 0
    [(request, source_name)] = requests(app)
    assert (request.state, request.from_open_type, request.to_open_type) == (
        "pending",
        "unconditional",
        "conditional",
    )
    assert request.requested_by is None and source_name == "transport"
    assert "harvest source transport" in request.reason and "采集来源 transport" in request.reason
    assert request.changes["open_type"] == "conditional"
    assert f"#{request.id}" in record.warnings[-1]["en"]
    assert "waits for the authority" in record.warnings[-1]["en"]
    # nothing of the record applied: not in the database, not in search
    assert open_type(app, "line-00000") == "unconditional"
    assert "line-00000" in indexed(app, "unconditional")
    assert "line-00000" not in indexed(app, "conditional")
    [entry] = audited(app, "openness.request")
    assert entry.actor == "harvest:transport" and entry.subject == "dataset:line-00000"
    assert entry.detail["request"] == request.id

    again = run(app)  # the same document: the same request, no new one
    assert outcome(again, "line-00000").outcome == "held"
    assert len(requests(app)) == 1 and len(audited(app, "openness.request")) == 1

    # a newer document of the same downgrade replaces the one waiting
    write_source(
        source, [dataset(0, **LESS_OPEN, description="线路、站点与时刻。"), dataset(1), dataset(2)]
    )
    newer = run(app)
    assert f"#{request.id}" in outcome(newer, "line-00000").warnings[-1]["en"]
    [(request, _)] = requests(app)
    assert request.changes["description"] == "线路、站点与时刻。"

    decide(app, authority, request.id, approve=True)
    assert open_type(app, "line-00000") == "conditional"
    assert "line-00000" in indexed(app, "conditional")
    approved = audited(app, "openness.approved")
    assert approved and approved[-1].detail["requester"] == "harvest:transport"

    after = run(app)
    assert outcome(after, "line-00000").outcome == "unchanged"
    assert after.report.counts["dataset.unchanged"] == 3
    assert len(requests(app)) == 1


def test_a_rejected_downgrade_is_not_asked_again(app: Flask, source: Path, authority: int) -> None:
    run(app)
    downgrade(source)
    run(app)
    [(request, _)] = requests(app)
    decide(app, authority, request.id, approve=False)

    for _ in range(2):
        rerun = run(app)
        record = outcome(rerun, "line-00000")
        assert record.outcome == "held"
        assert (
            "rejected" in record.warnings[-1]["en"]
            and f"#{request.id}" in record.warnings[-1]["en"]
        )
        assert len(requests(app)) == 1
        assert open_type(app, "line-00000") == "unconditional"

    # the source says something else: not open at all — that is a new question
    write_source(source, [dataset(0, open_type="closed"), dataset(1), dataset(2)])
    closed = run(app)
    assert outcome(closed, "line-00000").outcome == "held"
    states = [(r.state, r.to_open_type) for r, _ in requests(app)]
    assert states == [("rejected", "conditional"), ("pending", "closed")]
    assert open_type(app, "line-00000") == "unconditional"


def test_new_datasets_apply_at_once_and_more_open_waits_too(app: Flask, source: Path) -> None:
    write_source(source, [dataset(0, **LESS_OPEN), dataset(1), dataset(2)])
    first = run(app)  # a first harvest is not a change, whatever the openness
    assert first.report.counts["dataset.added"] == 3
    assert open_type(app, "line-00000") == "conditional"

    write_source(source, [dataset(0), dataset(1), dataset(2)])
    upgraded = run(app)
    assert outcome(upgraded, "line-00000").outcome == "held"
    assert open_type(app, "line-00000") == "conditional"
    assert [(r.from_open_type, r.to_open_type) for r, _ in requests(app)] == [
        ("conditional", "unconditional")
    ]


def test_the_job_and_the_pages_show_held_records(app: Flask, source: Path, authority: int) -> None:
    run(app)
    downgrade(source)
    held = run(app)
    with database(app).sessions() as session:
        job = session.get(HarvestJob, held.job_id)
        assert job.counts["dataset.held"] == 1
        [record] = session.scalars(
            select(HarvestRecord).where(
                HarvestRecord.job_id == held.job_id, HarvestRecord.outcome == "held"
            )
        ).all()
        assert record.key == "line-00000" and "#" in record.warnings[-1]["zh"]

    client = signed_in(SimpleNamespace(app=app), "authority")  # type: ignore[arg-type]
    page = client.get("/workspace/harvest/transport?lang=en", base_url=BASE)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "line-00000" in text and "waits for the authority" in text and "held" in text
    zh = client.get("/workspace/harvest/transport", base_url=BASE).get_data(as_text=True)
    assert "待开放主管部门审批的记录" in zh and "待审批" in zh
    openness = client.get("/workspace/openness?lang=en", base_url=BASE)
    assert openness.status_code == 200
    assert "harvest source transport" in openness.get_data(as_text=True)
    index = client.get("/workspace", base_url=BASE).get_data(as_text=True)
    assert "采集来源 transport" in index


def test_an_uploaded_catalog_cannot_make_a_dataset_less_open_either(
    app: Flask, tmp_path: Path
) -> None:
    """An officer's spreadsheet upload runs as the officer, without a source: the request
    is the officer's."""
    from harvesters import load_harvester
    from portal.catalog import Catalog
    from portal.harvest import run_harvest

    def upload(documents: list[dict[str, Any]], actor: str):  # type: ignore[no-untyped-def]
        path = write_source(tmp_path / "upload.yaml", documents)
        return run_harvest(
            database(app),
            load_harvester("plan", str(path), reach=LOCAL),
            actor=actor,
            policy=policy(app),
            audit_anchor=audit_anchor(app),
        )

    with database(app).transaction() as session:
        Catalog(session, "test", policy(app)).organizations.create(
            {"name": "qd-transport", "title": "青岛市交通运输局"}
        )
        session.flush()
        officer_id = (
            access(session, app)
            .accounts.create(
                {"email": "officer@example.cn", "password": "correct horse battery"},
                role="officer",
                organization="qd-transport",
                by="test",
            )
            .id
        )
    assert upload([dataset(0)], "test").counts["dataset.added"] == 1
    report = upload([dataset(0, **LESS_OPEN)], f"user:{officer_id}")
    assert [o.outcome for o in report.outcomes if o.kind == "dataset"] == ["held"]
    [(request, source_name)] = requests(app)
    assert request.requested_by == officer_id and source_name is None
    assert open_type(app, "line-00000") == "unconditional"
    [entry] = audited(app, "openness.request")
    assert entry.actor == f"user:{officer_id}"
