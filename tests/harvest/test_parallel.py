"""A large harvest uses more than one process: validation in workers, indexing in a
follower. Both must give exactly what the one-process path gives."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from harvesters import Failed, Pipeline, Validated
from harvesters.outbound import Reach
from harvesters.plan import PlanHarvester
from portal.harvest.sources import add_source, run_source
from portal.search.follow import IndexFollower
from portal.services import database, indexer, policy, settings

from .test_sources import dataset, write_source

LOCAL = Reach(local_files=True)  # the tests name files as an operator would


def mixed_source(path: Path, count: int) -> Path:
    """Valid datasets, with a bad one every 50 and a repeated name near the end."""
    datasets = [dataset(i, domain="moon") if i % 50 == 7 else dataset(i) for i in range(count)] + [
        dataset(3)
    ]
    return write_source(path, datasets)


def test_validation_in_workers_gives_the_same_results_in_the_same_order(tmp_path: Path) -> None:
    records = list(PlanHarvester(mixed_source(tmp_path / "s.yaml", 1200), reach=LOCAL).records())
    alone = list(Pipeline().process(records))
    parallel = Pipeline()
    shared = list(parallel.process(records, parallel_after=10))  # 10 here, the rest in workers
    assert shared == alone
    failed = [item for item in shared if isinstance(item, Failed)]
    assert len(failed) == 25  # 24 bad domains and the repeated name
    assert "domain" in failed[0].errors and "name" in failed[-1].errors
    assert parallel.stats["dataset.valid"] == sum(isinstance(i, Validated) for i in shared) - 1


def test_a_large_harvest_is_indexed_while_it_runs(app: Flask, tmp_path: Path) -> None:
    source = mixed_source(tmp_path / "s.yaml", 400)
    with database(app).transaction() as session:
        add_source(session, name="big", type="plan", url=str(source), local_files_allowed=True)
    with IndexFollower(settings(app), start_after=50, interval=0.1) as follower:
        run = run_source(
            database(app), "big", policy=policy(app), progress=lambda _: follower.advance()
        )
    assert follower.started
    assert run.report.counts["dataset.added"] == 400 - 8
    # The follower applied everything before it stopped: nothing is left for this process.
    assert indexer(app).pending() == 0
    report = indexer(app).doctor()
    assert report.clean and report.indexed == 400 - 8
