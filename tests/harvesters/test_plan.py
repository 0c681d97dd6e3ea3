"""The bundled plan catalog: complete, valid, realistic, and idempotent to load."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from harvesters import Failed, Pipeline, Validated, available_harvesters
from harvesters.outbound import Reach
from harvesters.plan import PLAN_FILE, PlanHarvester
from portal import lifecycle
from portal.models import Dataset, Revision
from portal.services import database

LOCAL = Reach(local_files=True)  # the tests name files as an operator would

SEED_DEPARTMENTS = {
    "青岛市大数据发展管理局",
    "青岛市民政局",
    "青岛市行政审批服务局",
    "青岛市工业和信息化局",
    "青岛市交通运输局",
}
CLASSIFICATION = (
    "domain",
    "industry",
    "basic_category",
    "grade",
    "open_type",
    "processing_level",
    "update_frequency",
    "share_type",
    "issued",
    "modified",
)


@pytest.fixture(scope="module")
def plan() -> dict[str, list[Validated]]:
    out: dict[str, list[Validated]] = {"organization": [], "zone": [], "dataset": []}
    for item in Pipeline().process(PlanHarvester().records()):
        assert not isinstance(item, Failed), f"{item.location}: {item.errors}"
        out[item.kind].append(item)
    return out


def test_registers_the_zones_scenarios_and_seed_departments(plan) -> None:  # type: ignore[no-untyped-def]
    zones = {z.data["code"]: z.data for z in plan["zone"]}
    assert set(zones) == {"transport", "elderly", "rural", "port"}
    scenarios = [s["title"] for z in zones.values() for s in z["scenarios"]]
    assert len(scenarios) == 11 and {"青易核", "青易药"} <= set(scenarios)
    assert all(z.get("operator") and z.get("description") for z in zones.values())
    assert {o.data["title"] for o in plan["organization"]} >= SEED_DEPARTMENTS


def test_datasets_are_many_fully_classified_and_mixed_in_openness(plan) -> None:  # type: ignore[no-untyped-def]
    datasets = [d.data for d in plan["dataset"]]
    assert len(datasets) >= 60
    for ds in datasets:
        missing = [key for key in CLASSIFICATION if not ds.get(key)]
        assert not missing, f"{ds['name']} lacks {missing}"
        assert ds["fields"] and ds["resources"] and ds["formats"], ds["name"]
    openness = Counter(ds["open_type"] for ds in datasets)
    grades = Counter(ds["grade"] for ds in datasets)
    assert openness["unconditional"] >= 20 and openness["conditional"] >= 20
    assert openness["closed"] >= 5 and grades["core"] >= 1 and grades["important"] >= 1
    per_zone = Counter(zone for ds in datasets for zone in ds["zones"])
    assert min(per_zone[z] for z in ("transport", "elderly", "rural", "port")) >= 6


@pytest.mark.parametrize(
    "topic",
    [
        "公交",
        "地铁",
        "助餐",
        "低收入",
        "集装箱",
        "乡村",
        "空气",
        "水质",
        "土壤",
        "噪声",
        "学校",
        "医院",
    ],
)
def test_the_plan_s_topics_are_covered(plan, topic: str) -> None:  # type: ignore[no-untyped-def]
    assert any(topic in d.data["title"] + d.data["description"] for d in plan["dataset"]), topic


def test_loading_twice_changes_nothing(app: Flask) -> None:
    first = lifecycle.load_plan(app)
    assert not first.failures and first.counts["dataset.added"] >= 60
    with database(app).sessions() as session:
        revisions = session.scalar(select(func.count()).select_from(Revision))
    second = lifecycle.load_plan(app)
    assert second.changed == 0 and not second.failures
    assert second.counts["dataset.unchanged"] == first.counts["dataset.added"]
    with database(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Revision)) == revisions
        assert (
            session.scalar(select(func.count()).select_from(Dataset))
            == first.counts["dataset.added"]
        )


def test_a_bad_record_is_reported_with_its_line_and_the_rest_goes_on(tmp_path: Path) -> None:
    text = PLAN_FILE.read_text(encoding="utf-8")
    broken = text.replace("    grade: general1\n", "    grade: 核心数据\n", 1)
    line = text[: text.index("    grade: general1\n")].count("\n") + 1
    path = tmp_path / "plan.yaml"
    path.write_text(broken, encoding="utf-8")
    results = list(Pipeline().process(PlanHarvester(path, reach=LOCAL).records()))
    failed = [r for r in results if isinstance(r, Failed)]
    assert len(failed) == 1 and {"grade", "open_type"} <= set(failed[0].errors)
    location_line = int(failed[0].location.split(":")[1].split()[0])
    assert location_line < line and failed[0].location.startswith("plan.yaml:")
    assert len(results) - 1 == sum(isinstance(r, Validated) for r in results)


def test_the_plan_harvester_is_registered_as_an_entry_point() -> None:
    assert available_harvesters()["plan"].load() is PlanHarvester


def test_a_record_repeated_in_the_source_is_refused(tmp_path: Path) -> None:
    text = PLAN_FILE.read_text(encoding="utf-8")
    start = text.index("  - name: bus-")
    end = text.index("\n  - name:", start + 1) + 1
    path = tmp_path / "plan.yaml"
    path.write_text(text + text[start:end], encoding="utf-8")
    failed = [
        r
        for r in Pipeline().process(PlanHarvester(path, reach=LOCAL).records())
        if isinstance(r, Failed)
    ]
    assert len(failed) == 1 and "name" in failed[0].errors
    assert "plan.yaml:" in failed[0].errors["name"][0]["en"]


def test_validated_records_are_what_the_schema_would_dump() -> None:
    from schemas import dataset_schema

    for item in Pipeline().process(PlanHarvester().records()):
        if item.kind == "dataset":
            schema = dataset_schema(Pipeline().policy)
            assert item.data == schema.dump(schema.load(item.data))
