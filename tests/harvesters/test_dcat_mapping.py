"""harvesters/formats/dcat.py: the one table of DCAT values both directions use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harvesters.formats import dcat
from schemas import vocab

# The table of data/dcat.yaml → the vocabulary its codes belong to.
VOCABULARIES = {
    "open_types": "open_types",
    "update_frequencies": "update_frequencies",
    "domains": "domains",
    "formats": "formats",
    "media_types": "formats",
}


@pytest.fixture
def fresh_tables() -> Iterator[None]:
    """The tables read again from MAPPING_FILE, before and after the test."""
    dcat._raw.cache_clear()
    dcat._tables.cache_clear()
    yield
    dcat._raw.cache_clear()
    dcat._tables.cache_clear()


def test_every_written_value_reads_back_as_its_code() -> None:
    for table, vocabulary in VOCABULARIES.items():
        for place in dcat._tables()[table].written:
            codes = dcat.written(table, place)
            assert set(codes) <= set(vocab(vocabulary).codes), (table, place)
            for code, value in codes.items():
                assert dcat.lookup(table, value) == (True, code), (table, place, value)


def test_a_read_entry_that_contradicts_the_written_one_fails_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_tables: None
) -> None:
    text = dcat.MAPPING_FILE.read_text("utf-8")
    broken = tmp_path / "dcat.yaml"
    broken.write_text(text.replace("    CONFIDENTIAL: closed", "    public: closed"), "utf-8")
    monkeypatch.setattr(dcat, "MAPPING_FILE", broken)
    with pytest.raises(ValueError, match="open_types reads 'public' as both"):
        dcat.lookup("open_types", "PUBLIC")


def test_the_unknown_media_type_says_nothing_so_the_format_decides() -> None:
    assert dcat.lookup("media_types", dcat.UNKNOWN_MEDIA_TYPE) == (True, None)


def test_each_qdp_property_reads_back_as_its_field() -> None:
    for prop in dcat.DATASET_PROPERTIES:
        assert dcat.portal_field(prop.local) == prop.field
        assert (prop.kind == "code") == (prop.vocabulary is not None), prop
    assert dcat.portal_field("dataField") == "data_field"  # unknown: reported by this name
