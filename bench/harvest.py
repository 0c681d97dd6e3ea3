"""Harvest benchmark: end to end from a local source into SQLite and the embedded index.

    python bench/harvest.py [--records 100000] [--type-records 20000]
        [--types cnportal,dcat-ttl,data.json,csv,xlsx,ckan,plan] [--write BENCHMARKS.md]

Each source type is generated locally with realistic values and harvested into a fresh
instance, through the harvester, the pipeline, the catalog service and the outbox into the
tantivy index, as `portal harvest run` does (a follower process indexes while a large run
goes by). Reported per type: the first run (all new), the index catching up, and a second
run (all unchanged).

- cnportal: a Chinese portal export (Guizhou labels), --records of them (100k). This run
  also gives the disk use per 100k datasets and the "raw engine" figure: plain sqlite3
  inserting the same datasets' rows, a JSON column each, one transaction per 1,000.
- dcat-ttl, data.json: a DCAT-AP catalog in Turtle, a DCAT-US 1.1 data.json (`dcat`).
- csv, xlsx: the Chinese catalog template (`spreadsheet`).
- ckan: our own portal holding --type-records datasets (plan catalog + bench/search.py's
  bulk builder), served by gunicorn, harvested through its CKAN Action API (`ckan`).
- plan: the bundled plan catalog (97 records).

Each type runs in a child process of its own, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sources
from common import Gunicorn, folder_mb, load_average, machine_line, write_section

from harvesters.base import SourceRecord
from harvesters.plan import PlanHarvester
from portal import create_app, lifecycle
from portal.harvest.runner import run_harvest
from portal.harvest.sources import add_source, run_source
from portal.search.follow import IndexFollower
from portal.services import database, indexer, policy, settings

SECTION = "## Harvest (bench/harvest.py)"
DOMAINS = [
    "城建住房",
    "生活服务",
    "教育文化",
    "机构团体",
    "工业农业",
    "财税金融",
    "医疗卫生",
    "生态环境",
    "市场监管",
    "气象服务",
    "交通运输",
    "社保就业",
    "默认主题",
]
INDUSTRIES = [
    "公共管理、社会保障和社会组织",
    "卫生和社会工作",
    "农、林、牧、渔业",
    "教育",
    "交通运输、仓储和邮政业",
    "默认行业",
]
FREQUENCIES = ["实时", "每年", "不定期", "每天", "每月", "每半年", "每季度", "年", "按年更新"]
OPEN = ["无条件开放", "有条件开放", "无条件开发", "有条件"]
DISTRICTS = ["市南区", "市北区", "黄岛区", "崂山区", "李沧区"]
SUBJECTS = [
    "公交线路",
    "养老机构",
    "学校名录",
    "医院床位",
    "空气质量",
    "企业登记",
    "港口吞吐量",
    "农产品价格",
    "停车泊位",
    "噪声监测",
    "水质监测",
    "社会救助",
]


def generate(path: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    departments = [
        f"青岛市{name}局"
        for name in (
            "交通运输",
            "民政",
            "教育",
            "卫生健康",
            "生态环境",
            "农业农村",
            "市场监督管理",
            "住房和城乡建设",
        )
    ]
    records = []
    for i in range(count):
        subject = rng.choice(SUBJECTS)
        records.append(
            {
                "标题": f"{rng.choice(DISTRICTS)}{subject}数据{i}",
                "数据摘要": f"{subject}的明细数据，按月汇总，第{i}号。",
                "主题名称": rng.choice(DOMAINS),
                "数据提供方": rng.choice(departments),
                "所属行业": rng.choice(INDUSTRIES),
                "更新时间": f"2024-{rng.randint(1, 12):02d}-15",
                "发布时间": "2023-01-10",
                "开放属性": rng.choice(OPEN),
                "更新频率": rng.choice(FREQUENCIES),
                "详情页网址": f"http://data.example.gov.cn/open-data/{i:08d}",
                "数据格式": rng.sample(["json", "xls", "csv", "xml"], rng.randint(1, 3)),
            }
        )
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")


TYPES = ("cnportal", "dcat-ttl", "data.json", "csv", "xlsx", "ckan", "plan")
# type → (harvester, file name, writer)
FILES: dict[str, tuple[str, str, Callable[[Path, int], None]]] = {
    "cnportal": ("cnportal", "portal-export.json", generate),
    "dcat-ttl": ("dcat", "catalog.ttl", sources.write_turtle),
    "data.json": ("dcat", "data.json", sources.write_data_json),
    "csv": ("spreadsheet", "catalog.csv", sources.write_csv),
    "xlsx": ("spreadsheet", "catalog.xlsx", sources.write_xlsx),
}
RAW_BATCH = 1_000


def timed(action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def measure(kind: str, count: int, folder: Path) -> dict[str, Any]:
    """Harvest a generated source of `kind` twice into a fresh instance under `folder`."""
    result: dict[str, Any] = {"type": kind}
    server = None
    started = time.perf_counter()
    if kind in FILES:
        harvester, file_name, write = FILES[kind]
        url = str(folder / file_name)
        write(Path(url), count)
        result["source"] = f"{file_name}, {Path(url).stat().st_size / 1e6:,.1f} MB"
    elif kind == "ckan":
        harvester = "ckan"
        server = ckan_source(folder / "source", count)
        url = server.url
        result["source"] = f"our portal under gunicorn 2x1, {count:,} datasets"
    elif kind == "plan":
        harvester, url = "plan", "bundled"
        result["source"] = "harvesters/data/plan-2025.yaml"
    else:
        raise SystemExit(f"unknown type {kind!r}; one of {', '.join(TYPES)}")
    result["generate_s"] = time.perf_counter() - started
    try:
        app = create_app({"instance_path": str(folder / "instance"), "index_interval": 0})
        lifecycle.initialize(app)
        if kind == "ckan":
            add_zones(app)  # the zones the source's datasets name must exist
        with database(app).transaction() as session:
            if kind == "plan":
                lifecycle.ensure_plan_source(session)
            else:
                add_source(
                    session, name="bench", type=harvester, url=url, options={"prefix": "bench"}
                )
        name = "plan" if kind == "plan" else "bench"
        # As `portal harvest run` does it: a follower process indexes while the run goes.
        started = time.perf_counter()
        with IndexFollower(settings(app)) as follower:
            first = run_source(
                database(app), name, policy=policy(app), progress=lambda _: follower.advance()
            )
            harvest_seconds = time.perf_counter() - started
        tail_seconds = time.perf_counter() - started - harvest_seconds
        leftover = indexer(app).drain()  # 0 unless the follower fell behind or never ran
        total = time.perf_counter() - started
        if first.status != "finished":
            raise RuntimeError(f"{kind}: the first run failed: {first.error}")
        counts = first.report.counts
        result.update(
            records=sum(counts.values()),
            datasets=sum(n for k, n in counts.items() if k.startswith("dataset.")),
            added=counts.get("dataset.added", 0),
            failed=len(first.report.failures),
            failures=first.report.describe()[-2000:] if first.report.failures else "",
            harvest_s=harvest_seconds,
            tail_s=tail_seconds,
            leftover=leftover,
            total_s=total,
            follower=follower.started,
        )
        if kind == "cnportal":
            result["disk"] = disk_use(app, folder / "instance")
        second, again_seconds = timed(lambda: run_source(database(app), name, policy=policy(app)))
        if second.status != "finished":
            raise RuntimeError(f"{kind}: the second run failed: {second.error}")
        result.update(
            unchanged=second.report.counts.get("dataset.unchanged", 0),
            again_s=again_seconds,
            failed_again=len(second.report.failures),
            peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
        database(app).dispose()
        if kind == "cnportal":
            result["raw"] = raw_sqlite(folder / "instance" / "portal.db", folder / "raw.db")
    finally:
        if server is not None:
            server.stop()
    return result


def ckan_source(instance: Path, count: int) -> Gunicorn:
    """Our own portal holding `count` datasets (the plan catalog, then bench/search.py's
    bulk builder), all of them public, served by gunicorn."""
    from search import build

    app = create_app({"instance_path": str(instance), "index_interval": 0})
    build(app, count)
    with database(app).engine.begin() as connection:
        # Every dataset visible to an anonymous CKAN client, so all `count` are harvested.
        connection.execute(text("UPDATE datasets SET metadata_public = 1"))
        # bench/search.py's generator can date `modified` before `issued` (issued in
        # December 2025, modified capped at 2025-11-30); the profile refuses such records.
        connection.execute(text("UPDATE datasets SET modified = issued WHERE modified < issued"))
    database(app).dispose()
    return Gunicorn(instance, 2, 1, env={"PORTAL_INDEX_INTERVAL": "0"})


class PlanZones:
    """The plan catalog's zones (and their scenarios) only."""

    name = "plan-zones"

    def records(self) -> Iterator[SourceRecord]:
        return (r for r in PlanHarvester().records() if r.kind == "zone")


