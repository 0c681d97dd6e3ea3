"""Popularity: dataset page views are counted in memory and written in one batch (robots
left out); downloads and grant-served calls count in their own transaction; the home
page's "most used" list follows."""

from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import select

from portal.catalog import Catalog, popularity
from portal.catalog.statistics import catalog_version, most_used
from portal.models import Dataset
from portal.services import database

from ..access.conftest import World
from ..access.conftest import world as world
from ..access.test_rights import grant
from ..factories import dataset

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
ROBOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Sogou web spider/4.0",
    "CCBot/2.0 (https://commoncrawl.org/faq/)",
    "Mozilla/5.0 (compatible; bingbot/2.0)",
)


def used(app: Flask, name: str) -> int:
    with database(app).sessions() as session:
        return session.scalar(select(Dataset.popularity).where(Dataset.name == name)) or 0


def most_used_section(page: str) -> str:
    start = page.find('id="popular-title"')
    return page[start : page.find("</section>", start)] if start >= 0 else ""


def test_page_views_are_written_in_one_batch_and_fill_the_most_used_list(
    app: Flask, seeded: Catalog
) -> None:
    seeded.datasets.create(dataset())
    seeded.datasets.create(dataset(name="bus-stops", title="公交站点"))
    seeded.session.commit()
    client = app.test_client()
    with database(app).sessions() as session:
        assert most_used(session) == []  # nothing used yet

    for _ in range(3):
        assert client.get("/dataset/bus-lines", headers={"User-Agent": BROWSER}).status_code == 200
    client.get("/dataset/bus-stops", headers={"User-Agent": BROWSER})
    for robot in ROBOTS:
        assert client.get("/dataset/bus-lines", headers={"User-Agent": robot}).status_code == 200
    client.head("/dataset/bus-lines", headers={"User-Agent": BROWSER})
    client.get("/dataset/no-such-dataset", headers={"User-Agent": BROWSER})

    counter = popularity.views(database(app))
    with database(app).sessions() as session:
        ids = dict(session.execute(select(Dataset.name, Dataset.id)).all())
        version = catalog_version(session)
    assert counter.pending() == {ids["bus-lines"]: 3, ids["bus-stops"]: 1}
    assert used(app, "bus-lines") == 0  # no write per view

    assert counter.flush() == 4
    assert counter.pending() == {} and counter.flush() == 0
    assert (used(app, "bus-lines"), used(app, "bus-stops")) == (3, 1)
    with database(app).sessions() as session:
        assert catalog_version(session) == version  # no outbox event: nothing re-indexed

    listed = most_used_section(client.get("/").get_data(as_text=True))
    assert "青岛市公交线路信息" in listed and "公交站点" in listed
    assert listed.index("青岛市公交线路信息") < listed.index("公交站点")  # most first


def test_views_are_flushed_after_enough_of_them_without_making_the_visitor_wait(
    app: Flask, seeded: Catalog
) -> None:
    made = seeded.datasets.create(dataset())
    seeded.session.commit()
    counter = popularity.ViewCounter(database(app), flush_views=5, flush_seconds=3600)
    for _ in range(4):
        counter.record(made.id)
    time.sleep(0.2)
    assert used(app, "bus-lines") == 0 and counter.pending() == {made.id: 4}
    counter.record(made.id)  # the fifth: written in the background
    deadline = time.monotonic() + 10
    while used(app, "bus-lines") < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert used(app, "bus-lines") == 5 and counter.pending() == {}


def test_counting_is_thread_safe(app: Flask, seeded: Catalog) -> None:
    made = seeded.datasets.create(dataset())
    seeded.session.commit()
    counter = popularity.ViewCounter(database(app), flush_views=10**9, flush_seconds=3600)

    def visit() -> None:
        for _ in range(500):
            counter.record(made.id)

    threads = [threading.Thread(target=visit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.pending() == {made.id: 4000}
    assert counter.flush() == 4000 and used(app, "bus-lines") == 4000


def test_views_left_at_exit_are_written(app: Flask, seeded: Catalog) -> None:
    made = seeded.datasets.create(dataset())
    seeded.session.commit()
    popularity.views(database(app)).record(made.id)
    popularity.views(database(app)).record(made.id)
    assert popularity.flush_all() >= 2  # what atexit calls
    assert used(app, "bus-lines") == 2


def test_robots_are_recognised() -> None:
    assert all(popularity.is_bot(robot) for robot in ROBOTS)
    assert not popularity.is_bot(BROWSER) and not popularity.is_bot(None)
    assert not popularity.is_bot("")


def test_downloads_and_grant_calls_count_at_once(world: World) -> None:
    lines = world.resources["bus-lines"][0]
    response = world.client.get(f"/api/v1/datasets/bus-lines/resources/{lines}/data")
    assert response.status_code == 200
    assert used(world.app, "bus-lines") == 1
    ids = grant(world)
    token = world.token("enterprise", [f"grant:{ids['grant']}"])
    path = f"/api/v1/grants/{ids['grant']}/resources/{ids['resource']}/data"
    assert world.call("GET", path, token=token).status_code == 200
    assert world.call("GET", path, token=token).status_code == 200
    assert used(world.app, "card-swipes") == 2
    # a refused call counts nothing
    assert world.call("GET", path, "other_enterprise").status_code in (403, 404)
    closed = world.resources["driver-records"][0]
    refused = world.client.get(f"/api/v1/datasets/driver-records/resources/{closed}/data")
    assert refused.status_code == 404  # its entry is not public: as if it did not exist
    assert used(world.app, "card-swipes") == 2 and used(world.app, "driver-records") == 0
