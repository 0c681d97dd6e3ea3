"""Controlled vocabularies, loaded from the data files in ``schemas/vocab/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

VOCAB_DIR = Path(__file__).parent / "vocab"


@dataclass(frozen=True)
class Term:
    code: str
    zh: str
    en: str
    rank: int | None = None
    id: int | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    name: str
    zh: str
    en: str
    terms: tuple[Term, ...]
    _lookup: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for term in self.terms:
            for spelling in (term.code, term.zh, term.en, *term.aliases):
                self._lookup.setdefault(_fold(spelling), term.code)
            if term.id is not None:
                self._lookup.setdefault(str(term.id), term.code)

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.terms]

    def term(self, code: str) -> Term:
        for t in self.terms:
            if t.code == code:
                return t
        raise KeyError(f"{code!r} is not a term of {self.name}")

    def resolve(self, value: object) -> str | None:
        """The code for a code, a label (zh or en) or a known alias; None if unknown."""
        if value is None:
            return None
        return self._lookup.get(_fold(str(value)))

    def label(self, code: str, lang: str = "zh") -> str:
        term = self.term(code)
        return term.zh if lang == "zh" else term.en


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


def _load(path: Path) -> Vocabulary:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    terms = tuple(
        Term(
            code=str(t["code"]),
            zh=t["zh"],
            en=t["en"],
            rank=t.get("rank"),
            id=t.get("id"),
            aliases=tuple(str(a) for a in t.get("aliases", ())),
        )
        for t in raw["terms"]
    )
    return Vocabulary(name=raw["name"], zh=raw["title"]["zh"], en=raw["title"]["en"], terms=terms)


@cache
def vocabularies() -> dict[str, Vocabulary]:
    """Every vocabulary by name (file stem)."""
    return {path.stem: _load(path) for path in sorted(VOCAB_DIR.glob("*.yaml"))}


def vocab(name: str) -> Vocabulary:
    return vocabularies()[name]


def grade_rank(code: str) -> int:
    rank = vocab("grades").term(code).rank
    assert rank is not None, f"grade {code} has no rank"
    return rank
