"""Harvest sources and jobs: outcomes per record, vanished datasets, dry runs, history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select, text

from portal.catalog import Invalid
from portal.harvest import sources
from portal.harvest.sources import add_source, run_source
from portal.models import Dataset, HarvestJob, HarvestRecord, Resource
from portal.services import database, policy

ORG = {"name": "qd-transport", "title": "青岛市交通运输局"}


def dataset(i: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": f"line-{i:05d}",
        "title": f"公交线路 {i}",
        "description": "线路与站点。",
        "domain": "transport",
        "open_type": "unconditional",
        "publisher": "qd-transport",
        "resources": [
            {"name": "CSV", "kind": "file", "format": "csv", "url": f"https://a.cn/{i}.csv"},
            {"name": "API", "kind": "api", "format": "api", "url": f"https://a.cn/api/{i}"},
        ],
        **changes,
    }


def write_source(path: Path, datasets: list[dict[str, Any]]) -> Path:
    path.write_text(
        yaml.safe_dump({"organizations": [ORG], "datasets": datasets}, allow_unicode=True),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def source_file(tmp_path: Path) -> Path:
    return write_source(tmp_path / "source.yaml", [dataset(i) for i in range(5)])


@pytest.fixture
def registered(app: Flask, source_file: Path) -> str:
    with database(app).transaction() as session:
        add_source(
            session,
            name="transport",
            type="plan",
            url=str(source_file),
            local_files_allowed=True,
            publisher=None,
            zones=[],
            defaults={"update_frequency": "每天"},
        )
    return "transport"


def run(app: Flask, name: str, **options: Any):  # type: ignore[no-untyped-def]
    return run_source(database(app), name, policy=policy(app), **options)


def count(app: Flask, model, *where) -> int:  # type: ignore[no-untyped-def]
    with database(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_source_is_checked_when_added(app: Flask) -> None:
    with database(app).transaction() as session, pytest.raises(Invalid) as caught:
        add_source(
            session,
            name="Bad Name",
            type="ftp",
            url=" ",
            publisher="nobody",
            zones=["moon"],
            schedule="sometimes",
        )
    assert set(caught.value.errors) == {"name", "type", "url", "publisher", "zones", "schedule"}


def test_outcomes_per_record_and_a_second_run_changes_nothing(app: Flask, registered: str) -> None:
    first = run(app, registered)
    assert first.status == "finished"
    assert (
        first.report.counts["dataset.added"] == 5 and first.report.counts["organization.added"] == 1
    )
    with database(app).sessions() as session:
        row = session.scalar(select(Dataset).where(Dataset.name == "line-00001"))
        assert row.update_frequency == "daily"  # the source's default, mapped from 每天
        assert row.quality_score > 0 and row.suggestion["grade"] == "general1"
    second = run(app, registered)
    assert second.report.counts == {"organization.unchanged": 1, "dataset.unchanged": 5}
    assert count(app, HarvestRecord, HarvestRecord.job_id == second.job_id) == 6


def test_vanished_datasets_are_withdrawn_and_come_back(
    app: Flask, registered: str, source_file: Path
) -> None:
    run(app, registered)
    write_source(source_file, [dataset(i) for i in (0, 1, 2)])
    report = run(app, registered).report
    assert report.counts["dataset.withdrawn"] == 2
    assert count(app, Dataset, Dataset.state == "withdrawn") == 2
    assert count(app, Dataset) == 5  # withdrawn, never deleted
    write_source(source_file, [dataset(i) for i in range(5)])
    assert run(app, registered).report.counts["dataset.restored"] == 2


def test_an_empty_answer_withdraws_nothing(app: Flask, registered: str, source_file: Path) -> None:
    run(app, registered)
    write_source(source_file, [])
    report = run(app, registered).report
    assert "dataset.withdrawn" not in report.counts and report.notes
    assert count(app, Dataset, Dataset.state == "active") == 5


def test_a_bad_record_fails_alone_with_its_location(
    app: Flask, registered: str, source_file: Path
) -> None:
    write_source(
        source_file, [dataset(0), dataset(1, open_type="无条件", grade="核心数据"), dataset(2)]
    )
    result = run(app, registered)
    assert (
        result.report.counts["dataset.added"] == 2 and result.report.counts["dataset.failed"] == 1
    )
    [failure] = result.report.failures
    assert failure.location.startswith("source.yaml:") and {"grade", "open_type"} <= set(
        failure.errors
    )
    with database(app).sessions() as session:
        stored = session.scalar(select(HarvestRecord).where(HarvestRecord.outcome == "failed"))
        assert stored.errors["grade"][0]["en"]


def test_dry_run_reports_and_writes_nothing(app: Flask, registered: str) -> None:
    result = run(app, registered, dry_run=True)
    assert result.report.counts["dataset.added"] == 5 and result.job_id is None
    assert count(app, Dataset) == 0 and count(app, HarvestJob) == 0


def test_a_source_may_not_take_over_another_s_dataset(
    app: Flask, registered: str, tmp_path: Path
) -> None:
    run(app, registered)
    other = write_source(tmp_path / "other.yaml", [dataset(1, title="别的")])
    with database(app).transaction() as session:
        add_source(session, name="other", type="plan", url=str(other), local_files_allowed=True)
    result = run(app, "other")
    assert result.report.counts["dataset.failed"] == 1
    assert "name" in result.report.failures[0].errors


def test_a_source_that_cannot_be_read_fails_the_job_with_a_reason(
    app: Flask, tmp_path: Path
) -> None:
    with database(app).transaction() as session:
        add_source(
            session,
            name="gone",
            type="plan",
            url=str(tmp_path / "missing.yaml"),
            local_files_allowed=True,
        )
    result = run(app, "gone")
    assert result.status == "failed" and "missing.yaml" in result.error
    with database(app).sessions() as session:
        job = session.get(HarvestJob, result.job_id)
        assert job.status == "failed" and "missing.yaml" in job.error


def test_job_history_is_bounded(
    app: Flask, registered: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "KEEP_JOBS", 2)
    for _ in range(4):
        run(app, registered)
    assert count(app, HarvestJob) == 2
    assert count(app, HarvestRecord) == 12


@pytest.mark.live
def test_killed_mid_run_then_rerun_leaves_no_duplicate_and_no_half_dataset(
    tmp_path: Path, database_url: str
) -> None:
    big = write_source(tmp_path / "big.yaml", [dataset(i) for i in range(3000)])
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
    }

    def portal(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "portal", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert portal("init").returncode == 0
    assert portal("harvest", "add", "big", "--type", "plan", "--url", str(big)).returncode == 0
    harvest = subprocess.Popen(
        [sys.executable, "-m", "portal", "harvest", "run", "big"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from portal import create_app

    app = create_app({"instance_path": str(tmp_path / "instance"), "database_url": database_url})
    deadline = time.monotonic() + 120
    while count(app, Dataset) < 600 and time.monotonic() < deadline and harvest.poll() is None:
        time.sleep(0.05)
    harvest.send_signal(signal.SIGKILL)
    harvest.wait()
    partial = count(app, Dataset)
    assert 0 < partial < 3000, "the kill did not land mid-run"
    # every stored dataset is whole: both its resources are there
    assert count(app, Resource) == 2 * partial
    again = portal("harvest", "run", "big")
    assert again.returncode == 0, again.stderr
    assert count(app, Dataset) == 3000 and count(app, Resource) == 6000
    with database(app).sessions() as session:
        statuses = list(session.scalars(select(HarvestJob.status).order_by(HarvestJob.id)))
    assert statuses == ["interrupted", "finished"]
    assert portal("doctor").returncode == 0
    database(app).dispose()


def test_a_harvest_runs_while_the_serving_portal_writes(
    app: Flask, registered: str, source_file: Path
) -> None:
    """Served pages write as a harvest goes (page views, token use, audit entries): on
    SQLite a harvest transaction that read before another's commit must wait its turn,
    not fail with "database is locked"."""
    write_source(source_file, [dataset(i) for i in range(3000)])
    stop = threading.Event()
    writes: list[str] = []

    def serving_portal() -> None:
        while not stop.wait(0.005):
            try:
                with database(app).transaction() as session:
                    session.execute(text("UPDATE datasets SET popularity = popularity + 1"))
                writes.append("ok")
            except Exception as error:  # counted: the test says which
                writes.append(repr(error))

    writer = threading.Thread(target=serving_portal)
    writer.start()
    try:
        job = run(app, registered)
    finally:
        stop.set()
        writer.join()
    assert job.status == "finished", job.error
    assert job.report.counts.get("dataset.added") == 3000
    assert writes and set(writes) == {"ok"}, set(writes) - {"ok"}
