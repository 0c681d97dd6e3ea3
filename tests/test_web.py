"""The pages and /healthz on a small catalog."""

from __future__ import annotations

import pytest
from flask import Flask

from portal import migrate
from portal.catalog import Catalog
from portal.services import database

from .factories import dataset


@pytest.fixture
def client(app: Flask, seeded: Catalog):  # type: ignore[no-untyped-def]
    seeded.datasets.create(dataset())
    seeded.datasets.create(
        dataset(
            name="low-income",
            title="低收入人口监测",
            grade="core",
            open_type="closed",
            zones=[],
            resources=[],
            fields=[],
        )
    )
    seeded.datasets.create(
        dataset(
            name="port-berths",
            title="港口泊位",
            grade="core",
            open_type="closed",
            metadata_public=True,
            zones=[],
            resources=[],
            fields=[],
        )
    )
    seeded.session.commit()
    return app.test_client()


def test_home_lists_zones_with_counts_and_visible_datasets(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/").get_data(as_text=True)
    assert "交通专区" in page and "1 个数据集" in page
    assert "青岛市公交线路信息" in page and "港口泊位" in page
    assert "低收入人口监测" not in page  # closed, and its department keeps the entry private


def test_dataset_page_shows_the_profile_and_history(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/dataset/bus-lines").get_data(as_text=True)
    for text in (
        "青岛市交通运输局",
        "交通运输",
        "无条件开放",
        "一般数据1级",
        "线路编号",
        "修订记录",
    ):
        assert text in page
    assert client.get("/dataset/low-income").status_code == 404
    assert client.get("/dataset/nope").status_code == 404


def test_zone_and_department_pages(client) -> None:  # type: ignore[no-untyped-def]
    zone = client.get("/zone/transport").get_data(as_text=True)
    assert "青易核" in zone and "青岛市公交线路信息" in zone
    org = client.get("/organization/qd-transport").get_data(as_text=True)
    assert "11370200004012340B" in org
    assert client.get("/zone/moon").status_code == 404


def test_text_is_escaped(app: Flask, seeded: Catalog) -> None:
    seeded.datasets.create(dataset(name="xss", title="<script>alert(1)</script>"))
    seeded.session.commit()
    page = app.test_client().get("/dataset/xss").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_healthz_reports_database_and_search(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    body = response.get_json()
    head = migrate.head_revision(database(client.application).engine)
    assert response.status_code == 200
    assert body["database"]["status"] == "ok" and body["database"]["revision"] == head
    assert "search" in body


def test_healthz_is_503_when_the_database_is_not_migrated(tmp_path, new_database_url) -> None:  # type: ignore[no-untyped-def]
    from portal import create_app

    app = create_app({"instance_path": str(tmp_path / "x"), "database_url": new_database_url()})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"]["status"] == "needs-migration"
