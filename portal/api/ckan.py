"""The CKAN Action API v3 (`/api/3/action/<name>`, `/api/action/<name>`), so that CKAN
clients (ckanapi, harvesters of other portals) work against the portal unchanged."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("ckan", __name__)
