"""Bounds on parser work in the harvesters (issue 15, finding 14): an XML document with a
DTD is refused before it is parsed (entity expansion, external entities), JSON nested past
the bound is refused with the reason named, and a harvest job stops at its total time
bound, keeping what it committed and saying why."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.harvest.sources import add_source, run_source
from portal.models import Dataset, HarvestJob
from portal.services import database, policy

RDF = (
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">'
    '<dcat:Dataset rdf:about="http://example.org/d1"><dct:title>{title}</dct:title>'
    "<dct:description>d</dct:description></dcat:Dataset></rdf:RDF>"
)


def _laughs(levels: int = 5) -> str:
    """Billion laughs: each entity is sixteen of the one before (5 levels: 4 MiB of text)."""
    lines = ['<!ENTITY l0 "' + "a" * 64 + '">']
    for level in range(1, levels):
        lines.append(f'<!ENTITY l{level} "' + f"&l{level - 1};" * 16 + '">')
    prolog = '<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + "\n".join(lines) + "\n]>\n"
    return prolog + RDF.format(title=f"&l{levels - 1};")


def _harvest(app: Flask, path: Path, **options: Any):  # type: ignore[no-untyped-def]
    with database(app).transaction() as session:
        add_source(
            session,
            name=path.stem,
            type="dcat",
            url=str(path),
            local_files_allowed=True,  # as typed by an operator at the command line
            publisher=None,
            zones=[],
            defaults={},
            **options,
        )
    return run_source(database(app), path.stem, policy=policy(app))


def _datasets(app: Flask) -> int:
    with database(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(Dataset))


def test_a_billion_laughs_rdf_xml_is_refused_quickly(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "laughs.rdf"
    path.write_text(_laughs(), encoding="utf-8")
    assert path.stat().st_size < 1024  # the review's was 645 bytes and took 14.7 s
    started = time.monotonic()
    run = _harvest(app, path)
    assert time.monotonic() - started < 5.0
    assert run.status == "failed"
    assert "DTD" in (run.error or "") and "laughs.rdf" in (run.error or "")
    assert _datasets(app) == 0


def test_an_external_entity_is_never_resolved(app: Flask, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    path = tmp_path / "xxe.rdf"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "{secret.as_uri()}">]>\n'
        + RDF.format(title="&x;"),
        encoding="utf-8",
    )
    run = _harvest(app, path)
    assert run.status == "failed" and "DTD" in (run.error or "")
    assert "TOP-SECRET" not in (run.error or "")
    assert _datasets(app) == 0


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("name", "document"),
    [
        ("deep.jsonld", {"@context": {"dct": "http://purl.org/dc/terms/"}, "@graph": _nested(200)}),
        (
            "deep.json",
            {
                "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
                "dataset": _nested(200),
            },
        ),
    ],
)
def test_deeply_nested_json_ld_and_data_json_are_refused_cleanly(
    app: Flask, tmp_path: Path, name: str, document: Any
) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    run = _harvest(app, path)
    assert run.status == "failed"
    assert "64" in (run.error or "") and name in (run.error or "")
    with database(app).sessions() as session:
        job = session.get(HarvestJob, run.job_id)
        assert job.status == "failed" and "nested" in job.error


def _plan_source(path: Path, count: int) -> Path:
    organization = {"name": "qd-transport", "title": "青岛市交通运输局"}
    datasets = [
        {
            "name": f"line-{i:03d}",
            "title": f"公交线路 {i}",
            "description": "线路与站点。",
            "domain": "transport",
            "open_type": "unconditional",
            "publisher": "qd-transport",
            "update_frequency": "每天",
        }
        for i in range(count)
    ]
    path.write_text(
        json.dumps({"organizations": [organization], "datasets": datasets}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def test_a_job_over_its_total_bound_stops_keeps_its_work_and_says_why(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through `portal harvest run`, with PORTAL_HARVEST_MAX_SECONDS so small that the job
    is over it after its first record: it stops there, the job is failed with the reason,
    and what it stored before stopping stays."""
    import subprocess
    import sys

    source = _plan_source(tmp_path / "plan.yaml", 20)
    env = {
        **__import__("os").environ,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "PORTAL_HARVEST_MAX_SECONDS": "0.000001",
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
    added = portal("harvest", "add", "plan", "--type", "plan", "--url", str(source))
    assert added.returncode == 0, added.stderr
    portal("harvest", "run", "plan")
    from portal import create_app

    app = create_app({"instance_path": str(tmp_path / "instance"), "database_url": database_url})
    with database(app).sessions() as session:
        job = session.scalars(select(HarvestJob).order_by(HarvestJob.id.desc())).first()
        assert job is not None and job.status == "failed"
        assert "PORTAL_HARVEST_MAX_SECONDS" in (job.error or "")
        stored = session.scalar(select(func.count()).select_from(Dataset))
    assert stored < 20  # it stopped before the source's end
    database(app).dispose()


def test_a_record_over_its_bound_is_that_records_error_and_the_run_goes_on(
    tmp_path: Path, database_url: str
) -> None:
    """PORTAL_HARVEST_RECORD_SECONDS so small that every record after the first (whose
    wait is the source's reading) overruns it: each is failed with its location and the
    reason, and the job still finishes."""
    import os
    import subprocess
    import sys

    from portal.models import HarvestRecord

    source = _plan_source(tmp_path / "plan.yaml", 5)
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "PORTAL_HARVEST_RECORD_SECONDS": "0",
    }

    def portal(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "portal", *args], env=env, capture_output=True, text=True
        )

    assert portal("init").returncode == 0
    assert portal("harvest", "add", "plan", "--type", "plan", "--url", str(source)).returncode == 0
    portal("harvest", "run", "plan")
    from portal import create_app

    app = create_app({"instance_path": str(tmp_path / "instance"), "database_url": database_url})
    with database(app).sessions() as session:
        job = session.scalars(select(HarvestJob).order_by(HarvestJob.id.desc())).first()
        assert job is not None and job.status == "finished"
        failed = list(
            session.scalars(
                select(HarvestRecord).where(
                    HarvestRecord.job_id == job.id, HarvestRecord.outcome == "failed"
                )
            )
        )
    assert len(failed) == 5  # the organization came first; every dataset overran
    for record in failed:
        assert record.location and "plan.yaml" in record.location
        assert "over the bound" in json.dumps(record.errors)
    database(app).dispose()
