"""`portal user add`, `portal audit verify` and `portal audit export` at the console, and
the review deadline counted in working days."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from portal.access.workdays import CHINA, add_working_days
from portal.cli import main


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    environment = {"PORTAL_INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": database_url}
    assert CliRunner().invoke(main, ["init"], env=environment).exit_code == 0
    return environment


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_accounts_are_made_and_the_log_verifies_until_tampered_with(
    env: dict[str, str], database_url: str
) -> None:
    code, out = run(
        env,
        "user",
        "add",
        "boss@qingdao.gov.cn",
        "--role",
        "authority",
        "--password",
        "a long password",
    )
    assert code == 0, out
    code, out = run(
        env,
        "user",
        "add",
        "x@qingdao.gov.cn",
        "--role",
        "officer",
        "--org",
        "nowhere",
        "--password",
        "a long password",
    )
    assert code != 0 and "department" in out
    code, out = run(env, "audit", "verify")
    assert code == 0 and "intact: 1 entries" in out
    code, out = run(env, "audit", "export", "-")
    rows = list(csv.DictReader(io.StringIO(out.split("audit log written")[0])))
    assert [r["action"] for r in rows] == ["account.create", "audit.export"]  # the export too
    assert rows[0]["prev_hash"] == "0" * 64

    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
        connection.execute(text("DELETE FROM audit_entries"))
    engine.dispose()
    code, out = run(env, "audit", "verify")
    # the table is empty and consistent, but the anchor outside the database remembers
    assert code == 1 and "cut off the end" in out


def test_the_formality_deadline_counts_working_days_in_china() -> None:
    friday_afternoon = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # 15:00 in Qingdao
    assert add_working_days(friday_afternoon, 5) == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    # Saturday 01:00 in Qingdao is still Friday in UTC: the count starts from Saturday
    saturday_early = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert add_working_days(saturday_early, 1).astimezone(CHINA).date() == date(2026, 11, 30)
    holiday = {date(2026, 12, 1)}
    assert add_working_days(friday_afternoon, 5, holiday) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