def add_zones(app: Any) -> None:
    report = run_harvest(database(app), PlanZones(), actor="bench", policy=policy(app))
    if report.failures:
        raise RuntimeError(report.describe())


def disk_use(app: Any, instance: Path) -> dict[str, float]:
    """The database file (WAL checkpointed into it) and the search index, in MB."""
    database(app).dispose()
    connection = sqlite3.connect(instance / "portal.db")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    db_files = [instance / f"portal.db{suffix}" for suffix in ("", "-wal", "-shm")]
    with database(app).sessions() as session:
        datasets = session.scalar(text("SELECT count(*) FROM datasets")) or 0
    connection = sqlite3.connect(instance / "portal.db")
    tables = connection.execute(  # each table with its indexes
        "SELECT s.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema s ON s.name = d.name "
        "GROUP BY s.tbl_name ORDER BY 2 DESC"
    ).fetchall()
    columns = [row[1] for row in connection.execute("PRAGMA table_info(datasets)")]
    widths = connection.execute(
        "SELECT "
        + ", ".join(f"coalesce(sum(length(CAST({c} AS BLOB))), 0)" for c in columns)
        + " FROM datasets"
    ).fetchone()
    connection.close()
    widest = max(zip(widths, columns, strict=True))
    return {
        "widest_column": (widest[1], widest[0] / 1e6, widest[0] / sum(widths)),
        "datasets": datasets,
        "db_mb": sum(p.stat().st_size for p in db_files if p.exists()) / 1e6,
        "index_mb": folder_mb(instance / "search"),
        "tables": [(name, size / 1e6) for name, size in tables],
    }


