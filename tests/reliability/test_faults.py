"""Faults: processes killed mid-work, the search engine gone, the database gone or locked,
a full disk. After each, nothing is lost or half-written, and visitors get a clear 503 (or
507), never a 500 or a traceback."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import portal.db
from portal import create_app, lifecycle
from portal.access import FileStore
from portal.access import files as files_module
from portal.access.files import StorageFull
from portal.catalog import Catalog
from portal.harvest.sources import add_source, run_source
from portal.models import Application, ApplicationEvent, AuditEntry, Dataset, Grant, Resource
from portal.search import SearchUnavailable
from portal.search.backends import versions
from portal.search.backends.tantivy import SCHEMA_ID
from portal.services import catalog, database, indexer, policy, search_backend, settings

from ..access.conftest import World, world  # noqa: F401  (the fixture)
from ..factories import dataset
from ..live import free_port

ROOT = Path(__file__).resolve().parents[2]
LEAKS = ("Traceback", "sqlite", "psycopg", "OperationalError", 'File "')


def portal_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def instance_env(instance: Path, database_url: str) -> dict[str, str]:
    return {**os.environ, "PORTAL_INSTANCE_PATH": str(instance), "DATABASE_URL": database_url}


def count(app: Flask, model: Any, *where: Any) -> int:
    with database(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def search_total(app: Flask, **params: str) -> int:
    response = app.test_client().get("/api/v1/search", query_string={"size": "1", **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["total"]


# -- SIGKILL during `portal reindex` ------------------------------------------------------


def line(i: int) -> dict[str, Any]:
    return {
        "name": f"line-{i:05d}",
        "title": f"公交线路 {i}",
        "description": "线路与站点。",
        "domain": "transport",
        "open_type": "unconditional",
        "publisher": "qd-transport",
        "resources": [
            {"name": "CSV", "kind": "file", "format": "csv", "url": f"https://a.cn/{i}.csv"}
        ],
    }


def version_dirs(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir() and p.name.startswith("v")}


@pytest.mark.live
def test_killed_reindex_breaks_nothing_and_a_rerun_loses_nothing(
    tmp_path: Path, database_url: str
) -> None:
    instance = tmp_path / "instance"
    app = create_app({"instance_path": str(instance), "database_url": database_url})
    lifecycle.initialize(app)
    source = tmp_path / "big.yaml"
    organization = {"name": "qd-transport", "title": "青岛市交通运输局"}
    source.write_text(
        yaml.safe_dump(
            {"organizations": [organization], "datasets": [line(i) for i in range(3000)]},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    with database(app).transaction() as session:
        add_source(session, name="big", type="plan", url=str(source), local_files_allowed=True)
    assert run_source(database(app), "big", policy=policy(app)).status == "finished"
    with database(app).transaction() as session:
        for i in range(3):  # withdrawn ones must not come back into search
            catalog(session, "test", app).datasets.withdraw(f"line-{i:05d}")
    indexer(app).drain()
    search_backend(app).close()  # the child process takes the writer from here on
    root = instance / "search" / "tantivy"
    live_before = versions.live_version(root, SCHEMA_ID)
    before = version_dirs(root)

    env = instance_env(instance, database_url)
    child = subprocess.Popen(
        [sys.executable, "-m", "portal", "reindex"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (version_dirs(root) - before) and child.poll() is None:
        assert time.monotonic() < deadline, "portal reindex never started a new version"
        time.sleep(0.005)
    time.sleep(0.1)  # into the build of the new version
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the reindex ended before the kill"
    assert versions.live_version(root, SCHEMA_ID) == live_before, "the kill landed too late"
    [killed] = version_dirs(root) - before  # built half-way, never published

    active = count(app, Dataset, Dataset.state == "active")
    assert active == 2997
    # The half-built version is ignored: search answers from the live one, and a write
    # made after the kill reaches it at the next drain.
    assert search_total(app) == active
    with database(app).transaction() as session:
        catalog(session, "test", app).datasets.withdraw("line-00003")
    assert indexer(app).drain() >= 1
    search_backend(app).close()
    assert search_total(app) == active - 1

    again = portal_command(env, "reindex")
    assert again.returncode == 0, again.stderr
    doctor = portal_command(env, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "missing: 0" in doctor.stdout and "orphaned: 0" in doctor.stdout
    live_after = versions.live_version(root, SCHEMA_ID)
    assert live_after not in (None, live_before, killed)
    assert search_total(app) == count(app, Dataset, Dataset.state == "active") == active - 1
    # Disk use stays bounded: the live version, the one before it, at most one leftover.
    assert len(version_dirs(root)) <= versions.KEEP + 1
    search_backend(app).close()
    database(app).dispose()


# -- SIGKILL during application reviews ---------------------------------------------------


@pytest.mark.live
def test_killed_review_loop_leaves_every_application_explained(
    world: World,  # noqa: F811
    database_url: str,
) -> None:
    app = world.app
    instance = settings(app).instance_dir
    child = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests/reliability/review_loop.py"),
            database_url,
            str(instance),
            "1000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while count(app, ApplicationEvent) < 60 and child.poll() is None:
        assert time.monotonic() < deadline, "the review loop made no progress"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    _, errors = child.communicate()
    assert child.returncode == -signal.SIGKILL, f"the loop ended before the kill: {errors}"

    with database(app).sessions() as session:
        applications = list(session.scalars(select(Application).order_by(Application.id)))
        assert len(applications) >= 15
        states = {a.state for a in applications}
        assert {"approved", "rejected", "returned"} <= states, states
        for application in applications:
            assert_explained(session, application)
        grants = list(session.scalars(select(Grant)))
        approved = {a.id for a in applications if a.state == "approved"}
        assert sorted(g.application_id for g in grants) == sorted(approved)  # one each
        audited = session.scalar(select(func.count()).where(AuditEntry.action == "grant.create"))
        assert audited == len(grants)
    verify = portal_command(instance_env(instance, database_url), "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout


def assert_explained(session: Session, application: Application) -> None:
    """Its events lead, step by step, from nothing to its state, and each one is in the
    audit log (written in the same transaction)."""
    events = list(
        session.scalars(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == application.id)
            .order_by(ApplicationEvent.id)
        )
    )
    assert events, f"application {application.id} has no history"
    state = None
    for event in events:
        assert event.from_state == state, (application.id, event.action)
        state = event.to_state
    assert state == application.state, application.id
    audited = session.scalar(
        select(func.count()).where(
            AuditEntry.subject == f"application:{application.id}",
            AuditEntry.action.like("application.%"),
        )
    )
    assert audited == len(events), application.id


# -- the search engine unavailable --------------------------------------------------------


@pytest.fixture
def indexed(app: Flask, seeded: Catalog) -> Iterator[Flask]:
    seeded.datasets.create(dataset())
    seeded.session.commit()
    assert indexer(app).drain() > 0
    yield app
    search_backend(app).close()


def test_catalog_writes_go_on_while_the_index_is_unusable_and_it_catches_up(
    indexed: Flask,
) -> None:
    app, client = indexed, indexed.test_client()
    folder = settings(app).instance_dir / "search"
    away = folder.with_name("search.away")
    folder.rename(away)
    folder.write_text("not a folder")  # the index cannot be opened, read or written
    with database(app).transaction() as session:
        datasets = catalog(session, "test", app).datasets
        datasets.create(dataset(name="metro-lines", title="地铁线路", resources=[]))
        datasets.update("bus-lines", dataset(title="青岛市公交线路与候车亭"))
    assert count(app, Dataset) == 2  # the writes are in the database
    # Either is handled: the CLI and a serving process's indexer thread catch it.
    with contextlib.suppress(SearchUnavailable):
        assert indexer(app).drain() == 0

    for path in ("/api/v1/search?q=地铁", "/api/v1/suggest?q=地铁"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.content_type == "application/problem+json"
        assert response.get_json()["status"] == 503
    page = client.get("/search?q=地铁")
    assert page.status_code == 503 and page.mimetype == "text/html"
    listed = client.get("/api/v1/datasets").get_json()["datasets"]
    assert {d["name"] for d in listed} == {"bus-lines", "metro-lines"}
    assert client.get("/dataset/metro-lines").status_code == 200

    folder.unlink()
    away.rename(folder)
    assert indexer(app).drain() >= 2  # the events written meanwhile
    found = client.get("/api/v1/search?q=地铁").get_json()["results"]
    assert [r["name"] for r in found] == ["metro-lines"]
    assert search_total(app, q="候车亭") == 1  # the update, too
    assert indexer(app).doctor().clean


def test_a_lost_index_folder_is_rebuilt_from_the_database(indexed: Flask) -> None:
    app = indexed
    search_backend(app).close()
    for path in sorted((settings(app).instance_dir / "search").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    response = app.test_client().get("/api/v1/search?q=公交")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert indexer(app).drain() > 0  # replays the outbox from the first event
    assert search_total(app, q="公交") == 1
    assert indexer(app).doctor().clean


# -- the database gone, locked or unreachable ---------------------------------------------


def assert_unavailable(client: Any, method: str = "GET", **kwargs: Any) -> None:
    for path in ("/api/v1/datasets", "/api/v1/organizations/qd-transport", "/api/v1/zones"):
        response = client.open(path, method=method, **kwargs)
        assert response.status_code == 503, path
        assert response.content_type == "application/problem+json"
        assert response.headers["Retry-After"].isdigit()
        assert not any(leak in response.get_data(as_text=True) for leak in LEAKS), path
    for path in ("/", "/dataset/bus-lines", "/organization/qd-transport", "/zone/transport"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.mimetype == "text/html"
        assert response.headers["Retry-After"].isdigit()
        assert not any(leak in response.get_data(as_text=True) for leak in LEAKS), path
    token = client.post(
        "/api/v1/tokens",
        json={"email": "a@example.cn", "password": "x" * 12, "name": "n", "scopes": []},
    )
    assert token.status_code == 503
    assert not any(leak in token.get_data(as_text=True) for leak in LEAKS)


def sqlite_only(app: Flask) -> Path:
    if database(app).engine.dialect.name != "sqlite":
        pytest.skip("a SQLite file: PostgreSQL is covered by the unreachable-server test")
    return Path(database(app).engine.url.database or "")


def test_database_file_gone_answers_503_and_recovers(app: Flask, seeded: Catalog) -> None:
    seeded.datasets.create(dataset())
    seeded.session.commit()
    file = sqlite_only(app)
    client = app.test_client()
    assert client.get("/api/v1/datasets").status_code == 200
    seeded.session.close()
    database(app).dispose()
    away = file.with_name("away.db")
    file.rename(away)
    file.mkdir()  # where the database was, something that is no database
    try:
        assert_unavailable(client)
    finally:
        database(app).dispose()
        file.rmdir()
        away.rename(file)
    assert client.get("/api/v1/datasets").get_json()["datasets"][0]["name"] == "bus-lines"


def test_database_locked_answers_503_quickly(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a SQLite file lock: PostgreSQL is covered by the unreachable-server test")
    real = portal.db.create_engine

    def impatient(url: Any, **options: Any) -> Any:  # 30 s of patience would stall the test
        return real(url, **{**options, "connect_args": {"timeout": 0.3}})

    monkeypatch.setattr(portal.db, "create_engine", impatient)
    app = create_app({"instance_path": str(tmp_path / "locked"), "database_url": database_url})
    monkeypatch.undo()
    file = sqlite_only(app)
    lifecycle.initialize(app)
    with database(app).transaction() as session:
        seeded = Catalog(session, "test", policy(app))
        seeded.organizations.create({"name": "qd-transport", "title": "青岛市交通运输局"})
        seeded.zones.create({"code": "transport", "title": "交通专区"})
        seeded.datasets.create(dataset())
    database(app).dispose()
    holder = sqlite3.connect(file, timeout=1, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")  # readers shut out too, even in WAL mode
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE lock_probe (x INTEGER)")
    client = app.test_client()
    try:
        started = time.monotonic()
        assert_unavailable(client)
        assert time.monotonic() - started < 30
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    database(app).dispose()
    assert client.get("/api/v1/datasets").status_code == 200
    database(app).dispose()


def test_database_server_unreachable_answers_503(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://portal@127.0.0.1:{free_port()}/portal?connect_timeout=3"
    app = create_app({"instance_path": str(tmp_path / "instance"), "database_url": url})
    assert_unavailable(app.test_client())
    database(app).dispose()


# -- a full disk --------------------------------------------------------------------------


class FillsUp(io.RawIOBase):
    """An upload whose reading fails with ENOSPC after `chunks` chunks (a spooled body
    on a disk that filled up)."""

    def __init__(self, chunks: int) -> None:
        self.left = chunks

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.left -= 1
        return b"x" * (size if size > 0 else 1024)


class FullDisk:
    """The `os` module as files.py sees it, on a disk with `room` bytes left."""

    def __init__(self, room: int) -> None:
        self.room = room

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fdopen(self, fd: int, mode: str) -> BinaryIO:
        return _FillingFile(os.fdopen(fd, mode), self)  # type: ignore[return-value]


class _FillingFile:
    def __init__(self, out: BinaryIO, disk: FullDisk) -> None:
        self.out, self.disk = out, disk

    def write(self, chunk: bytes) -> int:
        if len(chunk) > self.disk.room:
            self.out.write(chunk[: self.disk.room])  # a partial write, as a full disk does
            self.disk.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.disk.room -= len(chunk)
        return self.out.write(chunk)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.out, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.out.close()


def leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def assert_storage_full(error: StorageFull) -> None:
    assert error.status == 507
    [msg] = error.errors["file"]
    assert "No space left on device" in msg["en"] and msg["zh"]


def test_disk_full_while_reading_an_upload_keeps_nothing_of_it(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    with pytest.raises(StorageFull) as caught:
        store.save("r1", FillsUp(chunks=5))
    assert_storage_full(caught.value)
    assert leftovers(tmp_path / "files") == []  # no file, no .upload-* temporary
    store.save("r2", io.BytesIO(b"old,data\n"))
    with pytest.raises(StorageFull):
        store.save("r2", FillsUp(chunks=3))
    assert store.path("r2").read_bytes() == b"old,data\n"  # the previous version intact
    assert leftovers(tmp_path / "files") == [store.path("r2")]


def test_disk_full_while_writing_an_upload_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "files")
    store.save("r1", io.BytesIO(b"previous\n"))
    monkeypatch.setattr(files_module, "os", FullDisk(room=150_000))
    with pytest.raises(StorageFull) as caught:
        store.save("r1", io.BytesIO(b"y" * 1_000_000))
    assert_storage_full(caught.value)
    monkeypatch.undo()
    assert store.path("r1").read_bytes() == b"previous\n"
    assert leftovers(tmp_path / "files") == [store.path("r1")]


def test_disk_full_during_an_api_upload_answers_507_and_stores_nothing(
    world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rid = world.resources["bus-lines"][0]
    store = FileStore(settings(world.app).instance_dir / "files")
    with database(world.app).sessions() as session:
        key = session.get(Resource, rid).file_key
    before = store.path(key).read_bytes()
    save = FileStore.save

    def save_on_full_disk(self: FileStore, resource_id: str, stream: BinaryIO) -> Any:
        return save(self, resource_id, FillsUp(chunks=4))

    monkeypatch.setattr(FileStore, "save", save_on_full_disk)
    response = world.call(
        "PUT",
        f"/api/v1/datasets/bus-lines/resources/{rid}/file",
        "officer",
        data=b"z" * 500_000,
        content_type="text/csv",
    )
    assert response.status_code == 507
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 507 and body["title"] == "Insufficient storage"
    [msg] = body["errors"]["file"]
    assert "未保留任何部分" in msg["zh"] and "nothing of it was kept" in msg["en"]
    assert store.path(key).read_bytes() == before
    assert not list(store.root.rglob(".upload-*"))
    with database(world.app).sessions() as session:
        uploads = session.scalar(select(func.count()).where(AuditEntry.action == "resource.upload"))
    assert uploads == 0  # no record of an upload that did not happen
