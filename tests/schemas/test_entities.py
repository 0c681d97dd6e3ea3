"""Organizations (with the credit code's check digit), zones and scenarios, vocabularies."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from schemas import OrganizationSchema, ZoneSchema, uscc, vocab, vocabularies


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("91350100M000100Y43", True),  # a published example
        (uscc.make("11", "370200", "00401234"), True),
        ("91350100M000100Y44", False),  # last character altered
        ("91350100M000100Y4", False),  # 17 characters
        ("91350100M000100I43", False),  # I is not a code character
    ],
)
def test_unified_social_credit_code_check_digit(code: str, valid: bool) -> None:
    assert uscc.is_valid(code) is valid


def test_organization_rejects_a_wrong_check_digit_in_both_languages() -> None:
    good = {"name": "qd-transport", "title": "青岛市交通运输局", "uscc": "91350100M000100Y43"}
    assert OrganizationSchema().load(good)["uscc"] == good["uscc"]
    with pytest.raises(ValidationError) as caught:
        OrganizationSchema().load({**good, "uscc": "91350100M000100Y44"})
    [msg] = caught.value.messages["uscc"]
    assert "统一社会信用代码" in msg["zh"] and "check character" in msg["en"]


def test_zone_needs_a_known_code_and_unique_scenarios() -> None:
    zone = {
        "code": "养老专区",
        "title": "养老专区",
        "scenarios": [{"code": "qing-yi-yao", "title": "青易药"}],
    }
    assert ZoneSchema().load(zone)["code"] == "elderly"
    with pytest.raises(ValidationError) as caught:
        ZoneSchema().load({**zone, "code": "moon"})
    assert "code" in caught.value.messages
    with pytest.raises(ValidationError) as caught:
        ZoneSchema().load({**zone, "scenarios": zone["scenarios"] * 2})
    assert "scenarios" in caught.value.messages


def test_every_vocabulary_term_has_both_labels() -> None:
    expected = {
        "domains",
        "industries",
        "grades",
        "open_types",
        "share_types",
        "share_methods",
        "update_frequencies",
        "formats",
        "processing_levels",
        "basic_categories",
        "zones",
        "field_types",
        "resource_kinds",
        "open_levels",
    }
    assert expected <= set(vocabularies())
    for vocabulary in vocabularies().values():
        assert vocabulary.zh and vocabulary.en
        for term in vocabulary.terms:
            assert term.code and term.zh and term.en, (vocabulary.name, term)


def test_vocabularies_match_the_domain_reference() -> None:
    assert [t.id for t in vocab("domains").terms] == [*range(1, 22), 99]
    assert vocab("industries").codes == list("ABCDEFGHIJKLMNOPQRST")
    assert [t.zh for t in vocab("zones").terms] == [
        "交通专区",
        "养老专区",
        "乡村振兴专区",
        "港航专区",
    ]
    ranks = [t.rank for t in vocab("grades").terms]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == 6
