"""DCAT-AP exports of the catalog (`/catalog.ttl|jsonld|rdf`, `/dataset/<name>.ttl|…`) and
the DCAT-US `data.json`, for national aggregators that harvest DCAT."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("dcat", __name__)
