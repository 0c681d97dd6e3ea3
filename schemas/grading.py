"""Grading suggestions: which grade a dataset's fields and text point at, and why.

Rules are data (policy/grading_rules.yaml). The suggested openness is the most open one
the grade policy allows for the suggested grade.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .messages import Message
from .policy import GradePolicy
from .vocab import grade_rank, vocab

RULES_FILE = Path(__file__).parent / "policy" / "grading_rules.yaml"


@dataclass(frozen=True)
class Rule:
    patterns: tuple[str, ...]
    grade: str
    reason: Message

    def matches(self, text: str) -> bool:
        folded = text.casefold()
        return any(p in folded for p in self.patterns)


@dataclass(frozen=True)
class Suggestion:
    grade: str
    open_type: str
    reasons: tuple[dict[str, str], ...]  # {"zh", "en", "where"}

    def as_dict(self) -> dict[str, Any]:
        return {"grade": self.grade, "open_type": self.open_type, "reasons": list(self.reasons)}


@cache
def rules(path: Path = RULES_FILE) -> dict[str, tuple[Rule, ...]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = {}
    for scope in ("fields", "text"):
        parsed = []
        for item in raw.get(scope, []):
            vocab("grades").term(item["grade"])  # unknown grades fail loudly, at load
            patterns = tuple(str(p).casefold() for p in item["patterns"])
            parsed.append(Rule(patterns, item["grade"], item["reason"]))
        out[scope] = tuple(parsed)
    return out


def suggest(document: dict[str, Any], policy: GradePolicy) -> Suggestion:
    """The grade a dataset document's fields and text point at, with every reason found."""
    reasons: list[dict[str, str]] = []
    grade = "general1"
    for item in document.get("fields") or []:
        label = f"{item.get('name', '')} {item.get('title', '')}"
        for rule in rules()["fields"]:
            if rule.matches(label):
                where = item.get("title") or item.get("name", "")
                reasons.append({**rule.reason, "where": f"信息项 {where}"})
                grade = max(grade, rule.grade, key=grade_rank)
                break
    text = " ".join(
        [document.get("title", ""), document.get("description", ""), *document.get("keywords", [])]
    )
    for rule in rules()["text"]:
        if rule.matches(text):
            reasons.append({**rule.reason, "where": "标题/描述"})
            grade = max(grade, rule.grade, key=grade_rank)
    openness = vocab("open_types").codes  # most open first
    allowed = policy.allowed.get(grade) or ("closed",)
    return Suggestion(grade, min(allowed, key=openness.index), tuple(reasons))
