"""Search benchmark: reindex, in-process search and suggestions, search over HTTP.

    python bench/search.py [--sizes 10000,100000,1000000] [--write BENCHMARKS.md]

For each size, a fresh SQLite instance in a temporary folder is migrated, gets the plan
catalog (through the catalog service), and is filled up to the size with realistic
generated datasets. Those are inserted directly with SQLAlchemy Core bulk inserts (going
through the catalog service would take an hour for 1M), so the build time is not a
headline figure. Then: `reindex()`; a fixed, seeded query mix through `portal.search.search`
(engine + database join + highlights + facet labels) and through the engine alone;
suggestions; the same mix over HTTP against gunicorn, driven by wrk (a Python thread pool
with keep-alive connections when wrk is not installed). Each size runs in a child process
of its own, so its peak memory is its own. With --write, replaces this benchmark's section
of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, insert, select
from werkzeug.datastructures import MultiDict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Gunicorn, folder_mb, load_average, machine_line, percentiles

from portal import create_app, lifecycle
from portal.models import Dataset, Organization
from portal.models.catalog import dataset_zones
from portal.search import PUBLIC, search, suggest
from portal.search.params import parse
from portal.search.service import effective
from portal.services import database, indexer, search_backend
from schemas import load_policy, vocab

SECTION = "## Search (bench/search.py)"
ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "harvesters" / "data" / "plan-2025.yaml"
SEED = 20251123
# The targets: (size, measure) -> (limit, unit, "max" | "min").
TARGETS = {
    (100_000, "inproc_p95"): (15.0, "ms", "max"),
    (100_000, "http8_p95"): (40.0, "ms", "max"),
    (100_000, "reindex_rate"): (5000.0, "/s", "min"),
    (1_000_000, "inproc_p95"): (60.0, "ms", "max"),
}

# --------------------------------------------------------------------------------------
# The generated catalog
# --------------------------------------------------------------------------------------
DISTRICTS = [
    ("shinan", "市南区"),
    ("shibei", "市北区"),
    ("licang", "李沧区"),
    ("laoshan", "崂山区"),
    ("huangdao", "黄岛区"),
    ("chengyang", "城阳区"),
    ("jimo", "即墨区"),
    ("jiaozhou", "胶州市"),
    ("pingdu", "平度市"),
    ("laixi", "莱西市"),
]
UNITS = [("data-center", "数据服务中心"), ("enforcement", "综合行政执法支队")]
STEM_ENDINGS = ("实时监测数据", "监测数据", "实时数据", "基本信息", "信息", "统计", "名录", "数据")
TITLE_ENDINGS = (
    "信息",
    "统计",
    "名录",
    "监测数据",
    "实时数据",
    "年度统计",
    "月度报表",
    "分布情况",
    "登记信息",
    "汇总表",
    "目录",
    "台账",
)
CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class Template:
    title: str
    stem: str
    description: str
    keywords: tuple[str, ...]
    publisher: str
    domain: str
    industry: str | None
    zones: tuple[str, ...]
    grade: str
    open_type: str
    open_condition: str | None
    update_frequency: str | None
    formats: tuple[str, ...]
    metadata_public: bool


def templates() -> list[Template]:
    out = []
    for d in yaml.safe_load(PLAN.read_text(encoding="utf-8"))["datasets"]:
        title = re.sub(r"^青岛(市)?", "", d["title"])
        stem = title
        for ending in STEM_ENDINGS:
            if stem.endswith(ending) and len(stem) > len(ending) + 1:
                stem = stem[: -len(ending)]
                break
        out.append(
            Template(
                title=title,
                stem=stem,
                description=d["description"],
                keywords=tuple(str(k) for k in d.get("keywords") or ()),
                publisher=d["publisher"],
                domain=d["domain"],
                industry=d.get("industry"),
                zones=tuple(d.get("zones") or ()),
                grade=d["grade"],
                open_type=d["open_type"],
                open_condition=d.get("open_condition"),
                update_frequency=d.get("update_frequency"),
                formats=tuple(d.get("formats") or ()),
                metadata_public=bool(d.get("metadata_public", True)),
            )
        )
    return out


@dataclass(frozen=True)
class Publisher:
    id: str
    name: str
    title: str
    district: str | None
    base: str  # the city department it belongs to


def add_organizations(connection: Any, now: datetime) -> list[Publisher]:
    """The plan's departments (already loaded) plus their district bureaus and units."""
    city = list(connection.execute(select(Organization.id, Organization.name, Organization.title)))
    out = [Publisher(i, n, t, None, n) for i, n, t in city]
    rows = []
    for _, name, title in city:
        bureau = title.removeprefix("青岛市")
        for slug, district in DISTRICTS:
            rows.append((f"{name}-{slug}", f"青岛市{district}{bureau}", district, name))
        for slug, unit in UNITS:
            rows.append((f"{name}-{slug}", f"{title}{unit}", None, name))
    values = []
    for name, title, district, base in rows:
        org_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-org:{name}"))
        out.append(Publisher(org_id, name, title, district, base))
        values.append(
            {"id": org_id, "name": name, "title": title, "created_at": now, "updated_at": now}
        )
    connection.execute(insert(Organization), values)
    return out


