"""Page benchmark: server time of every kind of page, public and workspace, at scale.

    python bench/pages.py [--size 100000] [--repeat 30] [--write BENCHMARKS.md]

A fresh SQLite instance gets the plan catalog and is filled up to `--size` datasets with
bench/search.py's generator (Core bulk inserts), then indexed. An enterprise with an
application and a grant, the transport bureau's officer (the plan's department, plus
thousands of generated datasets of its own) and the authority sign in. Each page is
requested `--repeat` times through the WSGI app in this process, in Chinese and in
English, after one warm-up request (the first request of a worker works out the home
page's figures; a starting server does that in the background, see `pages.warm_up`).
Reported: p50 / p95 / max server time per page, against the issue's 200 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalog_core import machine, write_section
from search import build
from sqlalchemy import func, select

from portal import create_app
from portal.catalog import popularity
from portal.models import Dataset, Organization
from portal.services import access, database, indexer

SECTION = "## Page render time (bench/pages.py)"
TARGET_MS = 200.0
PASSWORD = "bench password 2025"
BASE = "https://localhost"


def people(app: Any) -> dict[str, str]:
    """An account for each workspace."""
    from schemas.uscc import check_character

    uscc = "91370200163562681"
    with database(app).transaction() as session:
        accounts = access(session, app).accounts
        made = {
            "enterprise": accounts.create(
                {
                    "email": "enterprise@bench.cn",
                    "password": PASSWORD,
                    "enterprise_name": "青岛示例数据科技有限公司",
                    "enterprise_uscc": uscc + check_character(uscc),
                },
                role="enterprise",
                by="bench",
            ),
            "officer": accounts.create(
                {"email": "officer@bench.cn", "password": PASSWORD},
                role="officer",
                organization="qd-transport",
                by="bench",
            ),
            "authority": accounts.create(
                {"email": "authority@bench.cn", "password": PASSWORD}, role="authority", by="bench"
            ),
        }
        return {who: user.email for who, user in made.items()}


def signed_in(app: Any, email: str) -> Any:
    client = app.test_client()
    form = client.get("/login", base_url=BASE).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token, "no CSRF token on /login"
    done = client.post(
        "/login",
        base_url=BASE,
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        headers={"Referer": f"{BASE}/login"},
    )
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    return client


def sample_names(app: Any) -> dict[str, str]:
    with database(app).sessions() as session:

        def first(open_type: str) -> str:
            return session.scalar(
                select(Dataset.name)
                .where(Dataset.open_type == open_type, Dataset.state == "active")
                .where(Dataset.metadata_public.is_(True))
                .order_by(Dataset.id.desc())
                .limit(1)
            )

        biggest = session.execute(
            select(Organization.name, func.count(Dataset.id))
            .join(Dataset, Dataset.publisher_id == Organization.id)
            .group_by(Organization.name)
            .order_by(func.count(Dataset.id).desc())
            .limit(1)
        ).one()
        return {
            "open": first("unconditional"),
            "conditional": first("conditional"),
            "closed": first("closed"),
            "department": biggest[0],
        }


def pages(names: dict[str, str]) -> dict[str, list[str]]:
    """Who → the pages they look at."""
    return {
        "public": [
            "/",
            "/search",
            "/search?q=公交",
            "/search?q=数据&domain=transport&open_type=conditional",
            "/search?q=企业&page=40",
            f"/dataset/{names['open']}",
            f"/dataset/{names['conditional']}",
            f"/dataset/{names['closed']}",
            "/zone/transport",
            "/zone/port",
            f"/organization/{names['department']}",
            "/organization/qd-transport",
        ],
        "enterprise": ["/workspace", "/workspace/tokens", f"/apply/{names['conditional']}"],
        "officer": [
            "/workspace",
            "/workspace/catalog",
            "/workspace/catalog?page=20",
            "/workspace/datasets/new",
            "/workspace/harvest",
        ],
        "authority": [
            "/workspace",
            "/workspace/openness",
            "/workspace/zones",
            "/workspace/vocabularies",
            "/workspace/grade-policy",
            "/workspace/audit",
        ],
    }


def timed(client: Any, path: str, repeat: int) -> list[float]:
    first = client.get(path, base_url=BASE)  # warm-up (and a check)
    assert first.status_code == 200, (path, first.status_code)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, base_url=BASE)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return samples


def run(size: int, repeat: int) -> tuple[list[tuple[str, str, float, float, float]], int]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "instance_path": f"{folder}/instance",
                "index_interval": 0,
                "api_rate_limit": "",
                "api_ip_rate_limit": "",
                "login_rate_limit": "",
                "secure_cookies": False,
            }
        )
        total, _ = build(app, size)
        indexer(app).reindex()
        emails = people(app)
        names = sample_names(app)
        clients = {"public": app.test_client()}
        clients.update({who: signed_in(app, email) for who, email in emails.items()})
        rows = []
        for who, paths in pages(names).items():
            for language in ("zh", "en"):
                client = clients[who]
                client.get(f"/lang/{language}?next=/", base_url=BASE)
                for path in paths:
                    samples = sorted(timed(client, path, repeat))
                    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
                    rows.append(
                        (f"{who} {language}", path, statistics.median(samples), p95, samples[-1])
                    )
        popularity.flush_all()  # the views counted, before the folder goes
        database(app).dispose()
        return rows, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows, total = run(args.size, args.repeat)
    worst = max(row[3] for row in rows)
    lines = [
        "| who | page | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
        *(f"| {w} | `{p}` | {a:.1f} | {b:.1f} | {c:.1f} |" for w, p, a, b, c in rows),
    ]
    table = "\n".join(lines)
    print(table)
    verdict = "met" if worst < TARGET_MS else "NOT met"
    section = "\n\n".join(
        [
            SECTION,
            f"Machine: {machine()}. Run: {time.strftime('%Y-%m-%d')}, "
            f"`python bench/pages.py --size {args.size} --repeat {args.repeat}`.",
            f"{total:,} datasets (the plan catalog and generated ones), SQLite and the "
            "embedded index. Server time per request through the WSGI app in process, after "
            f"one warm-up request per page. Target: every page under {TARGET_MS:.0f} ms; "
            f"the slowest p95 is {worst:.1f} ms: target {verdict}.",
            table,
        ]
    )
    if args.write:
        write_section(args.write, section, SECTION)


if __name__ == "__main__":
    main()
