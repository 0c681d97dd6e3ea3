"""The instance's outbound policy, from its settings: the global allow list and limits,
and per department its upstream hosts, credentials and allow list (`outbound_departments`).

The department file holds secrets: it is read here, on the server, and nothing of it is
shown in a page, an API answer, an error or the audit log."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from harvesters.outbound import AllowList, HostHeaders, Limits, OutboundClient, Reach

from .config import Settings

MAX_DEPARTMENT_FILE = 1024 * 1024


@dataclass(frozen=True)
class Department:
    """A department's upstream settings."""

    hosts: frozenset[str] = frozenset()
    headers: Mapping[str, str] = field(default_factory=dict)
    allow: AllowList = field(default_factory=AllowList)


@dataclass(frozen=True)
class Outbound:
    """How this instance reaches out: build a client for the proxy, a reach for a harvest."""

    allow: AllowList = field(default_factory=AllowList)
    limits: Limits = field(default_factory=Limits)
    departments: Mapping[str, Department] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Outbound:
        limits = Limits(
            connect_timeout=min(10.0, settings.outbound_read_timeout),
            read_timeout=settings.outbound_read_timeout,
            total_timeout=settings.outbound_total_timeout,
            max_bytes=settings.outbound_max_bytes,
        )
        path = settings.outbound_departments
        departments = load_departments(Path(path)) if path else {}
        return cls(AllowList.parse(settings.outbound_allow), limits, departments)

    def proxy_client(self, department: str | None, url: str) -> OutboundClient:
        """The client that fetches a department's resource at `url`: its credentials go
        to its upstream hosts (the resource's own host when the file names none)."""
        found = self.departments.get(department or "")
        if found is None:
            return OutboundClient(self.allow, self.limits)
        hosts = found.hosts or frozenset({(urlsplit(url).hostname or "").lower()})
        credentials = [HostHeaders(hosts, found.headers)] if found.headers else []
        return OutboundClient(self.allow + found.allow, self.limits, credentials)

    def harvest_reach(
        self, department: str | None, allow: Iterable[str] = (), *, local_files: bool = False
    ) -> Reach:
        """What a harvest source may read: the global allow list, its department's and its
        own; local files only when its path was typed at the command line."""
        extra = self.departments.get(department or "", Department()).allow
        client = OutboundClient(self.allow + extra + AllowList.parse(allow), self.limits)
        return Reach(client, local_files)


def load_departments(path: Path) -> dict[str, Department]:
    """The department file (TOML, or YAML for .yaml/.yml); ValueError says what is wrong,
    never quoting a value (they may be secrets)."""
    if path.stat().st_size > MAX_DEPARTMENT_FILE:
        raise ValueError(f"{path}: larger than {MAX_DEPARTMENT_FILE} bytes")
    text = path.read_text("utf-8")
    raw = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else tomllib.loads(text)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a table of departments is expected")
    return {str(name): _department(path, str(name), entry) for name, entry in raw.items()}


def _department(path: Path, name: str, entry: Any) -> Department:
    if not isinstance(entry, dict) or set(entry) - {"hosts", "headers", "allow"}:
        raise ValueError(f"{path}: [{name}] takes hosts, headers and allow only")
    hosts = entry.get("hosts") or []
    headers = entry.get("headers") or {}
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise ValueError(f"{path}: [{name}] hosts is a list of host names")
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and "\n" not in v + k for k, v in headers.items()
    ):
        raise ValueError(f"{path}: [{name}] headers maps header names to text")
    try:
        allow = AllowList.parse(entry.get("allow") or [])
    except ValueError as error:
        raise ValueError(f"{path}: [{name}] allow: {error}") from error
    return Department(frozenset(h.lower() for h in hosts), dict(headers), allow)
