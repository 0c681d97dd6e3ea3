"""Start-up benchmark: from launching `portal up` until `/` answers 200.

    python bench/startup.py [--runs 5] [--write BENCHMARKS.md]

Each run makes a fresh instance folder and launches `portal up --port <free port>` on it
(it migrates the database, loads the plan catalog, builds the search index for it and
serves with waitress), polling `GET /` every 20 ms until it answers 200; the memory of the
serving process (RSS) is read right after that first page. The process is stopped (Ctrl+C,
SIGINT) and `portal up` is launched again on the same folder: the warm start (nothing to
migrate, load or index). Reported: p50 and max over the runs, for both.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port, load_average, machine_line, rss_mb, write_section

SECTION = "## Start-up (bench/startup.py)"
POLL = 0.02


def portal_command() -> list[str]:
    """The `portal` console script of this environment (else `python -m portal`)."""
    script = Path(sys.executable).parent / "portal"
    if script.exists():
        return [str(script)]
    found = shutil.which("portal")
    return [found] if found else [sys.executable, "-m", "portal"]


def answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status == 200
    except OSError:
        return False


def start(instance: Path, log: Path) -> tuple[float, float, float]:
    """Seconds from launching `portal up` until `/` answers 200, and the RSS and RssAnon
    (MB) of the serving process after that first page."""
    port = free_port()
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance), "PORTAL_SECURE_COOKIES": "false"}
    with log.open("a") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*portal_command(), "up", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            while not answers(port):
                if process.poll() is not None:
                    raise RuntimeError(f"`portal up` exited ({process.returncode}); see {log}")
                if time.perf_counter() - started > 120:
                    raise RuntimeError(f"no answer from / within 120 s; see {log}")
                time.sleep(POLL)
            elapsed = time.perf_counter() - started
            rss = rss_mb(process.pid)
            anon = rss_mb(process.pid, "RssAnon")
        finally:
            process.send_signal(signal.SIGINT)  # Ctrl+C: the indexer thread stops cleanly
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return elapsed, rss, anon


def summary(samples: list[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(samples))} / {fmt.format(max(samples))}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    load_at_start = load_average()
    fresh: list[tuple[float, float, float]] = []
    warm: list[tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        for run in range(args.runs):
            instance = Path(folder) / f"instance-{run}"
            log = Path(folder) / f"up-{run}.log"
            fresh.append(start(instance, log))
            warm.append(start(instance, log))
            print(
                f"[startup] run {run + 1}: fresh {fresh[-1][0]:.2f} s, warm {warm[-1][0]:.2f} s",
                file=sys.stderr,
                flush=True,
            )
        plan_loaded = "plan catalog loaded" in (Path(folder) / "up-0.log").read_text()
    if not plan_loaded:
        raise SystemExit("the first `portal up` did not say it loaded the plan catalog")
    times = {"fresh": [r[0] for r in fresh], "warm": [r[0] for r in warm]}
    rss = {"fresh": [r[1] for r in fresh], "warm": [r[1] for r in warm]}
    anon = {"fresh": [r[2] for r in fresh], "warm": [r[2] for r in warm]}
    rows = [
        (
            "fresh instance: migrate, load the plan catalog, index it, serve; `/` answers 200",
            summary(times["fresh"], "{:.2f} s"),
        ),
        ("warm instance (second start): `/` answers 200", summary(times["warm"], "{:.2f} s")),
        ("serving process after the first page, RSS, fresh", summary(rss["fresh"], "{:.0f} MB")),
        ("serving process after the first page, RSS, warm", summary(rss["warm"], "{:.0f} MB")),
        ("  of which its own memory (RssAnon), warm", summary(anon["warm"], "{:.0f} MB")),
    ]
    table = "\n".join(
        [
            f"| measure ({args.runs} runs each) | p50 / max |",
            "|---|---|",
            *(f"| {a} | {b} |" for a, b in rows),
        ]
    )
    section = "\n\n".join(
        [
            SECTION,
            machine_line(f"python bench/startup.py --runs {args.runs}", load_at_start),
            "From launching `portal up --port <free port>` (the console script, waitress) on "
            "a new instance folder until `GET /` answers 200, polled every 20 ms; then, after "
            "Ctrl+C, launching it again on the same folder (warm: nothing to migrate, load or "
            "index). RSS: the serving process, read right after its first page.",
            table,
        ]
    )
    print(section)
    if args.write:
        write_section(args.write, section, SECTION)


if __name__ == "__main__":
    main()
