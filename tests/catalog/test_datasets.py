"""The dataset service: one owner of writes, a revision for every change, nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.catalog import Catalog, Conflict, Invalid, NotFound
from portal.models import CatalogEvent, Dataset, Resource, Revision

from ..factories import dataset


def count(catalog: Catalog, model) -> int:  # type: ignore[no-untyped-def]
    return catalog.session.scalar(select(func.count()).select_from(model))


def test_create_stores_the_document_with_a_revision_and_an_outbox_event(seeded: Catalog) -> None:
    ds = seeded.datasets.create(dataset(), message_text="first")
    seeded.session.commit()
    doc = seeded.datasets.document("bus-lines")
    assert doc["publisher"] == "qd-transport" and doc["zones"] == ["transport"]
    assert doc["resources"][0]["id"] == ds.resources[0].id
    [rev] = seeded.datasets.history("bus-lines")
    assert (rev.number, rev.action, rev.actor, rev.message) == (1, "create", "test", "first")
    assert rev.snapshot["title"] == "青岛市公交线路信息" and rev.snapshot["state"] == "active"
    assert count(seeded, CatalogEvent) >= 1


def test_update_records_what_changed_and_keeps_resource_ids(seeded: Catalog) -> None:
    resource_id = seeded.datasets.create(dataset()).resources[0].id
    seeded.datasets.update(
        "bus-lines",
        dataset(
            title="公交线路（2025版）",
            grade="general2",
            open_type="conditional",
            open_condition="实名认证",
        ),
    )
    latest = seeded.datasets.history("bus-lines")[0]
    assert latest.action == "update"
    assert set(latest.changes) == {"title", "grade", "open_type", "open_condition"}
    assert latest.changes["grade"] == {"old": "general1", "new": "general2"}
    assert seeded.datasets.get("bus-lines").resources[0].id == resource_id


def test_an_identical_update_writes_no_revision(seeded: Catalog) -> None:
    seeded.datasets.create(dataset())
    seeded.datasets.update("bus-lines", dataset())
    assert len(seeded.datasets.history("bus-lines")) == 1


def test_withdraw_keeps_the_dataset_and_restore_brings_it_back(seeded: Catalog) -> None:
    seeded.datasets.create(dataset())
    seeded.datasets.withdraw("bus-lines", reason="source retired")
    seeded.session.commit()
    assert seeded.datasets.get("bus-lines").state == "withdrawn"
    assert count(seeded, Dataset) == 1 and count(seeded, Resource) == 1
    seeded.datasets.restore("bus-lines")
    actions = [r.action for r in seeded.datasets.history("bus-lines")]
    assert actions == ["restore", "withdraw", "create"]
    assert seeded.datasets.history("bus-lines")[1].message == "source retired"


def test_any_revision_can_be_restored(seeded: Catalog) -> None:
    seeded.datasets.create(dataset())
    seeded.datasets.update("bus-lines", dataset(title="改过的标题", keywords=["公交"]))
    seeded.datasets.revert("bus-lines", 1)
    doc = seeded.datasets.document("bus-lines")
    assert doc["title"] == "青岛市公交线路信息" and doc["keywords"] == []
    latest = seeded.datasets.history("bus-lines")[0]
    assert (latest.number, latest.action) == (3, "revert")
    with pytest.raises(NotFound):
        seeded.datasets.revert("bus-lines", 99)


def test_invalid_data_is_refused_with_field_errors_and_nothing_written(seeded: Catalog) -> None:
    with pytest.raises(Invalid) as caught:
        seeded.datasets.create(dataset(grade="core"))
    assert set(caught.value.errors) == {"grade", "open_type"}
    assert count(seeded, Dataset) == 0 and count(seeded, Revision) == 2  # org + zone only


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"publisher": "nobody"}, "publisher"), ({"zones": ["port"]}, "zones")],
)
def test_references_must_exist(seeded: Catalog, changes, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as caught:
        seeded.datasets.create(dataset(**changes))
    assert field in caught.value.errors
    seeded.session.rollback()
    assert count(seeded, Dataset) == 0


def test_names_are_unique(seeded: Catalog) -> None:
    seeded.datasets.create(dataset())
    with pytest.raises(Conflict) as caught:
        seeded.datasets.create(dataset(title="另一个"))
    assert "name" in caught.value.errors


def test_upsert_reports_added_unchanged_updated_restored(seeded: Catalog) -> None:
    assert seeded.datasets.upsert(dataset())[0] == "added"
    assert seeded.datasets.upsert(dataset())[0] == "unchanged"
    assert seeded.datasets.upsert(dataset(record_count=10))[0] == "updated"
    seeded.datasets.withdraw("bus-lines")
    assert seeded.datasets.upsert(dataset(record_count=10))[0] == "restored"
    assert seeded.datasets.get("bus-lines").state == "active"


def test_organization_and_zone_changes_are_revisions_too(seeded: Catalog) -> None:
    seeded.organizations.update(
        "qd-transport", {"title": "青岛市交通运输局", "contact_phone": "0532-12345"}
    )
    seeded.zones.update("transport", {"title": "交通专区", "operator": "青岛交通数据运营有限公司"})
    kinds = seeded.session.execute(
        select(Revision.entity_type, Revision.action).order_by(Revision.id)
    ).all()
    assert kinds == [
        ("organization", "create"),
        ("zone", "create"),
        ("organization", "update"),
        ("zone", "update"),
    ]


def test_a_credit_code_belongs_to_one_organization(seeded: Catalog) -> None:
    with pytest.raises(Conflict) as caught:
        seeded.organizations.create(
            {"name": "other", "title": "别的局", "uscc": "11370200004012340B"}
        )
    assert "uscc" in caught.value.errors
