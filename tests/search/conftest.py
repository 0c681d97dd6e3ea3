"""Every test in this folder runs against every search backend available: the embedded
engine always, Elasticsearch when ES_URL is set (as Wagtail runs its BackendTests)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app, lifecycle
from portal.catalog import Catalog
from portal.services import database, indexer, policy, search_backend

from .catalog_data import load

BACKENDS = ["tantivy"] + (["elasticsearch"] if os.environ.get("ES_URL") else [])


@pytest.fixture(params=BACKENDS)
def search_app(request, tmp_path: Path, database_url: str) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    config = {
        "instance_path": str(tmp_path / "instance"),
        "database_url": database_url,
        "search_backend": request.param,
        "index_interval": 0,
    }
    if request.param == "elasticsearch":
        config.update(es_url=os.environ["ES_URL"], es_index=f"test-{uuid.uuid4().hex[:10]}")
    app = create_app(config)
    lifecycle.initialize(app)
    with database(app).transaction() as session:
        load(Catalog(session, "test", policy(app)))
    indexer(app).drain()
    yield app
    backend = search_backend(app)
    if hasattr(backend, "destroy"):
        backend.destroy()
    backend.close()
    database(app).dispose()