class Generator:
    """Realistic datasets from the plan's templates, the vocabularies and the grade policy."""

    def __init__(self, publishers: list[Publisher], seed: int) -> None:
        self.rng = random.Random(seed)
        self.templates = templates()
        self.by_domain: dict[str, list[Template]] = {}
        for t in self.templates:
            self.by_domain.setdefault(t.domain, []).append(t)
        self.publishers: dict[str, list[Publisher]] = {}
        for p in publishers:
            self.publishers.setdefault(p.base, []).append(p)
        self.labels = {
            name: {t.code: t.zh for t in vocab(name).terms}
            for name in ("domains", "industries", "update_frequencies", "formats", "zones")
        }
        self.grades = vocab("grades").codes
        self.policy = load_policy()
        self.frequencies = vocab("update_frequencies").codes
        self.formats = vocab("formats").codes

    def rows(self, start: int, count: int, now: datetime) -> tuple[list[dict], list[dict]]:
        rng = self.rng
        datasets, zones = [], []
        for i in range(start, start + count):
            t = rng.choice(self.templates)
            group = self.publishers[t.publisher]  # the city department first
            pub = group[0] if rng.random() < 0.3 else rng.choice(group[1:])
            place = pub.district or rng.choice(("青岛市", "", "全市"))
            year = rng.randint(2015, 2025)
            changed = now - timedelta(seconds=i * 37 + rng.randint(0, 36))
            if rng.random() < 0.25:
                chinese = [k for k in t.keywords if CJK.match(k)] or [t.stem]
                core = "".join(rng.sample(chinese, min(len(chinese), rng.randint(1, 2))))
                core += rng.choice(TITLE_ENDINGS)
            elif rng.random() < 0.5:
                core = t.title
            else:
                core = t.stem + rng.choice(TITLE_ENDINGS)
            title = f"{place}{year}年{core}" if rng.random() < 0.25 else f"{place}{core}"

            if rng.random() < 0.7:
                grade, open_type = t.grade, t.open_type
            else:
                grade = rng.choices(self.grades, weights=(1, 3, 6, 14, 30, 46))[0]
                open_type = rng.choice(self.policy.allowed[grade])
            metadata_public = open_type != "closed" or (
                t.metadata_public if grade == t.grade else rng.random() < 0.5
            )
            frequency = t.update_frequency if rng.random() < 0.7 else rng.choice(self.frequencies)
            formats = (
                list(t.formats)
                if t.formats and rng.random() < 0.7
                else sorted(rng.sample(self.formats, rng.randint(1, 3)))
            )
            zone_codes = list(t.zones)
            if not zone_codes and rng.random() < 0.05:
                zone_codes = [rng.choice(list(self.labels["zones"]))]
            keywords = list(rng.sample(t.keywords, min(len(t.keywords), rng.randint(2, 4))))
            if pub.district:
                keywords.append(pub.district)

            description = t.description
            if pub.district:
                description = description.replace("全市", f"{pub.district}辖区")
            parts = [
                description,
                f"本数据集由{pub.title}发布，属于{self.labels['domains'][t.domain]}领域"
                + (f"（{self.labels['industries'][t.industry]}）" if t.industry else "")
                + (f"，{self.labels['update_frequencies'][frequency]}更新" if frequency else "")
                + f"，提供{'、'.join(self.labels['formats'][f] for f in formats)}格式。",
            ]
            if zone_codes:
                parts.append(
                    f"已纳入{'、'.join(self.labels['zones'][z] for z in zone_codes)}，"
                    "在数据可用不可见的前提下提供数据产品。"
                )
            if rng.random() < 0.3:
                other = rng.choice(self.by_domain[t.domain])
                parts.append(other.description.split("。")[0] + "。")
            description = "".join(parts)

            issued = date(year, 1, 1) + timedelta(days=rng.randrange(365))
            modified = min(issued + timedelta(days=rng.randrange(1, 1500)), date(2025, 11, 30))
            dataset_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            name = f"gen-{i:07d}"
            content = "|".join(
                (name, title, description, grade, open_type, ",".join(keywords), str(modified))
            )
            datasets.append(
                {
                    "id": dataset_id,
                    "name": name,
                    "state": "active",
                    "content_hash": hashlib.sha256(content.encode()).hexdigest(),
                    "title": title,
                    "description": description,
                    "publisher_id": pub.id,
                    "domain": t.domain,
                    "industry": t.industry,
                    "open_type": open_type,
                    "open_condition": (
                        (t.open_condition or "实名认证并签署《公共数据安全承诺书》")
                        if open_type == "conditional"
                        else None
                    ),
                    "metadata_public": metadata_public,
                    "grade": grade,
                    "update_frequency": frequency,
                    "formats": formats,
                    "issued": issued,
                    "modified": modified,
                    "keywords": keywords,
                    "operable": open_type != "closed" and rng.random() < 0.3,
                    "popularity": int(rng.paretovariate(1.1)) - 1,
                    "extras": {},
                    # registered over the years, each changed at a moment of its own
                    "created_at": changed - timedelta(days=rng.randint(0, 3650)),
                    "updated_at": changed,
                }
            )
            zones.extend({"dataset_id": dataset_id, "zone_code": z} for z in zone_codes)
        return datasets, zones


