"""README's first set-up command, run as a newcomer runs it, then checked over HTTP.

    python .ci/smoke.py [--keep]

The project's tracked files are copied into an empty folder, a fresh venv is made, and
the first ``sh`` block of README's "Set up" section runs there exactly as written, in the
background, with only ``PORTAL_PORT`` set to a free port. Dependencies resolve from
pyproject's ranges (what a user gets today), not from the lock files. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 900  # seconds: pip resolves and downloads everything first
ZONES = ("交通专区", "养老专区", "乡村振兴专区", "港航专区")


def readme_setup_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README's Set up section has no sh block"
    return block.group(1).strip()


def copy_tracked_files(target: Path) -> None:
    """The files a clone has, as they are in this working tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, timeout: float = 30) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def wait_until_serving(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the set-up command ended ({server.returncode}):\n{log.read_text()}")
        try:
            if get(f"{base}/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"no answer on {base} after {START_TIMEOUT}s:\n{log.read_text()}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """The set-up command's whole process group: bash, pip or portal, and its children."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def check(base: str) -> list[str]:
    """What a newcomer tries first; each failure as a line."""
    failures: list[str] = []

    def expect(ok: bool, what: str) -> None:
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    def api(path: str) -> dict:
        status, body = get(base + path)
        expect(status == 200, f"GET {path} → {status}")
        return json.loads(body) if status == 200 else {}

    status, health = get(f"{base}/healthz")
    expect(status == 200 and json.loads(health).get("status") == "ok", "/healthz is ok")
    status, home = get(f"{base}/")
    expect(status == 200 and all(zone in home for zone in ZONES), "the home page lists 4 zones")
    for words in ("养老", "bus"):
        status, page = get(f"{base}/search?q={urllib.parse.quote(words)}")
        hits = '<ol class="datasets"' in page and 'href="/dataset/' in page
        expect(status == 200 and bool(hits), f"/search?q={words} shows datasets")
    for words in ("公交", "bus", "elderly", "Qingdao"):
        found = api(f"/api/v1/search?q={urllib.parse.quote(words)}")
        expect(found.get("total", 0) > 0, f"/api/v1/search?q={words} has hits")
    ckan = api("/api/3/action/package_search?q=" + urllib.parse.quote("养老"))
    expect(
        ckan.get("success") is True
        and "help" in ckan
        and ckan.get("result", {}).get("count", 0) > 0
        and len(ckan["result"].get("results", [])) > 0,
        "CKAN package_search?q=养老 answers in CKAN's envelope with results",
    )
    return failures


def main() -> int:
    keep = "--keep" in sys.argv
    folder = Path(tempfile.mkdtemp(prefix="portal-smoke-"))
    project = folder / "qingdao-data-portal"
    project.mkdir()
    copy_tracked_files(project)
    environment = folder / "venv"
    venv.create(environment, with_pip=True)
    command = readme_setup_command()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "DATABASE_URL", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        PATH=f"{environment / 'bin'}:{env.get('PATH', '')}",
        VIRTUAL_ENV=str(environment),
        PORTAL_PORT=str(port),
    )
    log = folder / "setup.log"
    print(f"== smoke: `{command}` in {project}, port {port}")
    started = time.monotonic()
    with log.open("wb") as output:
        server = subprocess.Popen(
            ["bash", "-c", command],
            cwd=project,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
    try:
        wait_until_serving(base, server, log)
        print(f"serving after {time.monotonic() - started:.0f}s (install included)")
        failures = check(base)
    finally:
        stop(server)
    if failures:
        print(f"--- the server's log ({log}):\n{log.read_text()[-5000:]}")
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    print("== smoke: " + ("FAILED: " + "; ".join(failures) if failures else "all green"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