def _json_or_text(value: Any) -> Any:
    """A JSON column's value as the object it holds (so the document nests it)."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def raw_sqlite(portal_db: Path, target: Path) -> dict[str, float]:
    """Plain sqlite3 inserting the harvested datasets' rows (the whole row as a JSON column,
    plus the columns one looks up by), executemany, one transaction per RAW_BATCH rows, with
    the portal's pragmas (WAL, synchronous=NORMAL). JSON encoding is inside the timing."""
    source = sqlite3.connect(portal_db)
    source.row_factory = sqlite3.Row
    rows = [
        {key: _json_or_text(value) for key, value in zip(r.keys(), r, strict=True)}
        for r in source.execute("SELECT * FROM datasets ORDER BY rowid")
    ]
    source.close()
    connection = sqlite3.connect(target)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE datasets (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
        "title TEXT NOT NULL, publisher_id TEXT, state TEXT NOT NULL, doc JSON NOT NULL)"
    )
    started = time.perf_counter()
    for start in range(0, len(rows), RAW_BATCH):
        values = [
            (
                r["id"],
                r["name"],
                r["title"],
                r["publisher_id"],
                r["state"],
                json.dumps(r, ensure_ascii=False, default=str),
            )
            for r in rows[start : start + RAW_BATCH]
        ]
        with connection:  # one transaction
            connection.executemany("INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?)", values)
    elapsed = time.perf_counter() - started
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return {"rows": len(rows), "seconds": elapsed, "mb": target.stat().st_size / 1e6}


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def cnportal_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """The 100k cnportal run, as this benchmark has always reported it."""
    count = r["datasets"]
    return [
        (
            f"first run: {r['added']:,} added, {count - r['added']:,} not added "
            "(indexed meanwhile)",
            f"{count / r['harvest_s']:,.0f} records/s ({r['harvest_s']:.1f} s)",
        ),
        (
            "index caught up after the run ended",
            f"{r['tail_s']:.1f} s (+ {r['leftover']} events left to the final drain)",
        ),
        ("end to end, source → database → index", f"{count / r['total_s']:,.0f} datasets/s"),
        (f"second run: {r['unchanged']:,} unchanged", f"{count / r['again_s']:,.0f} records/s"),
        ("peak memory (RSS)", f"{r['peak_rss']:.0f} MB"),
    ]


