"""Helpers shared by the bench scripts: the machine line (with the load average, since other
work may share the machine), the BENCHMARKS.md section writer, process memory, free ports,
percentiles and a gunicorn server in a child process."""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalog_core import machine, write_section

__all__ = [
    "ROOT",
    "Gunicorn",
    "children",
    "commit",
    "folder_mb",
    "free_port",
    "load_average",
    "machine_line",
    "percentiles",
    "rss_mb",
    "write_section",
]

ROOT = Path(__file__).resolve().parents[1]
# A benchmark drives the portal from one address: per-IP limits would answer 429 at once.
NO_RATE_LIMITS = {"PORTAL_API_RATE_LIMIT": "", "PORTAL_API_IP_RATE_LIMIT": ""}


def load_average() -> str:
    """`uptime`'s three figures (1, 5, 15 minutes)."""
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def commit() -> str:
    """The commit measured (`+ local changes` when the work tree differs from it)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short=10", "HEAD") or "unknown"
    return head + (
        " + local changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    )


def machine_line(command: str, load_at_start: str) -> str:
    """CPU, cores, RAM, kernel, Python, the commit, the date, the command, and the load
    average when the run started and when it ended (other jobs on the machine skew the
    figures)."""
    return (
        f"Machine: {machine()}. Commit: {commit()}. "
        f"Run: {time.strftime('%Y-%m-%d %H:%M')}, `{command}`. "
        f"Load average (1 / 5 / 15 min, `uptime`): {load_at_start} at the start, "
        f"{load_average()} at the end."
    )


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99."""
    if len(samples) == 1:
        return samples[0], samples[0], samples[0]
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status in MB: VmRSS (resident, file-backed pages such
    as the memory-mapped database and index included) or RssAnon (the process's own)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """The direct children of `pid` (all its threads' children)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(out))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, path: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Until GET `path` answers 200 (or raise after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no 200 from {path} within {timeout:.0f} s")


class Gunicorn:
    """`gunicorn portal.wsgi:app` on a free port, rate limits off; `env` adds settings."""

    def __init__(
        self,
        instance: Path,
        workers: int,
        threads: int,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log = (instance.parent / f"gunicorn-{self.port}.log").open("w")
        environment = {
            **os.environ,
            "PORTAL_INSTANCE_PATH": str(instance),
            "PORTAL_SECURE_COOKIES": "false",
            **NO_RATE_LIMITS,
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:app",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--threads",
                str(threads),
                "--backlog",
                "256",
                "--log-level",
                "warning",
                *(args or []),
            ],
            env=environment,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(self.port, "/healthz", 120, self.process)
        except RuntimeError:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_rss(self, field: str = "VmRSS") -> list[float]:
        return [rss_mb(pid, field) for pid in children(self.process.pid)]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
