"""The grade → allowed openness policy (domain.md section 3), kept as data."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from .vocab import vocab

DEFAULT_POLICY_PATH = Path(__file__).parent / "policy" / "grade_openness.yaml"


@dataclass(frozen=True, eq=False)  # compared by identity, so it can key caches
class GradePolicy:
    allowed: dict[str, tuple[str, ...]]
    source: str

    def allows(self, grade: str, open_type: str) -> bool:
        return open_type in self.allowed.get(grade, ())

    def grade_implied_by(self, open_type: str) -> str | None:
        """The least sensitive grade whose most open allowed openness is `open_type`:
        无条件开放 implies 一般1级, 有条件开放 一般2级, 不予开放 一般4级 (default policy)."""
        openness = vocab("open_types").codes  # most open first
        for term in sorted(vocab("grades").terms, key=lambda t: t.rank or 0):
            allowed = self.allowed.get(term.code, ())
            if allowed and min(allowed, key=openness.index) == open_type:
                return term.code
        return None

    @classmethod
    def from_file(cls, path: Path | str) -> GradePolicy:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        allowed = {str(g): tuple(v) for g, v in raw["allowed"].items()}
        grades, open_types = vocab("grades"), vocab("open_types")
        missing = set(grades.codes) - set(allowed)
        unknown = (set(allowed) - set(grades.codes)) | (
            {o for opts in allowed.values() for o in opts} - set(open_types.codes)
        )
        if missing or unknown:
            raise ValueError(
                f"grade policy {path}: grades without a rule {sorted(missing)}, "
                f"unknown codes {sorted(unknown)}"
            )
        return cls(allowed=allowed, source=str(path))


@cache
def load_policy(path: str | None = None) -> GradePolicy:
    """The policy at `path`, or the bundled default; read once per path."""
    return GradePolicy.from_file(path or DEFAULT_POLICY_PATH)