def others(r: dict[str, Any]) -> str:
    extra = r["records"] - r["datasets"]
    if not extra:
        return ""
    kinds = "organizations and zones" if r["type"] == "plan" else "organizations"
    return f" (+ {extra:,} {kinds})"


def types_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| type | source | datasets | first run | datasets/s | end to end, indexed | "
        "second run (unchanged) | failed (1st / 2nd) | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        n = r["datasets"]
        lines.append(
            f"| {r['type']} | {r['source']} | {n:,}{others(r)} | {r['harvest_s']:.1f} s "
            f"| {n / r['harvest_s']:,.0f} | {n / r['total_s']:,.0f} /s "
            f"| {n / r['again_s']:,.0f} /s ({r['again_s']:.1f} s) "
            f"| {r['failed']} / {r['failed_again']} | {r['peak_rss']:,.0f} MB |"
        )
    return "\n".join(lines)


def raw_table(r: dict[str, Any]) -> str:
    raw = r["raw"]
    raw_rate = raw["rows"] / raw["seconds"]
    ours = r["datasets"] / r["harvest_s"]
    return "\n".join(
        [
            "| measure | result |",
            "|---|---|",
            f"| plain sqlite3: {raw['rows']:,} rows, executemany, a transaction per "
            f"{RAW_BATCH:,} | {raw_rate:,.0f} rows/s ({raw['seconds']:.1f} s, "
            f"{raw['mb']:,.0f} MB) |",
            f"| our harvest, first run (cnportal, same datasets) | {ours:,.0f} datasets/s |",
            f"| our harvest ÷ plain SQLite | {ours / raw_rate:.1%} "
            f"(plain SQLite is {raw_rate / ours:,.0f}× faster) |",
        ]
    )


