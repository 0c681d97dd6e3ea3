"""Mixed-load benchmark: the public's requests against gunicorn while a harvest writes.

    python bench/load.py [--minutes 10] [--size 100000] [--write BENCHMARKS.md]

An instance with the plan catalog and --size generated datasets (bench/search.py's bulk
builder, then `reindex`) is served by gunicorn (2 workers × 1 thread, bench/search.py's
best configuration; rate limits off, since all requests come from one address; the
workers' indexer threads on, as in production) and driven by wrk with a Lua script that
mixes:

    50%  GET /api/v1/search?q=<term>             20%  GET /dataset/<name>
    15%  GET /api/v1/datasets/<name>              5%  GET /
     5%  GET /search?q=<term>                     5%  GET /api/3/action/package_search?q=<term>

(terms: bench/search.py's short words, phrases, two-word and Latin queries; names: datasets
the public may see). The script counts every response that is not 2xx/3xx, by status, and
keeps the first bodies.

1. Steps: wrk with 1, 4, 8, 16, 32 connections, 20 s each; the chosen setting is the one
   with the highest throughput whose errors (non-2xx/3xx and socket errors) are 0 and whose
   p99 is under 1 s (wrk2's fixed rates are not available).
2. The long run: --minutes at that setting; --harvest-delay seconds in, `portal harvest run`
   of a --harvest-records cnportal source (bench/harvest.py's generator) starts against the
   same instance. Reported: requests/s, p50/p95/p99, errors, per-kind server times (from
   gunicorn's access log) during and outside the harvest, the harvest's rate while loaded,
   and the workers' memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    Gunicorn,
    children,
    load_average,
    machine_line,
    percentiles,
    rss_mb,
    write_section,
)
from harvest import generate
from search import LATIN, PHRASES, SHORT, TWO_WORDS, build

from portal import create_app
from portal.services import database, indexer

SECTION = "## Mixed load (bench/load.py)"
KINDS = [
    ("search API", "/api/v1/search", 50),
    ("dataset page", "/dataset/", 20),
    ("dataset API", "/api/v1/datasets/", 15),
    ("home page", "/", 5),
    ("search page", "/search", 5),
    ("CKAN package_search", "/api/3/action/package_search", 5),
]
MAX_P99_MS = 1000.0

LUA = r"""
local terms, names = {}, {}
for line in io.lines(os.getenv("LOAD_TERMS")) do terms[#terms + 1] = line end
for line in io.lines(os.getenv("LOAD_NAMES")) do names[#names + 1] = line end
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(id * 7919 + os.time())
  kinds = {0, 0, 0, 0, 0, 0}
  bad, codes, samples, kept = 0, "", "", 0
end

local function term() return terms[math.random(#terms)] end
local function name() return names[math.random(#names)] end

function request()
  local r = math.random(100)
  local path
  if r <= 50 then k = 1; path = "/api/v1/search?q=" .. term()
  elseif r <= 70 then k = 2; path = "/dataset/" .. name()
  elseif r <= 85 then k = 3; path = "/api/v1/datasets/" .. name()
  elseif r <= 90 then k = 4; path = "/"
  elseif r <= 95 then k = 5; path = "/search?q=" .. term()
  else k = 6; path = "/api/3/action/package_search?q=" .. term() end
  kinds[k] = kinds[k] + 1
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status < 200 or status >= 400 then
    bad = bad + 1
    codes = codes .. status .. " "
    if kept < 3 then
      kept = kept + 1
      samples = samples .. "SAMPLE " .. status .. " "
        .. string.gsub(string.sub(body or "", 1, 400), "\n", " ") .. "\n"
    end
  end
end

function done(summary, latency, requests)
  local bad, codes, samples = 0, "", ""
  local kinds = {0, 0, 0, 0, 0, 0}
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
    codes = codes .. t:get("codes")
    samples = samples .. t:get("samples")
    local tk = t:get("kinds")
    for i = 1, 6 do kinds[i] = kinds[i] + tk[i] end
  end
  local e = summary.errors
  io.write(string.format("LOAD %d %d %d %d %d %d %d %d %d %d %d %d\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, e.status, e.connect, e.read, e.write, e.timeout, bad))
  io.write("KINDS " .. table.concat(kinds, " ") .. "\n")
  io.write("CODES " .. codes .. "\n")
  io.write(samples)
end
"""


def log(text: str) -> None:
    print(f"[load] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# The instance
# --------------------------------------------------------------------------------------
def make_instance(folder: Path, size: int) -> dict[str, Any]:
    """The plan catalog plus `size` generated datasets, indexed."""
    instance = folder / "instance"
    app = create_app({"instance_path": str(instance), "index_interval": 0})
    started = time.perf_counter()
    total, _ = build(app, size + 73)  # build counts the plan's 73 datasets in
    built = time.perf_counter() - started
    started = time.perf_counter()
    indexed = indexer(app).reindex()
    reindexed = time.perf_counter() - started
    database(app).dispose()
    log(f"built {total:,} datasets in {built:.0f} s, indexed {indexed:,} in {reindexed:.0f} s")
    return {"instance": instance, "datasets": total, "build_s": built, "reindex_s": reindexed}


def write_lists(folder: Path, instance: Path) -> tuple[Path, Path, int]:
    """URL-encoded search terms, and names of datasets the public may see."""
    terms = folder / "terms.txt"
    words = [*SHORT, *PHRASES, *TWO_WORDS, *LATIN]
    terms.write_text("\n".join(urllib.parse.quote(w) for w in words) + "\n")
    connection = sqlite3.connect(instance / "portal.db")
    visible = [
        n
        for (n,) in connection.execute(
            "SELECT name FROM datasets WHERE state = 'active' AND metadata_public = 1 "
            "ORDER BY random() LIMIT 20000"
        )
    ]
    connection.close()
    names = folder / "names.txt"
    names.write_text("\n".join(visible) + "\n")
    return terms, names, len(visible)


# --------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------
def drive(
    url: str, script: Path, lists: tuple[Path, Path], connections: int, seconds: int
) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(connections, 2)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        env={**os.environ, "LOAD_TERMS": str(lists[0]), "LOAD_NAMES": str(lists[1])},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.splitlines()
    figures = next(ln for ln in lines if ln.startswith("LOAD ")).split()[1:]
    n, micros, p50, p95, p99, top, status, conn, read, write, timeout, bad = map(int, figures)
    kinds = [int(v) for v in next(ln for ln in lines if ln.startswith("KINDS ")).split()[1:]]
    codes = next(ln for ln in lines if ln.startswith("CODES ")).split()[1:]
    return {
        "connections": connections,
        "seconds": micros / 1e6,
        "requests": n,
        "rps": n / (micros / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "max": top / 1000,
        "bad": bad,  # non-2xx/3xx, counted by our response() hook
        "status_errors": status,  # wrk's own count (>= 400)
        "socket_errors": conn + read + write + timeout,
        "socket_detail": f"connect {conn}, read {read}, write {write}, timeout {timeout}",
        "kinds": kinds,
        "codes": {c: codes.count(c) for c in sorted(set(codes))},
        "samples": [ln[len("SAMPLE ") :] for ln in lines if ln.startswith("SAMPLE ")],
    }


def clean(step: dict[str, Any]) -> bool:
    return (
        step["bad"] == 0
        and step["status_errors"] == 0
        and step["socket_errors"] == 0
        and step["p99"] < MAX_P99_MS
    )


# --------------------------------------------------------------------------------------
# The harvest alongside
# --------------------------------------------------------------------------------------
def portal_cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(instance)}
    return subprocess.run(
        [sys.executable, "-m", "portal", *args], env=env, capture_output=True, text=True
    )


class Harvest(threading.Thread):
    """`portal harvest run load`, started `delay` seconds from now; run again (it resumes:
    records are matched by name) if it fails, up to `attempts` times, as an operator would."""

    def __init__(self, instance: Path, delay: float, attempts: int) -> None:
        super().__init__(daemon=True)
        self.instance, self.delay, self.attempts = instance, delay, attempts
        self.started_at = self.ended_at = 0.0
        self.runs: list[dict[str, Any]] = []

    def run(self) -> None:
        time.sleep(self.delay)
        self.started_at = time.time()
        for _ in range(self.attempts):
            started = time.time()
            done = portal_cli(self.instance, "harvest", "run", "load")
            self.runs.append(
                {
                    "exit": done.returncode,
                    "wall_s": time.time() - started,
                    "stderr": done.stderr,
                    **last_job(self.instance),
                }
            )
            if done.returncode == 0:
                break
        self.ended_at = time.time()


def last_job(instance: Path) -> dict[str, Any]:
    connection = sqlite3.connect(instance / "portal.db")
    started, finished, status, counts, error = connection.execute(
        "SELECT started_at, finished_at, status, counts, error FROM harvest_jobs "
        "ORDER BY id DESC LIMIT 1"
    ).fetchone()
    connection.close()
    seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    return {
        "seconds": seconds,
        "status": status,
        "counts": json.loads(counts or "{}"),
        "error": error,
    }


# --------------------------------------------------------------------------------------
# The access log: server-side times per kind, during and outside the harvest
# --------------------------------------------------------------------------------------
ACCESS_FORMAT = '%(t)s %(s)s %(L)s "%(U)s"'
ACCESS_LINE = re.compile(r'^\[([^\]]+)\] (\d{3}) ([\d.]+) "([^"]*)"')


def kind_of(path: str) -> str:
    for label, prefix, _ in KINDS:
        if (path == "/" and prefix == "/") or (prefix != "/" and path.startswith(prefix)):
            return label
    return "other"


def access_times(
    log_file: Path, offset: int, window: tuple[float, float]
) -> tuple[dict[str, dict[str, list[float]]], list[str]]:
    """{kind: {"harvest": [ms], "quiet": [ms]}} for the lines after `offset`, and every line
    whose status is not 2xx/3xx."""
    times: dict[str, dict[str, list[float]]] = {}
    errors = []
    with log_file.open("rb") as f:
        f.seek(offset)
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            match = ACCESS_LINE.match(line)
            if not match:
                continue
            stamp, status, seconds, path = match.groups()
            at = datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").timestamp()
            phase = "harvest" if window[0] - 1 <= at <= window[1] + 1 else "quiet"
            times.setdefault(kind_of(path), {"harvest": [], "quiet": []})[phase].append(
                float(seconds) * 1000
            )
            if not 200 <= int(status) < 400:
                errors.append(line)
    return times, errors


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def step_table(steps: list[dict[str, Any]], chosen: int) -> str:
    lines = [
        "| connections | requests | requests/s | p50 | p95 | p99 | max | non-2xx/3xx "
        "| socket errors | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        mark = "**chosen**" if s["connections"] == chosen else ""
        lines.append(
            f"| {s['connections']} | {s['requests']:,} | {s['rps']:,.1f} | {s['p50']:.1f} ms "
            f"| {s['p95']:.1f} ms | {s['p99']:.1f} ms | {s['max']:.0f} ms | {s['bad']} "
            f"| {s['socket_errors']} | {mark} |"
        )
    return "\n".join(lines)


def ms3(samples: list[float]) -> str:
    if not samples:
        return "–"
    p50, p95, p99 = percentiles(samples)
    return f"{p50:.0f} / {p95:.0f} / {p99:.0f}"


def kinds_table(run: dict[str, Any], times: dict[str, dict[str, list[float]]]) -> str:
    total = sum(run["kinds"]) or 1
    lines = [
        "| request | share sent | server time p50 / p95 / p99 (ms), during the harvest "
        "| the rest of the run |",
        "|---|---|---|---|",
    ]
    for (label, prefix, _), sent in zip(KINDS, run["kinds"], strict=True):
        t = times.get(label, {"harvest": [], "quiet": []})
        lines.append(
            f"| {label} (`{prefix}`) | {sent / total:.0%} | {ms3(t['harvest'])} "
            f"({len(t['harvest']):,}) | {ms3(t['quiet'])} ({len(t['quiet']):,}) |"
        )
    return "\n".join(lines)


def harvest_summary(harvest: Harvest, n: int) -> str:
    runs = harvest.runs
    wall = harvest.ended_at - harvest.started_at
    ok = bool(runs) and runs[-1]["exit"] == 0
    head = (
        f"{'finished' if ok else 'FAILED'} after {len(runs)} attempt(s): {n / wall:,.0f} "
        f"records/s over {wall:.1f} s (the commands, start to end)"
    )
    if len(runs) == 1 and ok:
        job = runs[0]
        return (
            f"{head}; the job itself {job['seconds']:.1f} s ({n / job['seconds']:,.0f} "
            f"records/s; {outcomes(job)})"
        )
    details = [
        f"attempt {i}: exit {r['exit']} after {r['wall_s']:.1f} s, job {r['status']} "
        f"({outcomes(r)})" + (f", error `{first_line(r['error'])}`" if r["error"] else "")
        for i, r in enumerate(runs, 1)
    ]
    return f"{head}; " + "; ".join(details)


def first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""


def outcomes(job: dict[str, Any]) -> str:
    counts = job["counts"]
    return ", ".join(f"{n:,} {key}" for key, n in sorted(counts.items())) or "no counts"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--size", type=int, default=100_000, help="generated datasets")
    parser.add_argument("--harvest-records", type=int, default=20_000)
    parser.add_argument("--harvest-delay", type=float, default=10, help="seconds into the run")
    parser.add_argument(
        "--harvest-attempts", type=int, default=3, help="run the harvest again if it fails"
    )
    parser.add_argument("--steps", default="1,4,8,16,32", help="wrk connection counts")
    parser.add_argument("--step-seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    load_at_start = load_average()

    with tempfile.TemporaryDirectory(prefix="bench-load-") as name:
        folder = Path(name)
        built = make_instance(folder, args.size)
        instance = built["instance"]
        terms, names, visible = write_lists(folder, instance)
        source = folder / "load-export.json"
        generate(source, args.harvest_records, seed=23)
        added = portal_cli(
            instance,
            *("harvest", "add", "load", "--type", "cnportal", "--url", str(source)),
            *("--option", "prefix=load"),
        )
        if added.returncode:
            raise SystemExit(added.stderr)
        script = folder / "mix.lua"
        script.write_text(LUA)
        access_log = folder / "access.log"
        server = Gunicorn(
            instance,
            args.workers,
            args.threads,
            args=["--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT],
        )
        try:
            lists = (terms, names)
            drive(server.url, script, lists, 8, 5)  # warm the workers up
            steps = []
            for connections in (int(c) for c in args.steps.split(",")):
                step = drive(server.url, script, lists, connections, args.step_seconds)
                steps.append(step)
                log(
                    f"c={connections}: {step['rps']:.1f}/s p99 {step['p99']:.0f} ms "
                    f"errors {step['bad']}+{step['socket_errors']} {step['codes']}"
                )
            good = [s for s in steps if clean(s)]
            if not good:
                raise SystemExit("no step ran without errors and with p99 < 1 s")
            chosen = max(good, key=lambda s: s["rps"])["connections"]

            seconds = round(args.minutes * 60)
            log(f"long run: {chosen} connections for {seconds} s")
            offset = access_log.stat().st_size
            rss: dict[int, float] = {}
            anon: dict[int, float] = {}
            loads: list[float] = []
            harvest = Harvest(instance, args.harvest_delay, args.harvest_attempts)
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(5):
                    for pid in children(server.process.pid):
                        rss[pid] = max(rss.get(pid, 0.0), rss_mb(pid))
                        anon[pid] = max(anon.get(pid, 0.0), rss_mb(pid, "RssAnon"))
                    loads.append(os.getloadavg()[0])

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            harvest.start()
            run = drive(server.url, script, lists, chosen, seconds)
            harvest.join()
            stop.set()
            sampler.join()
            final_rss = server.worker_rss()
            final_anon = server.worker_rss("RssAnon")
        finally:
            server.stop()
        times, logged_errors = access_times(
            access_log, offset, (harvest.started_at, harvest.ended_at)
        )
    for number, attempt in enumerate(harvest.runs, 1):
        if attempt["exit"]:
            kept = Path(tempfile.gettempdir()) / f"bench-load-harvest-{number}.log"
            kept.write_text(attempt["stderr"])
            log(f"harvest attempt {number}: exit {attempt['exit']}, output in {kept}")

    n = args.harvest_records
    rows = [
        ("wrk connections (threads)", f"{chosen} ({min(chosen, 2)})"),
        ("duration", f"{run['seconds'] / 60:.1f} min"),
        ("requests", f"{run['requests']:,}"),
        ("requests/s", f"{run['rps']:,.1f}"),
        ("latency p50 / p95 / p99 / max (wrk)", (
            f"{run['p50']:.1f} / {run['p95']:.1f} / {run['p99']:.1f} / {run['max']:.0f} ms"
        )),
        ("responses not 2xx/3xx", f"{run['bad']}" + (f" {run['codes']}" if run["bad"] else "")),
        ("socket errors", f"{run['socket_errors']} ({run['socket_detail']})"),
        (
            f"harvest alongside: `portal harvest run` of {n:,} cnportal records, started "
            f"{args.harvest_delay:.0f} s into the run",
            harvest_summary(harvest, n),
        ),
        ("gunicorn workers, RSS: largest during the run / each at the end", (
            f"{max(rss.values(), default=0):,.0f} MB / "
            + ", ".join(f"{m:,.0f} MB" for m in final_rss)
        )),
        ("  of which the worker's own memory (RssAnon; the rest is the mapped database "
         "and index files)", (
            f"{max(anon.values(), default=0):,.0f} MB / "
            + ", ".join(f"{m:,.0f} MB" for m in final_anon)
        )),
        ("1-min load average during the run (this benchmark included), mean / max", (
            f"{sum(loads) / max(len(loads), 1):.1f} / {max(loads, default=0):.1f}"
        )),
    ]  # fmt: skip
    table = "\n".join(["| measure | result |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])
    parts = [
        SECTION,
        machine_line(
            f"python bench/load.py --minutes {args.minutes:g} --size {args.size} "
            f"--harvest-records {args.harvest_records} --steps {args.steps} "
            f"--step-seconds {args.step_seconds} --workers {args.workers} "
            f"--threads {args.threads}",
            load_at_start,
        ),
        f"Instance: the plan catalog + {args.size:,} generated datasets "
        f"({built['datasets']:,} in all; bench/search.py's bulk builder, then `reindex`: "
        f"{built['build_s']:.0f} s + {built['reindex_s']:.0f} s), SQLite and tantivy. "
        f"Served by gunicorn, {args.workers} workers × {args.threads} thread, on the same 2 "
        "cores as wrk and the harvest; rate limits off (one client address), the workers' "
        "indexer threads on (1 s), access log on. The mix, drawn at random per request: "
        + ", ".join(f"{share}% `{prefix}`" for _, prefix, share in KINDS)
        + f" (terms: {len(SHORT) + len(PHRASES) + len(TWO_WORDS) + len(LATIN)} words, "
        f"phrases and Latin terms of bench/search.py; names: {visible:,} datasets the public "
        "may see). Errors are counted by the script's `response()` hook (any status outside "
        "2xx/3xx) and by wrk (socket errors, 10 s timeout).",
        "### Finding the rate",
        f"wrk, {args.step_seconds} s per step after a 5 s warm-up; chosen: the highest "
        f"throughput with no errors and p99 < {MAX_P99_MS:,.0f} ms.",
        step_table(steps, chosen),
        f"### {args.minutes:g} minutes at {chosen} connections, harvest alongside",
        table,
        "Server time per request kind (gunicorn's access log, request time; the count in "
        "brackets), while the harvest ran and for the rest of the run:",
        kinds_table(run, times),
    ]
    failed = [r for r in harvest.runs if r["exit"]]
    if failed:
        parts += [
            "The harvest's failed attempts (the job's error, its first 300 characters):",
            "```\n" + "\n".join(f"{(r['error'] or r['stderr'])[:300]}" for r in failed) + "\n```",
        ]
    if run["samples"] or logged_errors:
        parts += [
            "Responses that were not 2xx/3xx (first bodies seen by wrk; access-log lines):",
            "```\n" + "\n".join(run["samples"] + logged_errors[:20]) + "\n```",
        ]
    section = "\n\n".join(parts)
    print(section)
    if args.write:
        write_section(args.write, section, SECTION)


if __name__ == "__main__":
    main()
