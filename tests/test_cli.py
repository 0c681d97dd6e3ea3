"""The `portal` command as a user runs it: real processes, a real server."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.live  # every test runs the `portal` command

UP_DEADLINE_SECONDS = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def portal(*args: str, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "portal", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.fixture
def env(tmp_path: Path, new_database_url: Callable[[], str]) -> dict[str, str]:
    """A new instance, as a user's first one: its database not migrated yet."""
    return {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": new_database_url(),
    }


def test_up_serves_the_plan_catalog_within_15_seconds(env: dict[str, str]) -> None:
    port = free_port()
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "portal", "up", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = None
        while time.monotonic() - started < UP_DEADLINE_SECONDS and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert page is not None, f"no page within {UP_DEADLINE_SECONDS}s: {server.poll()}"
        for zone in ("交通专区", "养老专区", "乡村振兴专区", "港航专区"):
            assert zone in page
        assert "个数据集" in page and "/dataset/" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            health = json.loads(response.read())
        assert health["search"]["documents"] >= 60
        url = f"http://127.0.0.1:{port}/api/v1/search?q=%E5%85%AC%E4%BA%A4"  # 公交
        with urllib.request.urlopen(url, timeout=2) as response:
            assert json.loads(response.read())["total"] >= 2
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert "plan catalog loaded" in output


def test_export_import_round_trip_through_the_command(
    env: dict[str, str], tmp_path: Path, new_database_url
) -> None:  # type: ignore[no-untyped-def]
    assert portal("init", env=env).returncode == 0
    loaded = portal("harvest", "run", "plan", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "plan: finished" in loaded.stdout
    assert re.search(r"dataset\s*│\s*73\s*│", loaded.stdout), loaded.stdout
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert portal("export", str(first), env=env).returncode == 0
    other = {
        **env,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "other"),
        "DATABASE_URL": new_database_url(),
    }
    imported = portal("import", str(first), env=other)
    assert imported.returncode == 0, imported.stderr
    assert portal("export", str(second), env=other).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    again = portal("import", str(first), env=other)
    assert again.returncode != 0 and "nothing was imported" in again.stderr


def test_serve_refuses_an_uninitialized_instance(env: dict[str, str]) -> None:
    result = portal("serve", "--port", str(free_port()), env=env)
    assert result.returncode != 0 and "portal init" in result.stderr


def test_dataset_withdraw_restore_and_history(env: dict[str, str]) -> None:
    portal("init", env=env)
    portal("harvest", "run", "plan", env=env)
    assert portal("dataset", "withdraw", "bus-lines", "--reason", "test", env=env).returncode == 0
    assert portal("dataset", "restore", "bus-lines", env=env).returncode == 0
    history = portal("dataset", "history", "bus-lines", env=env).stdout.splitlines()
    assert [line.split("\t")[3] for line in history] == ["restore", "withdraw", "create"]
    missing = portal("dataset", "withdraw", "no-such-dataset", env=env)
    assert missing.returncode != 0 and "no-such-dataset" in missing.stderr


def test_reindex_and_doctor(env: dict[str, str]) -> None:
    portal("init", env=env)
    portal("harvest", "run", "plan", env=env)  # drains the outbox into the index itself
    doctor = portal("doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "missing: 0" in doctor.stdout and "stale: 0" in doctor.stdout
    reindex = portal("reindex", env=env)
    assert reindex.returncode == 0 and "reindexed 73 datasets" in reindex.stderr
    assert portal("doctor", env=env).returncode == 0
