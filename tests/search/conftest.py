"""Every test in this folder runs against every search backend available: the embedded
engine always, Elasticsearch when ES_URL is set (as Wagtail runs its BackendTests)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app, lifecycle
from portal.catalog import Catalog
from portal.services import database, indexer, policy, search_backend

from .catalog_data import load

BACKENDS = ["tantivy"] + (["elasticsearch"] if os.environ.get("ES_URL") else [])


@contextmanager
def _search_app(backend: str, folder: Path, database_url: str) -> Iterator[Flask]:
    config = {
        "instance_path": str(folder / "instance"),
        "database_url": database_url,
        "search_backend": backend,
        "index_interval": 0,
    }
    if backend == "elasticsearch":
        config.update(es_url=os.environ["ES_URL"], es_index=f"test-{uuid.uuid4().hex[:10]}")
    app = create_app(config)
    lifecycle.initialize(app)
    with database(app).transaction() as session:
        load(Catalog(session, "test", policy(app)))
    indexer(app).drain()
    try:
        yield app
    finally:
        engine = search_backend(app)
        if hasattr(engine, "destroy"):
            engine.destroy()
        engine.close()
        database(app).dispose()


@pytest.fixture(params=BACKENDS)
def search_app(request, tmp_path: Path, database_url: str) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """The small catalog on one backend, for a test of its own (it may write)."""
    with _search_app(request.param, tmp_path, database_url) as app:
        yield app


@pytest.fixture(scope="module", params=BACKENDS)
def reading_search_app(request, tmp_path_factory, module_database_url: str) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """The same, shared by a module's tests that only read (built once per backend)."""
    with _search_app(request.param, tmp_path_factory.mktemp("search"), module_database_url) as app:
        yield app
