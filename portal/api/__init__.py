"""The APIs. REST v1: the blueprint and its errors in `rest.py`, the routes in `access`,
`catalog`, `search` and `openapi`, which add themselves to it, so they are imported here
before `create_app` registers it. The CKAN Action API: `ckan_dispatch.py`. DCAT: `dcat.py`.
"""

from __future__ import annotations

from . import access, catalog, openapi, search
from .rest import blueprint, http_problem, problem

__all__ = ["access", "blueprint", "catalog", "http_problem", "openapi", "problem", "search"]
