"""Server-rendered pages. The blueprint and the template helpers are in `site.py`; the
views in `pages` (home, search, dataset, zone, department), `accounts`, `workspace`,
`officer`, `authority` and `i18n` add their routes to it, so they are imported here,
before `create_app` registers the blueprint.
"""

from __future__ import annotations

from . import accounts, authority, i18n, officer, pages, workspace
from .site import blueprint

__all__ = ["accounts", "authority", "blueprint", "i18n", "officer", "pages", "workspace"]