def build(app: Any, size: int) -> tuple[int, list[Publisher]]:
    """Migrate, load the plan catalog through the catalog service, then bulk-insert the rest."""
    lifecycle.initialize(app)
    lifecycle.load_plan(app)
    db = database(app)
    now = datetime.now(UTC)
    with db.engine.begin() as connection:
        publishers = add_organizations(connection, now)
        existing = connection.scalar(select(func.count()).select_from(Dataset)) or 0
        generator = Generator(publishers, SEED)
        for start in range(existing, size, 20_000):
            rows, zones = generator.rows(start, min(20_000, size - start), now)
            connection.execute(insert(Dataset), rows)
            if zones:
                connection.execute(insert(dataset_zones), zones)
    with db.engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(Dataset)) or 0
        connection.exec_driver_sql("ANALYZE")
    return total, publishers


# --------------------------------------------------------------------------------------
# The query mix
# --------------------------------------------------------------------------------------
SHORT = [
    "养老",
    "公交",
    "港口",
    "水质",
    "学校",
    "医院",
    "停车",
    "地铁",
    "农村",
    "企业",
    "空气",
    "船舶",
    "噪声",
    "低保",
    "助餐",
    "景区",
]
SHORT += [
    "客流",
    "泊位",
    "药店",
    "气象",
    "渔业",
    "快递",
    "补贴",
    "社保",
    "土壤",
    "消防",
    "出租",
    "货物",
    "监测",
    "许可",
]
PHRASES = [
    "公交线路信息",
    "老年人助餐服务",
    "空气质量实时监测",
    "集装箱吞吐量",
    "农产品批发市场价格",
    "养老机构床位",
    "地表水水质监测",
    "网约车驾驶员",
    "医保定点零售药店",
    "中小学校名录",
    "公共停车场",
    "海上旅游客运",
    "低收入人口",
    "5G基站建设",
    "危险货物运输",
    "青岛港货物吞吐量统计",
]
TWO_WORDS = [
    "公交 站点",
    "养老 机构",
    "港口 吞吐量",
    "水质 监测",
    "地铁 客流",
    "学校 名录",
    "停车 实时",
    "医院 信息",
    "农产品 价格",
    "船舶 进出港",
    "市南区 养老",
    "黄岛区 港口",
]
LATIN = ["api", "csv", "json", "gps", "aqi", "5g", "pm2.5", "xlsx", "qingdao"]
SUGGEST = ["养", "公", "港", "水", "api", "gp"]
SUGGEST += [p[:n] for p in PHRASES for n in (2, 3, 4)]


