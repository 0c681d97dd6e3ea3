"""Search and discovery: one query model, two backends (tantivy embedded, Elasticsearch).

Public surface: `SearchQuery`, `Viewer`, `search`, `suggest`, `make_backend`, `Indexer`.
"""

from __future__ import annotations

from ..config import Settings
from .backends.base import SearchBackend, SearchUnavailable, WriterBusy
from .indexer import DoctorReport, Indexer, IndexerThread
from .query import PUBLIC, SearchQuery, Viewer
from .service import SearchResult, search, suggest


def make_backend(settings: Settings) -> SearchBackend:
    if settings.search_backend == "elasticsearch":
        from .backends.elastic import ElasticBackend

        if not settings.es_url:
            raise ValueError("PORTAL_SEARCH_BACKEND=elasticsearch needs ES_URL")
        return ElasticBackend(
            settings.es_url.split(","),
            alias=settings.es_index,
            ca_certs=settings.es_ca_certs or None,
        )
    if settings.search_backend == "tantivy":
        from .backends.tantivy import TantivyBackend

        return TantivyBackend(settings.instance_dir / "search" / "tantivy")
    raise ValueError(f"unknown search backend {settings.search_backend!r}")


__all__ = [
    "PUBLIC",
    "DoctorReport",
    "Indexer",
    "IndexerThread",
    "SearchBackend",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "Viewer",
    "WriterBusy",
    "make_backend",
    "search",
    "suggest",
]
