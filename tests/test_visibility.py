"""The visibility rule's faces agree (`portal/visibility.py`): for every role, state,
openness and `metadata_public`, what Python says, what the SQL condition selects, what
the index scopes let the engine find, and what the search service answers, each equal to
the rule written out here on its own."""

from __future__ import annotations

from itertools import product
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from portal.catalog import Catalog
from portal.models import Dataset
from portal.search import SearchQuery, search
from portal.search.documents import document_query, documents
from portal.services import database, indexer, policy, search_backend
from portal.visibility import findable, may_find, may_read, viewer_of

from .factories import ORG, ZONE, dataset

OTHER_ORG = {"name": "qd-civil", "title": "青岛市民政局"}
OPENNESS = {
    "unconditional": {"grade": "general1"},
    "conditional": {"grade": "general2", "open_condition": "须签署协议"},
    "closed": {"grade": "general4"},
}
STATES = ("active", "withdrawn")
ROLES = {  # role → the department of its account
    "anonymous": None,
    "enterprise": None,
    "operator": None,
    "officer": ORG["name"],
    "other_officer": OTHER_ORG["name"],
    "authority": None,
    "admin": None,
}
CASES = list(product(STATES, OPENNESS, (True, False)))


def name_of(state: str, open_type: str, public: bool) -> str:
    return f"{state}-{open_type}-{'public' if public else 'unlisted'}"


def expected_read(role: str, state: str, public: bool) -> bool:
    """The rule, written out: the authority reads every entry, the publishing department
    its own, everyone else the active entries made public."""
    if role in ("authority", "officer"):  # "officer" is the publishing department's
        return True
    return state == "active" and public


def expected_find(role: str, state: str, public: bool) -> bool:
    return state == "active" and expected_read(role, state, public)


def account(role: str) -> Any:
    if role == "anonymous":
        return None
    department = ROLES[role]
    return SimpleNamespace(
        role="officer" if role.endswith("officer") else role,
        organization=SimpleNamespace(name=department) if department else None,
    )


@pytest.fixture
def every_case(app: Flask) -> Flask:
    with database(app).transaction() as session:
        catalog = Catalog(session, "test", policy(app))
        catalog.organizations.create(ORG)
        catalog.organizations.create(OTHER_ORG)
        catalog.zones.create(ZONE)
        for state, open_type, public in CASES:
            name = name_of(state, open_type, public)
            catalog.datasets.create(
                dataset(
                    name=name, open_type=open_type, metadata_public=public, **OPENNESS[open_type]
                )
            )
            if state == "withdrawn":
                catalog.datasets.withdraw(name)
    indexer(app).drain()
    return app


@pytest.mark.parametrize("role", ROLES)
def test_every_face_of_the_rule_agrees_with_it(every_case: Flask, role: str) -> None:
    viewer = viewer_of(account(role))
    readable = {name_of(*case) for case in CASES if expected_read(role, case[0], case[2])}
    findable_names = {name_of(*case) for case in CASES if expected_find(role, case[0], case[2])}
    assert findable_names <= readable
    with database(every_case).sessions() as session:
        datasets = session.scalars(select(Dataset)).all()
        assert len(datasets) == len(CASES)
        assert {d.name for d in datasets if may_read(viewer, d)} == readable
        assert {d.name for d in datasets if may_find(viewer, d)} == findable_names
        by_sql = set(session.scalars(select(Dataset.name).where(findable(viewer))))
        assert by_sql == findable_names
        indexed = documents(session, session.execute(document_query(Dataset.id.is_not(None))).all())
        by_scopes = {doc.name for doc in indexed if set(doc.scopes) & set(viewer.scopes)}
        assert by_scopes == findable_names
        found = search(search_backend(every_case), session, SearchQuery(viewer=viewer, size=100))
        assert {item.name for item in found.items} == findable_names
        assert found.total == len(findable_names)
        zones = Catalog(session, "test", policy(every_case)).zones
        assert zones.dataset_counts(viewer).get(ZONE["code"], 0) == len(findable_names)
