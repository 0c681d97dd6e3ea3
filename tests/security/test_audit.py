"""Attacks on the audit log by someone who can write the database and the instance folder
(finding 9): entries cut off the end and covered by new ones, the checkpoint files deleted,
the chain re-hashed around a forged approval, the checkpoint file edited, and the whole log
re-signed with the instance's own key, which only a witness's earlier copy catches. All
through `portal audit verify`, as the authority runs it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from portal.access import tokens
from portal.access.audit import entry_hash
from portal.cli import main
from portal.models import AuditEntry, User
from portal.services import access, database

from ..access.conftest import World
from ..access.conftest import world as world
from ..web import test_officer, test_workspace
from ..web.test_workspace import BASE, csrf, signed_in

PASSWORD = "a long password"


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    environment = {
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "PORTAL_AUDIT_CHECKPOINT_EVERY": "3",  # a line every 3 entries: several lines soon
    }
    assert CliRunner().invoke(main, ["init"], env=environment).exit_code == 0
    return environment


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = create_engine(database_url)
    yield made
    made.dispose()


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def events(env: dict[str, str], count: int, start: int = 0) -> None:
    """Ordinary audited events: accounts made at the console."""
    for number in range(start, start + count):
        code, out = run(
            env, "user", "add", f"u{number}@qingdao.gov.cn", "--role", "authority",
            "--password", PASSWORD,
        )  # fmt: skip
        assert code == 0, out


def instance(env: dict[str, str]) -> Path:
    return Path(env["PORTAL_INSTANCE_PATH"])


def unguarded(engine: Engine) -> None:
    """What an attacker with the database's keys does first: drop the append-only guard."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
            connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))


def rehash_from(engine: Engine, first_id: int) -> None:
    """Recompute every hash from entry `first_id` on, as a forger covering an edit does."""
    with Session(engine) as session, session.begin():
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        previous = "0" * 64
        # unique prev_hash: clear the ones to be rewritten before setting new ones
        for entry in entries:
            if entry.id >= first_id:
                entry.prev_hash, entry.hash = f"tmp-p{entry.id}", f"tmp-h{entry.id}"
        session.flush()
        for entry in entries:
            if entry.id >= first_id:
                entry.prev_hash = previous
                entry.hash = entry_hash(entry)
            previous = entry.hash
        session.flush()


