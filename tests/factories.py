"""Records for tests: a department, a zone and a dataset that pass the profile."""

from __future__ import annotations

from typing import Any

ORG = {"name": "qd-transport", "title": "青岛市交通运输局", "uscc": "11370200004012340B"}
ZONE = {
    "code": "transport",
    "title": "交通专区",
    "scenarios": [{"code": "qing-yi-he", "title": "青易核"}],
}


def dataset(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "bus-lines",
        "title": "青岛市公交线路信息",
        "description": "全市公交线路与站点。",
        "publisher": "qd-transport",
        "domain": "transport",
        "zones": ["transport"],
        "open_type": "unconditional",
        "grade": "general1",
        "resources": [
            {"name": "线路表", "kind": "file", "format": "csv", "url": "https://a.cn/l.csv"}
        ],
        "fields": [{"name": "line_no", "title": "线路编号"}],
    }
    data.update(changes)
    return data
