"""A small catalog whose every search answer is known in advance."""

from __future__ import annotations

from typing import Any

from portal.catalog import Catalog
from schemas import uscc

ORGS = [
    ("qd-transport", "青岛市交通运输局", "00405111"),
    ("qd-civil-affairs", "青岛市民政局", "00405222"),
    ("qd-ecology", "青岛市生态环境局", "00405333"),
    ("qd-tidal", "青岛市潮汐研究所", "00405444"),
]
ZONES = [("transport", "交通专区"), ("elderly", "养老专区"), ("port", "港航专区")]


def ds(name: str, title: str, publisher: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "title": title,
        "description": changes.pop("description", f"{title}的说明。"),
        "publisher": publisher,
        "domain": "transport",
        "industry": "G",
        "open_type": "unconditional",
        "grade": "general1",
        "update_frequency": "daily",
        "formats": ["csv"],
        "issued": "2023-01-01",
        "modified": "2024-01-01",
    }
    data.update(changes)
    return data


DATASETS = [
    ds(
        "bus-lines",
        "青岛市公交线路信息",
        "qd-transport",
        title_en="Qingdao Bus Lines",
        zones=["transport"],
        keywords=["公交", "线路"],
        formats=["csv", "api"],
        modified="2025-05-01",
        issued="2021-03-01",
    ),
    ds(
        "bus-stops",
        "公交站点位置",
        "qd-transport",
        title_en="Bus Stop Locations",
        zones=["transport"],
        modified="2025-04-01",
        issued="2022-03-01",
    ),
    ds(
        "metro-flow",
        "地铁客流统计",
        "qd-transport",
        zones=["transport"],
        open_type="conditional",
        open_condition="实名认证",
        grade="general2",
        update_frequency="monthly",
        formats=["xlsx"],
        modified="2025-03-01",
        issued="2023-06-01",
    ),
    ds(
        "elderly-care-institutions",
        "养老服务机构名录",
        "qd-civil-affairs",
        title_en="Directory of Elderly Care Institutions",
        domain="social-assistance",
        industry="Q",
        zones=["elderly"],
        keywords=["养老"],
        modified="2024-06-01",
        issued="2020-01-01",
    ),
    ds(
        "elderly-service-and-management",
        "养老服务与机构管理办法汇编",
        "qd-civil-affairs",
        domain="social-assistance",
        industry="Q",
        zones=["elderly"],
        modified="2023-06-01",
    ),
    ds(
        "low-income",
        "低收入人口动态监测",
        "qd-civil-affairs",
        domain="social-assistance",
        industry="S",
        open_type="closed",
        grade="important",
        metadata_public=False,
        description="低收入人口名单与救助记录（不予开放）。",
        modified="2025-06-01",
    ),
    ds(
        "port-berths",
        "港口泊位信息",
        "qd-transport",
        zones=["port"],
        open_type="closed",
        grade="core",
        metadata_public=True,
        modified="2023-02-01",
    ),
    ds(
        "water-quality",
        "地表水质监测",
        "qd-ecology",
        domain="environment",
        industry="N",
        formats=["json"],
        update_frequency="realtime",
        modified="2024-09-01",
    ),
    ds(
        "open-api-catalog",
        "开放API目录",
        "qd-ecology",
        domain="environment",
        industry="N",
        description="GDP 与 API 的目录。",
    ),
    # "潮汐" in exactly one field of each: ranking is title > keywords > publisher > description
    ds("tide-title", "潮汐观测", "qd-ecology", domain="environment"),
    ds("tide-keywords", "海面观测甲", "qd-ecology", domain="environment", keywords=["潮汐"]),
    ds("tide-publisher", "海面观测乙", "qd-tidal", domain="environment"),
    ds(
        "tide-description",
        "海面观测丙",
        "qd-ecology",
        domain="environment",
        description="记录每日潮汐涨落。",
    ),
]
# The 潮汐 datasets are the only ones whose title or description says 观测.


def load(catalog: Catalog) -> None:
    for name, title, body in ORGS:
        catalog.organizations.create(
            {"name": name, "title": title, "uscc": uscc.make("11", "370200", body)}
        )
    for code, title in ZONES:
        catalog.zones.create({"code": code, "title": title})
    for data in DATASETS:
        catalog.datasets.create(data)
