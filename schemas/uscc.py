"""统一社会信用代码 (unified social credit code, GB 32100-2015).

18 characters: registration authority (1), organization type (1), administrative
division (6), organization code (9, GB 11714, with its own check character) and a
check character computed over the first 17.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def check_character(first17: str) -> str:
    """The 18th character for the 17 given ones (GB 32100-2015, 4.3)."""
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise ValueError(f"not 17 code characters: {first17!r}")
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check_character(first8: str) -> str:
    """The 9th character of an organization code (GB 11714-1997)."""
    values = [int(c, 36) for c in first8]
    remainder = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def is_valid(code: str) -> bool:
    """True when `code` is 18 code characters whose last one is the right check character."""
    return (
        isinstance(code, str)
        and len(code) == 18
        and all(c in _VALUE for c in code)
        and check_character(code[:17]) == code[17]
    )


def make(registration: str, division: str, org_code8: str) -> str:
    """Build a well-formed code, e.g. make("11", "370200", "00401234")."""
    org_code = org_code8 + org_code_check_character(org_code8)
    first17 = registration + division + org_code
    return first17 + check_character(first17)