def query_mix(count: int, publishers: list[str], seed: int = SEED) -> list[list[tuple[str, str]]]:
    """`count` searches as URL parameters: the same list in process and over HTTP."""
    rng = random.Random(seed)
    domains = vocab("domains").codes
    open_types = vocab("open_types").codes
    zones = vocab("zones").codes
    formats = vocab("formats").codes
    grades = vocab("grades").codes

    def filters(n: int) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for name in rng.sample(["domain", "zones", "open_type", "publisher", "formats"], n):
            pool = {
                "domain": domains,
                "zones": zones,
                "open_type": open_types,
                "publisher": publishers,
                "formats": formats,
                "grade": grades,
            }[name]
            out.append((name, rng.choice(pool)))
        return out

    def words() -> str:
        return rng.choice(SHORT + PHRASES)

    kinds = [
        ("short", 25),
        ("phrase", 12),
        ("two-words", 12),
        ("latin", 5),
        ("empty+filters", 10),
        ("text+filters", 14),
        ("dates", 7),
        ("sort", 10),
        ("deep-page", 5),
    ]
    mix = []
    for kind, share in kinds:
        for _ in range(round(count * share / 100)):
            if kind == "short":
                params = [("q", rng.choice(SHORT))]
            elif kind == "phrase":
                params = [("q", rng.choice(PHRASES))]
            elif kind == "two-words":
                params = [("q", rng.choice(TWO_WORDS))]
            elif kind == "latin":
                params = [("q", rng.choice(LATIN))]
            elif kind == "empty+filters":
                params = filters(rng.randint(1, 2))
            elif kind == "text+filters":
                params = [("q", words()), *filters(rng.randint(1, 2))]
            elif kind == "dates":
                field = rng.choice(["modified", "issued"])
                start = date(rng.randint(2016, 2024), rng.randint(1, 12), 1)
                end = start + timedelta(days=rng.randint(30, 900))
                params = [("q", words())] if rng.random() < 0.7 else []
                params += [(f"{field}_from", start.isoformat()), (f"{field}_to", end.isoformat())]
            elif kind == "sort":
                params = [("q", words())] if rng.random() < 0.7 else filters(1)
                params.append(("sort", rng.choice(["modified", "title", "popularity"])))
            else:
                params = [("q", rng.choice(SHORT))] if rng.random() < 0.5 else []
                params.append(("page", str(rng.choice([50, 100, 250, 500]))))
            mix.append(params)
    rng.shuffle(mix)
    return mix


CKAN_KINDS = {
    "words": "words (`q`), 10 rows",
    "department": "a department, the last changed first, 100 rows",
    "zone+facets": "a zone with 5 facets, 20 rows",
    "changed-since": "changed since a date, oldest first, 100 rows (a harvester)",
    "by-name": "the whole catalog by name from a random start, 100 rows (the database)",
}


def ckan_mix(count: int, publishers: list[str], size: int, seed: int = SEED) -> list[dict]:
    """`count` package_search calls as clients send them: words; a department's datasets,
    the last changed first; a zone with facets; a harvester's incremental pages (changed
    since, oldest first); a dump's pages by name, deep into the catalog."""
    rng = random.Random(seed)
    zones = vocab("zones").codes
    facets = json.dumps(["organization", "groups", "tags", "res_format", "license_id"])
    kinds = list(CKAN_KINDS)
    mix = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        if kind == "words":
            params = {"q": rng.choice(SHORT + PHRASES + TWO_WORDS)}
        elif kind == "department":
            params = {"fq": f"organization:{rng.choice(publishers)}", "rows": "100"}
            params["sort"] = "metadata_modified desc"
        elif kind == "zone+facets":
            params = {"fq": f"groups:{rng.choice(zones)}", "facet.field": facets, "rows": "20"}
        elif kind == "changed-since":
            since = f"{rng.randint(2016, 2024)}-{rng.randint(1, 12):02d}-01T00:00:00Z"
            params = {"fq": f"metadata_modified:[{since} TO *]", "rows": "100"}
            params["sort"] = "metadata_modified asc"
        else:
            params = {"sort": "name asc", "rows": "100", "start": str(rng.randrange(0, size))}
        mix.append({"kind": kind, **params})
    rng.shuffle(mix)
    return mix