def disk_table(r: dict[str, Any]) -> str:
    disk = r["disk"]
    scale = 100_000 / disk["datasets"]
    column, mb, share = disk["widest_column"]
    return "\n".join(
        [
            "| measure | measured | per 100k datasets |",
            "|---|---|---|",
            f"| database file `portal.db` (WAL checkpointed), {disk['datasets']:,} datasets "
            f"| {disk['db_mb']:,.0f} MB | {disk['db_mb'] * scale:,.0f} MB |",
            f"| search index `search/` (tantivy) | {disk['index_mb']:,.0f} MB "
            f"| {disk['index_mb'] * scale:,.0f} MB |",
            f"| together | {disk['db_mb'] + disk['index_mb']:,.0f} MB "
            f"| {(disk['db_mb'] + disk['index_mb']) * scale:,.0f} MB |",
            *(
                f"|   table `{name}` with its indexes | {mb:,.0f} MB | {mb * scale:,.0f} MB |"
                for name, mb in disk["tables"][:5]
            ),
            f"|   the widest column of `datasets`, `{column}` (bytes stored; {share:.0%} of the "
            f"table's data) | {mb:,.0f} MB | {mb * scale:,.0f} MB |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000, help="cnportal records")
    parser.add_argument(
        "--type-records", type=int, default=20_000, help="records of the other generated types"
    )
    parser.add_argument("--types", default=",".join(TYPES))
    parser.add_argument("--write", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        count = args.records if args.child == "cnportal" else args.type_records
        with tempfile.TemporaryDirectory(prefix="bench-harvest-") as folder:
            result = measure(args.child, count, Path(folder))
        args.out.write_text(json.dumps(result))
        return

    load_at_start = load_average()
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    unknown = set(types) - set(TYPES)
    if unknown:
        parser.error(f"unknown types {sorted(unknown)}; choose from {', '.join(TYPES)}")
    results = []
    for kind in types:
        print(f"[harvest] {kind} …", file=sys.stderr, flush=True)
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, *sys.argv[1:], "--child", kind, "--out", out.name]
            subprocess.run(command, check=True)
            result = json.loads(Path(out.name).read_text())
        if result["failures"]:
            print(f"[harvest] {kind}: failures\n{result['failures']}", file=sys.stderr)
        results.append(result)
    cnportal = next((r for r in results if r["type"] == "cnportal"), None)

    parts = [
        SECTION,
        machine_line(
            f"python bench/harvest.py --records {args.records} --type-records "
            f"{args.type_records} --types {','.join(types)}",
            load_at_start,
        ),
    ]
    if cnportal:
        rows = cnportal_rows(cnportal)
        parts += [
            f"### cnportal, {cnportal['datasets']:,} records",
            "A Chinese portal export; the first run is indexed while it goes by a follower "
            "process, as `portal harvest run` does. Target: end to end >= 2,000 datasets/s.",
            "\n".join(["| measure | result |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]),
        ]
    parts += [
        "### Per source type",
        "Each type: a generated local source harvested into a fresh SQLite instance, then "
        "again (all unchanged). *first run* is the harvest (a follower process indexing "
        "meanwhile, as `portal harvest run` does past 5,000 records); *end to end, indexed* "
        "adds the index catching up. Rates count datasets (organizations and zones come "
        "along). ckan: our own portal (plan catalog + bench/search.py's bulk builder, every "
        "dataset public) served by gunicorn (2 workers) on the same 2 cores, read through "
        "its CKAN Action API (`package_search`, 100 rows a page) by the `ckan` harvester "
        "into an instance holding the plan's zones (the datasets name them). "
        "dcat-ttl: a DCAT-AP catalog in Turtle; data.json: DCAT-US 1.1; csv / xlsx: the "
        "Chinese catalog template (数据目录 sheet).",
        types_table(results),
    ]
    if cnportal:
        parts += [
            "### Raw engine: plain SQLite",
            f"The datasets of the cnportal run, read back from its database and inserted by "
            f"Python's sqlite3 into a table with a JSON column (the whole row), executemany, "
            f"one transaction per {RAW_BATCH:,} rows, WAL and synchronous=NORMAL as the "
            f"portal; JSON encoding included. The harvest does much more per dataset "
            f"(mapping, validation, quality score, revision, outbox event, harvest record).",
            raw_table(cnportal),
            "### Disk per 100k datasets",
            "After the cnportal run above (its index caught up), before the second run; the "
            "database holds the datasets, their revisions and resources, and the job's "
            "per-record report.",
            disk_table(cnportal),
        ]
    section = "\n\n".join(parts)
    print(section)
    if args.write:
        write_section(args.write, section, SECTION)


if __name__ == "__main__":
    main()