def verify(env: dict[str, str], *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", *extra], env=env)
    return result.exit_code, result.output


def test_an_honest_log_verifies_with_its_checkpoints_and_the_key_is_private(
    env: dict[str, str],
) -> None:
    events(env, 7)
    code, out = verify(env)
    assert code == 0 and "intact: 7 entries" in out and "vouch for 7" in out, out
    folder = instance(env)
    assert stat.S_IMODE(os.stat(folder / "audit.key").st_mode) == 0o600
    lines = (folder / "audit.checkpoints").read_text().splitlines()
    assert [json.loads(line)["count"] for line in lines] == [1, 4, 7]
    assert json.loads((folder / "audit.head").read_text())["count"] == 7


def test_the_key_can_live_outside_the_instance(env: dict[str, str], tmp_path: Path) -> None:
    elsewhere = {**env, "PORTAL_AUDIT_KEY_PATH": str(tmp_path / "keys" / "audit.pem")}
    (instance(env) / "audit.key").unlink(missing_ok=True)
    events(elsewhere, 2)
    assert (tmp_path / "keys" / "audit.pem").exists()
    assert not (instance(env) / "audit.key").exists()
    assert verify(elsewhere)[0] == 0
    code, out = verify(env)  # without the key, the checkpoints cannot be checked
    assert code == 1 and "signing key" in out


def test_entries_cut_off_the_end_are_seen_after_six_more_events(
    env: dict[str, str], engine: Engine
) -> None:
    events(env, 8)
    unguarded(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE id > 5"))
    events(env, 6, start=100)  # the attacker's cover: ordinary events chain on the cut
    code, out = verify(env)
    assert code == 1, out
    assert "rewritten" in out or "cut off" in out or "missing" in out


def test_the_latest_entries_cut_between_two_checkpoint_lines_are_seen(
    env: dict[str, str], engine: Engine
) -> None:
    events(env, 5)  # lines at 1 and 4 entries; the head at 5
    unguarded(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entries WHERE id = 5"))
    code, out = verify(env)
    assert code == 1 and "cut off the end" in out, out


@pytest.mark.parametrize("lost", ["audit.head", "audit.checkpoints", "both", "audit.key"])
def test_deleting_the_checkpoints_or_the_key_fails_verification(
    env: dict[str, str], lost: str
) -> None:
    events(env, 4)
    folder = instance(env)
    for name in ("audit.head", "audit.checkpoints") if lost == "both" else (lost,):
        (folder / name).unlink()
    events(env, 2, start=50)  # later writes do not start a new log over the gap
    code, out = verify(env)
    assert code == 1, out
    assert "missing" in out or "does not follow" in out


def test_a_forged_approval_rehashed_and_its_head_rewritten_fails(
    env: dict[str, str], engine: Engine
) -> None:
    events(env, 6)
    unguarded(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE audit_entries SET action = 'application.approve', "
                "subject = 'application:1' WHERE id = 3"
            )
        )
    rehash_from(engine, 3)
    # the old attack: point the anchor at the new head; now the signed head
    head_file = instance(env) / "audit.head"
    head = json.loads(head_file.read_text())
    with Session(engine) as session:
        newest = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert newest is not None
        head["head"] = newest.hash
    head_file.write_text(json.dumps(head))
    code, out = verify(env)
    assert code == 1, out
    assert "signature does not verify" in out and "re-hashed" in out


def test_an_edited_or_shortened_checkpoint_file_fails(env: dict[str, str]) -> None:
    events(env, 7)
    lines_file = instance(env) / "audit.checkpoints"
    lines = lines_file.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["count"] = 3
    lines_file.write_text("\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    code, out = verify(env)
    assert code == 1 and "signature does not verify" in out, out
    lines_file.write_text("\n".join([lines[0], lines[2]]) + "\n")  # a line taken out
    code, out = verify(env)
    assert code == 1 and "does not follow" in out, out
    lines_file.write_text("not json\n")
    code, out = verify(env)
    assert code == 1 and "cannot be read" in out, out


def test_a_witness_copy_catches_a_log_rewritten_and_re_signed_with_the_instance_key(
    env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    events(env, 6)
    witness = tmp_path / "published"
    code, out = run(env, "audit", "checkpoints", "--export", str(witness))
    assert code == 0, out
    copy, key = witness / "audit-checkpoints.jsonl", witness / "audit-public-key.pem"
    assert key.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    witnessed = ["--checkpoints", str(copy), "--public-key", str(key)]
    assert verify(env, *witnessed)[0] == 0
    events(env, 2, start=10)
    assert verify(env, *witnessed)[0] == 0  # later entries extend what was witnessed

    # the attacker holds the instance folder, key included: forge, re-hash, re-sign
    unguarded(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET action = 'application.approve' "
                                "WHERE id = 2"))  # fmt: skip
    rehash_from(engine, 2)
    for name in ("audit.head", "audit.checkpoints"):
        (instance(env) / name).unlink()
    code, out = run(env, "audit", "checkpoints", "--start")
    assert code == 0, out
    assert verify(env)[0] == 0  # the instance alone is fooled
    code, out = verify(env, *witnessed)
    assert code == 1, out
    assert "witness" in out and "re-hashed" in out


def test_a_witness_copy_of_another_key_or_edited_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    events(env, 4)
    witness = tmp_path / "published"
    assert run(env, "audit", "checkpoints", "--export", str(witness))[0] == 0
    copy = witness / "audit-checkpoints.jsonl"
    first, *rest = copy.read_text().splitlines()
    changed = json.loads(first)
    changed["head"] = "f" * 64
    copy.write_text("\n".join([json.dumps(changed), *rest]) + "\n")
    code, out = verify(
        env, "--checkpoints", str(copy), "--public-key", str(witness / "audit-public-key.pem")
    )
    assert code == 1 and "signature does not verify" in out, out
    code, out = verify(env, "--checkpoints", str(copy))
    assert code != 0 and "go together" in out


# -- finding 10: the events that left no entry ---------------------------------------------


def entries(world: World, action: str) -> list[AuditEntry]:
    with database(world.app).sessions() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(query))


@pytest.fixture
def fresh_refusal_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget is per process and per minute; other tests in this worker spent some.
    A stopped clock: the test never straddles two minutes."""
    monkeypatch.setattr(tokens, "_REFUSALS", tokens.RefusalBudget(clock=lambda: 0.0))


def test_refused_tokens_are_audited_once_a_minute_per_token_and_address(
    world: World, fresh_refusal_budget: None
) -> None:
    for _ in range(30):  # a flood of one bad token
        response = world.call("GET", "/api/v1/applications", token="qdp_flood-aaaaaaaa")
        assert response.status_code == 401
    refused = entries(world, "token.refused")
    assert len(refused) == 1
    assert refused[0].actor == "token:qdp_flood-aa" and refused[0].ip == "127.0.0.1"
    assert refused[0].subject == "GET /api/v1/applications"

    reader = world.token("officer", ["catalog:read"], name="reader")
    response = world.call("GET", "/api/v1/audit", token=reader)  # lacks audit:read
    assert response.status_code == 403
    scoped = entries(world, "token.refused")[-1]
    assert scoped.actor.startswith(f"user:{world.users['officer']} token:")
    assert "audit:read" in scoped.detail["reason"]

    # a flood of ever-new tokens is bounded in all, and the entry says what it dropped
    for number in range(tokens.REFUSALS_PER_MINUTE + 50):
        world.call("GET", "/api/v1/applications", token=f"qdp_{number:08d}")
    assert len(entries(world, "token.refused")) == tokens.REFUSALS_PER_MINUTE


def test_audit_exports_are_themselves_audited(world: World) -> None:
    response = world.call("GET", "/api/v1/audit.csv", "authority")
    assert response.status_code == 200
    response.get_data()
    exported = entries(world, "audit.export")
    assert len(exported) == 1 and exported[0].actor.startswith(f"user:{world.users['authority']}")
    client = signed_in(world, "authority")
    page = client.get("/workspace/audit.csv?action=login", base_url=BASE)
    assert page.status_code == 200
    web = entries(world, "audit.export")[-1]
    assert web.actor == f"user:{world.users['authority']}" and web.detail["filters"] == {
        "action": "login"
    }


def test_sign_out_is_audited(world: World) -> None:
    client = signed_in(world, "enterprise")
    page = client.get("/account", base_url=BASE).get_data(as_text=True)
    done = client.post(
        "/logout",
        base_url=BASE,
        data={"csrf_token": csrf(page)},
        headers={"Referer": f"{BASE}/account"},
    )
    assert done.status_code == 302
    logged = entries(world, "logout")
    assert [e.actor for e in logged] == [f"user:{world.users['enterprise']}"]


def test_a_resource_url_change_is_audited_with_both_urls(world: World) -> None:
    with database(world.app).sessions() as session:
        officer = session.get(User, world.users["officer"])
        document = (
            access(session, world.app).stewardship._catalog(officer).datasets.document("bus-lines")
        )
    moved = [{**r, "url": "http://10.0.0.5/internal.csv"} if i == 0 else r
             for i, r in enumerate(document["resources"])]  # fmt: skip
    response = world.call("PUT", "/api/v1/datasets/bus-lines", "officer",
                          json={**document, "resources": moved})  # fmt: skip
    assert response.status_code == 200, response.get_json()
    update = entries(world, "dataset.update")[-1]
    assert (
        update.subject == "dataset:bus-lines" and update.actor == f"user:{world.users['officer']}"
    )
    assert "resources" in update.detail["fields"]
    assert update.detail["resource_urls"] == [
        {
            "resource": document["resources"][0]["id"],
            "old": document["resources"][0]["url"],
            "new": "http://10.0.0.5/internal.csv",
        }
    ]


def test_a_spreadsheet_commit_and_a_web_harvest_run_are_audited(world: World) -> None:
    test_workspace.test_a_department_uploads_its_catalog_dry_run_first(world)
    committed = entries(world, "harvest.commit")
    assert [e.actor for e in committed] == [f"user:{world.users['officer']}"]
    assert committed[0].detail["counts"]


def test_a_web_run_now_harvest_is_audited_with_who_pressed_it(world: World, tmp_path: Path) -> None:
    test_officer.test_the_harvest_pages_show_jobs_and_failed_records(world, tmp_path)
    runs = entries(world, "harvest.commit")
    assert runs and all(e.actor == f"user:{world.users['officer']}" for e in runs)
    assert all(e.subject and e.subject.startswith("harvest_source:") for e in runs)


def test_console_writes_are_audited(env: dict[str, str], tmp_path: Path) -> None:
    """A harvest source registered and an audit log exported at the console."""
    code, out = run(env, "harvest", "add", "city-ckan", "--type", "ckan",
                    "--url", "https://data.example.cn")  # fmt: skip
    assert code == 0, out
    code, out = run(env, "audit", "export", str(tmp_path / "log.csv"))
    assert code == 0, out
    rows = (tmp_path / "log.csv").read_text(encoding="utf-8").splitlines()
    assert [row.split(",")[3] for row in rows[1:]] == ["harvest_source.add", "audit.export"]
    assert verify(env)[0] == 0