def ckan_runs(app: Any, mix: list[dict], budget: float) -> dict[str, list[list]]:
    """package_search in process (test client: routing, parsing, the engine, the packages
    from the database, JSON): per call its kind, its time, and the engine's part of it (None
    for a walk of the whole catalog by name, which the database answers)."""
    backend = search_backend(app)
    in_engine: list[float] = []
    search_engine = backend.search

    def timed_engine(query: Any) -> Any:
        started = time.perf_counter()
        try:
            return search_engine(query)
        finally:
            in_engine.append((time.perf_counter() - started) * 1000)

    backend.search = timed_engine  # type: ignore[method-assign]
    client = app.test_client()
    calls: list[list] = []

    def call(params: dict) -> None:
        query = {k: v for k, v in params.items() if k != "kind"}
        in_engine.clear()
        started = time.perf_counter()
        response = client.get("/api/3/action/package_search", query_string=query)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        calls.append([params["kind"], elapsed, sum(in_engine) if in_engine else None])

    try:
        for params in mix[:10]:  # warm-up
            call(params)
        calls.clear()
        deadline = time.perf_counter() + budget
        for params in mix[10:]:
            call(params)
            if time.perf_counter() > deadline and len(calls) >= 20:
                break
    finally:
        backend.search = search_engine  # type: ignore[method-assign]
    return {"calls": calls}


def path_of(params: list[tuple[str, str]]) -> str:
    return "/api/v1/search?" + urllib.parse.urlencode(params)


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------
def timed_runs(fn: Any, items: list[Any], warmup: int, budget: float) -> list[float]:
    """Latencies in ms of `fn` over `items` (after `warmup` untimed calls); stops early, with
    a prefix of the (shuffled) list, once `budget` seconds have gone by."""
    for item in items[:warmup]:
        fn(item)
    out: list[float] = []
    deadline = time.perf_counter() + budget
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
        if t0 > deadline and len(out) >= 20:
            break
    return out


WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local threads = 0
function setup(thread) thread:set("offset", threads * 61); threads = threads + 1 end
function init(args) i = offset or 0 end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def drive_wrk(port: int, paths_file: Path, clients: int, seconds: int) -> dict[str, float]:
    script = paths_file.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(clients, 2)}",
            f"-c{clients}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        env={**os.environ, "BENCH_PATHS": str(paths_file)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCH "))
    n, micros, p50, p95, p99, bad, failed = (int(v) for v in line.split()[1:])
    return {
        "requests": n,
        "rps": n / (micros / 1e6),
        "p50": p50 / 1000,
        "p95": p95 / 1000,
        "p99": p99 / 1000,
        "errors": bad + failed,
    }


