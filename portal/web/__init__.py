"""Server-rendered pages. The blueprint and the template helpers are in `site.py`; the
views in `pages` (home, search, dataset, zone and department), `accounts`, `workspace`,
`authority`, `i18n` and the officer's three page groups (`officer.department_catalog`,
`officer.dataset_form`, `officer.harvest_sources`) add their routes to it, so they are
imported here, before `create_app` registers the blueprint.
"""

from __future__ import annotations

from . import accounts, authority, i18n, pages, workspace
from .officer import dataset_form, department_catalog, harvest_sources
from .site import blueprint

__all__ = [
    "accounts",
    "authority",
    "blueprint",
    "dataset_form",
    "department_catalog",
    "harvest_sources",
    "i18n",
    "pages",
    "workspace",
]
