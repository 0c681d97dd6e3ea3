"""Metadata quality score per dataset (0–100), after piveau's MQA; weights are data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

QUALITY_FILE = Path(__file__).parent / "policy" / "quality.yaml"
MACHINE_READABLE = {"csv", "json", "xml", "rdf", "xlsx", "xls", "api"}

Doc = dict[str, Any]
CHECKS: dict[str, Callable[[Doc], bool]] = {
    "keywords": lambda d: bool(d.get("keywords")),
    "specific_domain": lambda d: d.get("domain") not in (None, "other"),
    "industry": lambda d: bool(d.get("industry")),
    "category_or_zone": lambda d: bool(d.get("basic_category") or d.get("zones")),
    "resources": lambda d: bool(d.get("resources")),
    "resource_urls": lambda d: (
        bool(d.get("resources")) and all(r.get("url") for r in d["resources"])
    ),
    "landing_page_or_api": lambda d: bool(
        d.get("landing_page") or any(r.get("kind") == "api" for r in d.get("resources", []))
    ),
    "formats": lambda d: bool(
        d.get("formats") or any(r.get("format") for r in d.get("resources", []))
    ),
    "machine_readable": lambda d: bool(
        MACHINE_READABLE
        & {*d.get("formats", []), *(r.get("format") for r in d.get("resources", []))}
    ),
    "fields": lambda d: bool(d.get("fields")),
    "license": lambda d: bool(d.get("license")),
    "contact": lambda d: bool(d.get("contact_phone") or d.get("contact_email")),
    "update_frequency": lambda d: bool(d.get("update_frequency")),
    "processing_level": lambda d: bool(d.get("processing_level")),
    "record_count": lambda d: d.get("record_count") is not None,
    "issued": lambda d: bool(d.get("issued")),
    "modified": lambda d: bool(d.get("modified")),
    "resource_sizes": lambda d: (
        bool(d.get("resources"))
        and all(r.get("size") is not None or r.get("kind") != "file" for r in d["resources"])
    ),
}


@dataclass(frozen=True)
class Quality:
    score: int
    band: str
    dimensions: dict[str, int]  # points per dimension
    missing: tuple[dict[str, str], ...]  # {"dimension", "zh", "en", "points"}

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "dimensions": self.dimensions,
            "missing": list(self.missing),
        }


@cache
def _config(path: Path = QUALITY_FILE) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = {c["check"] for d in config["dimensions"].values() for c in d["checks"]} - set(CHECKS)
    if unknown:
        raise ValueError(f"{path}: unknown quality checks {sorted(unknown)}")
    return config


def assess(document: Doc) -> Quality:
    """Score a dataset document (the profile's dict form)."""
    config = _config()
    dimensions: dict[str, int] = {}
    missing = []
    for name, dimension in config["dimensions"].items():
        earned = 0
        for check in dimension["checks"]:
            if CHECKS[check["check"]](document):
                earned += check["points"]
            else:
                missing.append(
                    {
                        "dimension": name,
                        "zh": check["zh"],
                        "en": check["en"],
                        "points": str(check["points"]),
                    }
                )
        dimensions[name] = earned
    score = sum(dimensions.values())
    return Quality(score, band(score), dimensions, tuple(missing))


def band(score: int) -> str:
    return next(b["code"] for b in _config()["bands"] if score >= b["min"])


def bands() -> list[dict[str, Any]]:
    return list(_config()["bands"])
