"""WSGI entry point for production servers: `gunicorn portal.wsgi:app`.

Each worker process starts an outbox drainer; with the embedded engine only one of them
obtains the index writer, the others find it busy and leave the work to it.
"""

from __future__ import annotations

from portal import create_app
from portal.search import IndexerThread
from portal.services import database, indexer, settings
from portal.web.pages import warm_up

app = create_app()
warm_up(database(app))
if settings(app).index_interval > 0:
    IndexerThread(indexer(app), settings(app).index_interval).start()
