"""Bounds on what one request or one harvested file may cost: patterns that stay linear on
hostile text (issue 15, finding 3), spreadsheets that cannot declare a huge grid (4),
request bodies and list parameters held to a size (14), and hostile numbers, nesting and
uploads answered with a 4xx, never a 500, with no file left behind (16)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Iterator

import pytest
from marshmallow import ValidationError

from harvesters.cnportal import load_rules
from schemas.base import email_field, url_field

from ..access.conftest import World, world  # noqa: F401

PACKAGES = ("schemas", "harvesters", "portal")
BUDGET = 0.5  # seconds a pattern may take on one hostile text
HOSTILE_LENGTH = 50_000


# -- finding 3: every pattern linear on hostile text ----------------------------------------


def _module_patterns() -> Iterator[tuple[str, re.Pattern[str]]]:
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in info.name or info.name.endswith(("__main__", "wsgi")):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if isinstance(value, re.Pattern):
                    yield f"{info.name}.{name}", value


def _every_pattern() -> dict[str, re.Pattern[str]]:
    found = dict(_module_patterns())
    rules = load_rules()  # the Chinese-portal harvester's patterns live in its YAML
    for name in ("single_value", "list_item", "keyword_separators", "condition_in_description"):
        found[f"cnportal.yaml.{name}"] = getattr(rules, name)
    return found


PATTERNS = _every_pattern()


def _hostile_texts() -> Iterator[str]:
    runs = ["a", "1", " ", "\t", "@", ".", "-", "a.", "1 ", "a@", "(", "\\", '"', "年", "a-1"]
    heads = ["", "1", "a@", "2020", "a(", "x:", "申请条件："]
    tails = ["", "!", " x", "@", ")", "\n"]
    for run in runs:
        body = run * (HOSTILE_LENGTH // len(run))
        for head in heads:
            for tail in tails:
                yield head + body + tail


def test_the_pattern_list_is_not_empty() -> None:
    assert len(PATTERNS) > 30
    assert "portal.access.accounts.EMAIL" not in PATTERNS  # the quadratic one is gone


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_pattern_is_fast_on_long_hostile_text(name: str) -> None:
    pattern = PATTERNS[name]
    for text in _hostile_texts():
        for run in (pattern.match, pattern.search):
            started = time.perf_counter()
            run(text)
            spent = time.perf_counter() - started
            assert spent < BUDGET, f"{name}.{run.__name__} took {spent:.2f}s on {text[:12]!r}…"


@pytest.mark.parametrize("make_field", [email_field, url_field])
def test_profile_text_fields_refuse_long_text_before_their_patterns(make_field) -> None:  # type: ignore[no-untyped-def]
    field = make_field()
    for text in ("a@" + "a." * 40_000 + " ", "http://" + "a." * 40_000 + "/ x"):
        started = time.perf_counter()
        with pytest.raises(ValidationError) as refused:
            field.deserialize(text)
        assert time.perf_counter() - started < BUDGET
        assert "characters" in str(refused.value)


def test_signing_up_with_a_huge_email_is_refused_at_once(world: World) -> None:  # noqa: F811
    for email in ("a@" + "a." * 32_000 + " ", "a" * 65_536, "@" * 65_536):
        started = time.perf_counter()
        response = world.client.post(
            "/api/v1/accounts",
            json={
                "email": email,
                "password": "long enough password",
                "enterprise_name": "某公司",
                "enterprise_uscc": "91370200163562681G",
            },
        )
        assert time.perf_counter() - started < 2.0
        assert response.status_code in (400, 422), response.get_data(as_text=True)[:300]
        assert "email" in response.get_json()["errors"]
