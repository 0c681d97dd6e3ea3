"""A live portal in a child process (`portal serve`), for tests that drive it over HTTP
with real clients: schemathesis, ckanapi, a browser."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LivePortal:
    url: str
    env: dict[str, str]

    def portal(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `portal` command against this instance."""
        return subprocess.run(
            [sys.executable, "-m", "portal", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def token(self, email: str, password: str, scopes: list[str], name: str = "test") -> str:
        body = json.dumps(
            {"email": email, "password": password, "name": name, "scopes": scopes}
        ).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v1/tokens",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["token"]


@contextmanager
def live_portal(
    folder: Path, database_url: str = "", *, load_plan: bool = True, **settings: str
) -> Iterator[LivePortal]:
    """An initialized instance under `folder`, served until the block ends. Rate limits
    are off unless `settings` (environment variables) say otherwise."""
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(folder),
        "DATABASE_URL": database_url,
        "PORTAL_SECURE_COOKIES": "false",
        "PORTAL_API_RATE_LIMIT": "",
        "PORTAL_API_IP_RATE_LIMIT": "",
        "PORTAL_INDEX_INTERVAL": "0.2",
        **settings,
    }
    init = ["init", "--load-plan"] if load_plan else ["init"]
    done = subprocess.run(
        [sys.executable, "-m", "portal", *init],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    port = free_port()
    log = (folder / "serve.log").open("w")  # a file, not a pipe: a full pipe blocks the server
    server = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = (folder / "serve.log").read_text()
                    raise RuntimeError(f"the portal did not start: {output}") from None
                time.sleep(0.2)
        yield LivePortal(url, env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