def drive_python(port: int, paths: list[str], clients: int, seconds: int) -> dict[str, float]:
    """Fallback load generator: threads, each with its own keep-alive connection."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(k: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        i, mine = k * 61, []
        while time.perf_counter() < deadline:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                with lock:
                    errors[0] += 1
            if response.getheader("connection", "").lower() == "close":
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    elapsed = time.perf_counter() - started
    p50, p95, p99 = percentiles(latencies)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "errors": errors[0],
    }


# --------------------------------------------------------------------------------------
# One size, in a child process
# --------------------------------------------------------------------------------------
def measure(size: int, args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"size": size, "states": {}}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as folder:
        instance = Path(folder) / "instance"
        app = create_app({"instance_path": str(instance), "index_interval": 0})
        started = time.perf_counter()
        total, publishers = build(app, size)
        result["build_s"] = time.perf_counter() - started
        result["datasets"] = total
        result["organizations"] = len(publishers)
        result["db_mb"] = folder_mb(instance)
        log(size, f"built {total:,} datasets in {result['build_s']:.0f} s")

        started = time.perf_counter()
        if args.profile_reindex:
            import cProfile

            profile = cProfile.Profile()
            count = profile.runcall(indexer(app).reindex)
            profile.dump_stats(f"{args.profile_reindex}.{size}")
        else:
            count = indexer(app).reindex()
        elapsed = time.perf_counter() - started
        result["reindex_s"] = elapsed
        result["reindex_rate"] = count / elapsed
        result["indexed"] = count
        result["index_mb"] = folder_mb(instance / "search" / "tantivy")
        log(size, f"reindexed {count:,} in {elapsed:.1f} s ({count / elapsed:,.0f}/s)")

        backend = search_backend(app)
        db = database(app)
        mix = query_mix(args.queries, [p.name for p in publishers])
        queries = [parse(MultiDict(params), PUBLIC) for params in mix]
        result["raw"] = timed_runs(
            lambda query: backend.search(effective(query)), queries, 50, args.budget
        )
        result["with_hits"] = sum(backend.search(effective(q)).total > 0 for q in queries) / len(
            queries
        )
        ckan = ckan_mix(max(50, args.queries // 2), [p.name for p in publishers], total)
        result["ckan"] = ckan_runs(app, ckan, args.budget)
        times = [c[1] for c in result["ckan"]["calls"]]
        log(size, f"CKAN package_search p95 {percentiles(times)[1]:.1f} ms")
        states = {"no": ["as is"], "yes": ["ANALYZE"], "both": ["as is", "ANALYZE"]}
        for state in states[args.analyze]:
            if state == "ANALYZE":
                with db.engine.begin() as connection:
                    connection.exec_driver_sql("ANALYZE")
                db.dispose()  # new connections read the statistics
            result["states"][state] = in_process(size, state, backend, db, queries, args)
            if not args.no_http:
                result["states"][state]["http"] = http_runs(instance, mix, args, size, state)
        backend.close()
        db.dispose()
        result["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def in_process(
    size: int, state: str, backend: Any, db: Any, queries: list, args: argparse.Namespace
) -> dict[str, Any]:
    def full(query: Any) -> Any:
        with db.sessions() as session:
            return search(backend, session, query)

    def suggestion(text: str) -> Any:
        with db.sessions() as session:
            return suggest(backend, session, text, PUBLIC)

    if args.profile_search:
        import cProfile

        profile = cProfile.Profile()
        profile.runcall(timed_runs, full, queries, 0, args.budget)
        profile.dump_stats(f"{args.profile_search}.{size}.{state.replace(' ', '-')}")
    out: dict[str, Any] = {}
    out["inproc"] = timed_runs(full, queries, 10, args.budget)
    out["suggest"] = timed_runs(suggestion, SUGGEST, 10, args.budget)
    p95 = percentiles(out["inproc"])[1]
    log(size, f"{state}: in-process p95 {p95:.1f} ms over {len(out['inproc'])} queries")
    return out


def http_runs(
    instance: Path, mix: list, args: argparse.Namespace, size: int, state: str
) -> list[dict]:
    paths = [path_of(params) for params in mix]
    paths_file = instance / "bench-paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    use_wrk = shutil.which("wrk") is not None and not args.python_client
    runs = []
    for config in args.http_configs.split(","):
        workers, threads = (int(v) for v in config.split("x"))
        server = Gunicorn(instance, workers, threads, env={"PORTAL_INDEX_INTERVAL": "0"})
        try:
            mine = []
            for clients in [0, *args.clients]:  # round 0: 8 clients warm the workers up
                load = clients or 8
                seconds = args.http_seconds if clients else max(3, args.http_seconds // 3)
                if use_wrk:
                    figures = drive_wrk(server.port, paths_file, load, seconds)
                else:
                    figures = drive_python(server.port, paths, load, seconds)
                if clients:
                    mine.append(
                        {"config": config, "clients": clients, "seconds": seconds, **figures}
                    )
                    log(size, f"{state}: http {config} c={clients}: p95 {figures['p95']:.1f} ms")
            rss = server.worker_rss()
            for run in mine:
                run["worker_rss"] = max(rss) if rss else 0.0
                run["client"] = "wrk" if use_wrk else "python"
            runs += mine
        finally:
            server.stop()
    return runs


def log(size: int, text: str) -> None:
    print(f"[{size:,}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def verdict(size: int, key: str, values: dict[str, float]) -> str:
    target = TARGETS.get((size, key))
    if target is None:
        return ""
    limit, unit, kind = target
    out = []
    for state, value in values.items():
        ok = value <= limit if kind == "max" else value >= limit
        out.append(f"**{'pass' if ok else 'FAIL'}**" + (f" ({state})" if len(values) > 1 else ""))
    return f"{'≤' if kind == 'max' else '≥'} {limit:,.0f} {unit}: " + ", ".join(out)


def best_http(runs: list[dict[str, Any]], clients: int) -> dict[str, Any] | None:
    runs = [r for r in runs if r["clients"] == clients]
    return min(runs, key=lambda r: r["p95"]) if runs else None


def triple(samples: list[float]) -> str:
    p50, p95, p99 = percentiles(samples)
    return f"{p50:.1f} / {p95:.1f} / {p99:.1f} ms"


def table(result: dict[str, Any]) -> str:
    size = result["size"]
    states: dict[str, dict[str, Any]] = result["states"]
    names = list(states)
    rows: list[tuple[str, list[str], str]] = []

    def row(what: str, values: list[str], target: str = "") -> None:
        rows.append((what, values + [""] * (len(names) - len(values)), target))

    def each(fn: Any) -> list[str]:
        return [fn(states[name]) for name in names]

    row(
        f"build: plan catalog via the service, then Core bulk inserts "
        f"({result['organizations']} departments; not a headline figure)",
        [f"{result['build_s']:.0f} s, database {result['db_mb']:,.0f} MB"],
    )
    row(
        f"reindex {result['indexed']:,} datasets",
        [f"{result['reindex_rate']:,.0f} /s ({result['reindex_s']:.1f} s)"],
        verdict(size, "reindex_rate", {"": result["reindex_rate"]}),
    )
    row("index size on disk", [f"{result['index_mb']:,.0f} MB"])
    n = len(result["raw"])
    row(
        f"engine alone (`backend.search`, {n} queries), p50 / p95 / p99",
        [triple(result["raw"])],
    )
    row("  throughput, one thread", [f"{n / (sum(result['raw']) / 1000):,.0f} queries/s"])
    row(
        "search in process (`portal.search.search`, all facets), p50 / p95 / p99",
        each(lambda s: triple(s["inproc"]) + f" ({len(s['inproc'])} queries)"),
        verdict(
            size, "inproc_p95", {name: percentiles(states[name]["inproc"])[1] for name in names}
        ),
    )
    row(
        "  throughput, one thread",
        each(lambda s: f"{len(s['inproc']) / (sum(s['inproc']) / 1000):,.0f} queries/s"),
    )
    r50, r95 = percentiles(result["raw"])[:2]
    row(
        "  full search ÷ engine alone (p50, p95)",
        each(
            lambda s: (
                f"{percentiles(s['inproc'])[0] / r50:.1f}× / "
                f"{percentiles(s['inproc'])[1] / r95:.1f}×"
            )
        ),
    )
    row(
        f"suggestions (`portal.search.suggest`, {len(SUGGEST)} prefixes), p50 / p95 / p99",
        each(lambda s: triple(s["suggest"])),
    )
    row("queries of the mix with at least one hit", [f"{result['with_hits']:.0%}"])
    if "ckan" in result:
        calls = result["ckan"]["calls"]
        row(
            f"CKAN `package_search` in process ({len(calls)} calls), p50 / p95 / p99",
            [triple([c[1] for c in calls])],
        )
        for kind, what in CKAN_KINDS.items():
            mine = [c for c in calls if c[0] == kind]
            if not mine:
                continue
            engine = [c[2] for c in mine if c[2] is not None]
            share = ""
            if engine:
                ratio = percentiles([c[1] for c in mine])[0] / percentiles(engine)[0]
                share = f"; engine alone {triple(engine)}, p50 ratio {ratio:.1f}×"
            row(f"  {what} ({len(mine)})", [triple([c[1] for c in mine]) + share])
    if all(s.get("http") for s in states.values()):
        best = {name: best_http(states[name]["http"], 8) for name in names}
        row(
            "HTTP, 8 clients, p95 (best gunicorn configuration)",
            [f"{b['p95']:.1f} ms ({b['config']})" for b in best.values() if b],
            verdict(size, "http8_p95", {name: b["p95"] for name, b in best.items() if b}),
        )
        row(
            "gunicorn worker after the HTTP runs (RSS, largest)",
            each(lambda s: f"{max(r['worker_rss'] for r in s['http']):,.0f} MB"),
        )
    row("peak memory of the bench process (RSS)", [f"{result['peak_rss']:,.0f} MB"])

    header = " | ".join(
        "database as the portal leaves it (no `ANALYZE`)" if n == "as is" else "after `ANALYZE`"
        for n in names
    )
    lines = [
        f"### {size:,} datasets",
        "",
        f"| measure | {header} | target |",
        "|---|" + "---|" * len(names) + "---|",
        *[f"| {what} | {' | '.join(values)} | {target} |" for what, values, target in rows],
    ]
    runs = [(name, r) for name in names for r in states[name].get("http", [])]
    if runs:
        client = runs[0][1]["client"]
        lines += [
            "",
            f"Over HTTP: `GET /api/v1/search`, the same mix, driven by "
            f"{'wrk' if client == 'wrk' else 'Python threads with keep-alive connections'} "
            f"for {runs[0][1].get('seconds', '')}s per row; gunicorn workers × threads.",
            "",
            "| database | gunicorn | clients | requests | requests/s | p50 | p95 | p99 | errors |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in runs:
            lines.append(
                f"| {name} | {r['config']} | {r['clients']} | {r['requests']:,} "
                f"| {r['rps']:,.1f} | {r['p50']:.1f} ms "
                f"| {r['p95']:.1f} ms | {r['p99']:.1f} ms | {r['errors']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--http-configs", default="2x4,2x1,4x1", help="workers x threads, ...")
    parser.add_argument("--http-seconds", type=int, default=10)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument(
        "--analyze",
        choices=("no", "yes", "both"),
        default="both",
        help="measure the database as the portal leaves it, after ANALYZE, or both",
    )
    parser.add_argument(
        "--budget", type=float, default=120, help="seconds at most per in-process pass"
    )
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument("--profile-reindex", help="write a cProfile of reindex here")
    parser.add_argument("--profile-search", help="write a cProfile of the mix here (.<size>)")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]

    if args.child:
        args.out.write_text(json.dumps(measure(args.child, args)))
        return

    load_at_start = load_average()
    sizes = [int(s) for s in args.sizes.split(",")]
    tables = []
    for size in sizes:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, *sys.argv[1:], "--child", str(size)]
            command += ["--out", out.name]
            subprocess.run(command, check=True)
            result = json.loads(Path(out.name).read_text())
        text = table(result)
        tables.append(text)
        print(text, "\n", flush=True)
    section = "\n\n".join(
        [
            SECTION,
            machine_line(
                f"python bench/search.py --sizes {args.sizes} --queries {args.queries} "
                f"--http-configs {args.http_configs} --http-seconds {args.http_seconds} "
                f"--clients {','.join(map(str, args.clients))} --analyze {args.analyze} "
                f"--budget {args.budget:.0f}",
                load_at_start,
            ),
            "Each size is a fresh SQLite instance: the plan catalog loaded through the catalog "
            "service, the rest generated from the plan's datasets and departments (plus their "
            "district bureaus and units), the vocabularies and the grade policy (some closed "
            "datasets not public), inserted directly with SQLAlchemy Core bulk inserts, since "
            "the catalog service would take an hour for 1M (so the build time is no headline "
            "figure). Searches are a fixed, seeded mix, as the public: short Chinese terms, "
            "phrases, two words, Latin words, filters with and without text, date ranges, "
            "sorts and deep pages, all facets on. In process: `portal.search.search` (engine, "
            "rows from the database, highlights, facet labels) and the engine alone; a pass "
            "stops after its time budget (the query count says so). Over HTTP: gunicorn on "
            "the same 2 cores as the load generator. The database is measured as the portal "
            "leaves it (SQLite has no statistics, so `id IN (…) AND state = 'active'` in "
            "`_visible_rows` walks `ix_datasets_state_grade_open_type`, every active row) "
            "and again after `ANALYZE` (it then uses the primary key). Targets are the issue's.",
            *tables,
        ]
    )
    if args.write:
        from catalog_core import write_section  # one writer for every section

        write_section(args.write, section, SECTION)


if __name__ == "__main__":
    main()
