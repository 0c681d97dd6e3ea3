"""Harvest benchmark: end to end from a local source into SQLite and the embedded index.

    python bench/harvest.py [--records 100000] [--write BENCHMARKS.md]

The source is a Chinese portal export (the `cnportal` type, Guizhou labels) generated with
realistic values; the run goes through the harvester, the pipeline, the catalog service
and the outbox into the tantivy index, as `portal harvest run` does. The first run (all new) is
indexed while it goes by a follower process, as `portal harvest run` does; reported: its
rate, how long the index took to catch up after it, end to end, and a second run (all
unchanged).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

from portal import create_app, lifecycle
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


def timed(action):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def run(count: int) -> list[tuple[str, str]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "portal-export.json"
        generate(source, count)
        app = create_app({"instance_path": f"{folder}/instance", "index_interval": 0})
        lifecycle.initialize(app)
        with database(app).transaction() as session:
            add_source(
                session, name="bench", type="cnportal", url=str(source), options={"prefix": "bench"}
            )
        # As `portal harvest run` does it: a follower process indexes while the run goes.
        started = time.perf_counter()
        with IndexFollower(settings(app)) as follower:
            first = run_source(
                database(app), "bench", policy=policy(app), progress=lambda _: follower.advance()
            )
            harvest_seconds = time.perf_counter() - started
        tail_seconds = time.perf_counter() - started - harvest_seconds
        leftover = indexer(app).drain()  # 0 unless the follower fell behind or never ran
        total = time.perf_counter() - started
        added = first.report.counts.get("dataset.added", 0)
        rows.append(
            (
                f"first run: {added:,} added, {count - added:,} not added (indexed meanwhile)",
                f"{count / harvest_seconds:,.0f} records/s ({harvest_seconds:.1f} s)",
            )
        )
        rows.append(
            (
                "index caught up after the run ended",
                f"{tail_seconds:.1f} s (+ {leftover} events left to the final drain)",
            )
        )
        rows.append(("end to end, source → database → index", f"{count / total:,.0f} datasets/s"))
        second, again_seconds = timed(
            lambda: run_source(database(app), "bench", policy=policy(app))
        )
        unchanged = second.report.counts.get("dataset.unchanged", 0)
        rows.append(
            (f"second run: {unchanged:,} unchanged", f"{count / again_seconds:,.0f} records/s")
        )
        rows.append(
            (
                "peak memory (RSS)",
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
            )
        )
        database(app).dispose()
    return rows


def main() -> None:
    from catalog_core import machine, write_section  # the same machine line and writer

    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows = run(args.records)
    table = "\n".join(["| measure | result |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])
    print(table)
    section = "\n\n".join(
        [
            SECTION,
            f"Machine: {machine()}. Run: {time.strftime('%Y-%m-%d')}, "
            f"`python bench/harvest.py --records {args.records}`. "
            "Target: end to end >= 2,000 datasets/s.",
            table,
        ]
    )
    if args.write:
        write_section(args.write, section, SECTION)


if __name__ == "__main__":
    main()
