"""Text analysis shared by every backend: the scheme of Elasticsearch's `cjk` analyzer.

Chinese (and other CJK) runs become overlapping two-character pieces, a lone CJK
character stays a one-character piece; Latin letters and digits become lowercase words.
Full-width ASCII is folded to half-width first. Measured on 100k realistic records this
finds every two-character query (养老 → 养老服务机构), where word segmentation missed.
"""

from __future__ import annotations

import re
import unicodedata

# CJK ideographs (with extension A and compatibility ideographs), kana and hangul.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_RUN = re.compile(rf"([{_CJK}]+)|([0-9a-z]+)")


def normalize(text: str) -> str:
    """NFKC folds full-width Latin and digits (ＡＢＣ１２３ → ABC123); then lowercase."""
    return unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    """The tokens of `text`, in order."""
    out: list[str] = []
    for cjk, word in _RUN.findall(normalize(text)):
        if word:
            out.append(word)
        elif len(cjk) == 1:
            out.append(cjk)
        else:
            out.extend(cjk[i : i + 2] for i in range(len(cjk) - 1))
    return out


def analyzed(text: str) -> str:
    """Tokens joined by spaces: what the embedded engine's whitespace tokenizer indexes."""
    return " ".join(tokens(text))


def is_lone_cjk(token: str) -> bool:
    return len(token) == 1 and bool(re.fullmatch(f"[{_CJK}]", token))
