"""Query expansion with the synonym list kept as data (synonyms.txt)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from .analysis import normalize

SYNONYMS_FILE = Path(__file__).with_name("synonyms.txt")
MAX_VARIANTS = 8


@cache
def groups(path: Path = SYNONYMS_FILE) -> tuple[tuple[str, ...], ...]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words = tuple(dict.fromkeys(normalize(w.strip()) for w in line.split(",") if w.strip()))
            if len(words) > 1:
                out.append(words)
    return tuple(out)


def variants(term: str) -> list[str]:
    """`term` and its rewrites with synonyms: 公交线路 → 公交线路, 公共汽车线路, 巴士线路.

    Longer synonyms are tried first, so 老年人 is not also rewritten as 老年+人.
    """
    term = normalize(term)
    found = [term]
    for group in groups():
        for word in sorted(group, key=len, reverse=True):
            if word in term:
                for other in group:
                    if other != word:
                        found.append(term.replace(word, other))
                break
    return list(dict.fromkeys(found))[:MAX_VARIANTS]
