"""Settings: defaults < instance file < environment < explicit, and README documents them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.config import Settings, load_settings, markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_layers_override_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "portal.toml").write_text("page_size = 50\nsql_echo = true\n", encoding="utf-8")
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = load_settings()
    assert (settings.page_size, settings.sql_echo) == (50, True)
    assert settings.sqlalchemy_url == f"sqlite:///{instance.resolve() / 'portal.db'}"
    monkeypatch.setenv("PORTAL_PAGE_SIZE", "30")
    assert load_settings().page_size == 30
    assert load_settings({"page_size": 10}).page_size == 10


def test_unknown_settings_in_the_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "portal.toml").write_text("pagesize = 5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="pagesize"):
        load_settings({"instance_path": str(tmp_path)})


def test_secret_key_is_made_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(instance_path=str(tmp_path))
    first = settings.resolved_secret_key()
    assert len(first) == 64 and settings.resolved_secret_key() == first


def test_readme_documents_every_setting() -> None:
    assert markdown_table() in README.read_text(encoding="utf-8"), (
        "README's configuration table is stale: paste `portal config --markdown`"
    )
