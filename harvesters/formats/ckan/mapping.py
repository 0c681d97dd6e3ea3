"""data/ckan.yaml: the keys, values and groups of other portals that mean our fields and
terms, loaded once and folded for lookup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from schemas import vocab

from ...labels import fold

# harvesters/data/ckan.yaml, declared as package data in pyproject.toml.
MAPPING_FILE = Path(__file__).parents[2] / "data" / "ckan.yaml"


@dataclass(frozen=True)
class CkanMapping:
    """data/ckan.yaml, with keys folded for lookup."""

    fields: dict[str, str]  # folded source key → our field
    organization_fields: dict[str, str]
    values: dict[str, dict[str, str]]  # vocabulary → folded source value → term
    group_map: dict[str, str | None]  # folded group name → "zone:x" / "domain:x" / None
    api_resource_types: frozenset[str]
    generic_host_labels: frozenset[str]

    def with_groups(self, extra: Mapping[str, str | None]) -> CkanMapping:
        merged = {**self.group_map, **{fold(k): v for k, v in extra.items()}}
        _check_group_targets(merged)
        return CkanMapping(
            self.fields,
            self.organization_fields,
            self.values,
            merged,
            self.api_resource_types,
            self.generic_host_labels,
        )


@cache
def load_mapping(path: Path = MAPPING_FILE) -> CkanMapping:
    raw = yaml.safe_load(path.read_text("utf-8"))
    group_map = {fold(k): v for k, v in raw["group_map"].items()}
    _check_group_targets(group_map)
    return CkanMapping(
        fields=_key_index(raw["fields"]),
        organization_fields=_key_index(raw["organization_fields"]),
        values={
            name: {fold(k): str(v) for k, v in table.items()}
            for name, table in raw["values"].items()
        },
        group_map=group_map,
        api_resource_types=frozenset(fold(t) for t in raw["api_resource_types"]),
        generic_host_labels=frozenset(raw["generic_host_labels"]),
    )


def _key_index(table: Mapping[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for our_field, keys in table.items():
        for key in [our_field, *keys]:
            out.setdefault(fold(key), our_field)
    return out


def _check_group_targets(group_map: Mapping[str, str | None]) -> None:
    """A group map names existing zones and domains; a typo fails the run at once."""
    for group, target in group_map.items():
        if target is None:
            continue
        kind, _, code = str(target).partition(":")
        vocabulary = {"zone": "zones", "domain": "domains"}.get(kind)
        if vocabulary is None or vocab(vocabulary).resolve(code) != code:
            raise ValueError(
                f"group_map[{group!r}] = {target!r}: expected 'zone:<code>' or "
                "'domain:<code>' with a code of schemas/vocab/zones.yaml or domains.yaml"
            )
