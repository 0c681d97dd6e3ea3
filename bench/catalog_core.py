"""Catalog-core benchmark: plan load, dataset writes, export and import.

    python bench/catalog_core.py [--datasets 2000] [--write BENCHMARKS.md]

Runs on SQLite in a temporary folder, and on PostgreSQL too when DATABASE_URL names one
(in a schema of its own, dropped afterwards). Prints one table per database; with
--write, replaces this benchmark's section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app, lifecycle
from portal.catalog import Catalog
from portal.catalog.exchange import export_catalog, import_catalog
from portal.services import database, policy

SECTION = "## Catalog core (bench/catalog_core.py)"


def synthetic(i: int) -> dict[str, Any]:
    conditional = i % 3 == 0
    return {
        "name": f"bench-{i:06d}",
        "title": f"青岛市第{i}号公交线路客流统计",
        "description": "按日统计的线路客流、满载率与准点率。" * 3,
        "publisher": "qd-transport",
        "domain": "transport",
        "industry": "G",
        "zones": ["transport"],
        "open_type": "conditional" if conditional else "unconditional",
        "open_condition": "实名认证并签署《公共数据安全承诺书》" if conditional else None,
        "grade": "general2" if conditional else "general1",
        "update_frequency": "daily",
        "formats": ["csv", "api"],
        "keywords": ["公交", "客流"],
        "issued": "2024-01-01",
        "fields": [{"name": f"c{k}", "title": f"列{k}", "type": "number"} for k in range(6)],
        "resources": [
            {"name": "CSV", "kind": "file", "format": "csv", "url": f"https://a.cn/{i}.csv"},
            {"name": "接口", "kind": "api", "format": "api", "url": f"https://a.cn/api/{i}"},
        ],
    }


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


def run(url: str, instance: Path, n: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    app = create_app({"instance_path": str(instance), "database_url": url})
    started = time.perf_counter()
    lifecycle.initialize(app)
    rows.append(("migrate an empty database", f"{time.perf_counter() - started:.2f} s"))
    started = time.perf_counter()
    report = lifecycle.load_plan(app)
    elapsed = time.perf_counter() - started
    rows.append(("load the plan catalog (97 records)", f"{elapsed:.2f} s"))
    started = time.perf_counter()
    lifecycle.load_plan(app)
    rows.append(("load it again (all unchanged)", f"{time.perf_counter() - started:.2f} s"))
    assert report.changed == 97, report.describe()

    db = database(app)
    latencies = []
    with db.sessions() as session:
        catalog = Catalog(session, "bench", policy(app))
        started = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            catalog.datasets.create(synthetic(i))
            session.commit()
            latencies.append((time.perf_counter() - t0) * 1000)
        total = time.perf_counter() - started
    p50, p95, p99 = percentiles(latencies)
    rows.append((f"create {n} datasets, one transaction each", f"{n / total:,.0f} /s"))
    rows.append(("  latency p50 / p95 / p99", f"{p50:.1f} / {p95:.1f} / {p99:.1f} ms"))

    out = io.StringIO()
    with db.sessions() as session:
        started = time.perf_counter()
        lines = export_catalog(session, out)
        total = time.perf_counter() - started
    rows.append(
        (
            f"export ({lines:,} lines, {len(out.getvalue()) / 1e6:.1f} MB)",
            f"{lines / total:,.0f} lines/s",
        )
    )

    other = create_app(
        {"instance_path": str(instance / "other"), "database_url": second_url(url, instance)}
    )
    lifecycle.initialize(other)
    started = time.perf_counter()
    with database(other).transaction() as session:
        import_catalog(Catalog(session, "bench", policy(other)), io.StringIO(out.getvalue()))
    total = time.perf_counter() - started
    rows.append(("import the export into an empty instance", f"{lines / total:,.0f} lines/s"))
    rows.append(
        (
            "peak memory of this process (RSS)",
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
        )
    )
    database(other).dispose()
    db.dispose()
    return rows


_schemas: list[str] = []


def second_url(url: str, instance: Path) -> str:
    if url.startswith("sqlite"):
        return f"sqlite:///{instance / 'other.db'}"
    return new_schema_url(os.environ["DATABASE_URL"])


def new_schema_url(base: str) -> str:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    _schemas.append(schema)
    return (
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def drop_schemas(base: str) -> None:
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as connection:
        for schema in _schemas:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 1024
        / 1024
    )
    system = f"{platform.system()} {platform.release()}"
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM, {system}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=2000)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    tables = []
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite:///{folder}/bench.db")]
        base = os.environ.get("DATABASE_URL", "")
        if base.startswith("postgresql"):
            targets.append(("PostgreSQL", new_schema_url(base)))
        try:
            for label, url in targets:
                rows = run(url, Path(folder) / label, args.datasets)
                table = [f"### {label}", "", "| measure | result |", "|---|---|"]
                table += [f"| {what} | {result} |" for what, result in rows]
                tables.append("\n".join(table))
                print("\n".join(table), "\n", flush=True)
        finally:
            if base.startswith("postgresql"):
                drop_schemas(base)
    section = "\n\n".join(
        [
            SECTION,
            f"Machine: {machine()}. Run: {time.strftime('%Y-%m-%d')}, "
            f"`python bench/catalog_core.py --datasets {args.datasets}`.",
            *tables,
        ]
    )
    if args.write:
        write_section(args.write, section)


def write_section(path: Path, section: str, heading: str = SECTION) -> None:
    """Replace the section under `heading` in BENCHMARKS.md (or add it), keeping the rest."""
    existing = (
        path.read_text(encoding="utf-8")
        if path.exists()
        else "# Benchmarks\n\nProduced by the scripts in `bench/`; do not edit by hand.\n"
    )
    if heading in existing:
        before, _, rest = existing.partition(heading)
        after = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        existing = before + section + "\n\n" + after
    else:
        existing = existing.rstrip() + "\n\n" + section + "\n"
    path.write_text(existing.rstrip() + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
