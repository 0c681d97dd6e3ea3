"""Harvest a remote CKAN portal through its Action API (ckanapi.RemoteCKAN).

Organizations come from `organization_list`, datasets from `package_search`, paged with
`rows`/`start` in a stable order; what a package means in our profile is
`formats/ckan/`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import requests
from ckanapi import RemoteCKAN
from ckanapi.errors import (
    CKANAPIError,
    NotAuthorized,
    NotFound,
    SearchError,
    SearchQueryError,
    ServerIncompatibleError,
    ValidationError,
)

from schemas import Message, message

from .base import HarvestSourceError, SourceRecord
from .formats.ckan import (
    PackageMapper,
    default_prefix,
    has_id,
    load_mapping,
    map_safely,
    package_organization,
    slug_prefix,
)
from .outbound import OutboundError, Reach

# Statuses worth asking again: the portal or a proxy in front of it is busy or restarting.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


ORGANIZATION_PAGE = 25  # CKAN's default cap on organization_list with all_fields


SORT = "metadata_modified asc, id asc"  # id breaks ties, so pages never overlap


class CkanHarvester:
    """Harvests a CKAN portal at `url` (e.g. https://data.example.org).

    Options:
        prefix: prefix of our dataset and organization names (default: the first
            telling label of the portal's host).
        page_size: datasets per `package_search` request (default 100).
        since: a datetime or ISO string, the start of the last good run: only datasets
            modified since then are asked for (default: all).
        organizations: CKAN organization names or ids to harvest (default: all).
        group_map: {"group-name": "zone:port" | "domain:transport" | None}, merged over
            the defaults in data/ckan.yaml.
        include_private: harvest private datasets too (needs `api_key`; default False).
        api_key: API token for portals that need one.
        retries: how often a request that failed for a transient reason is repeated
            (default 3), with exponential `backoff` seconds between (default 1.0).
        timeout: seconds to wait for one answer (default 60).
        user_agent: the User-Agent header sent.
        get_only: use GET rather than POST for actions (default True: read-only, cacheable).
        reach: what may be reached (`outbound.Reach`); ckanapi's requests go through its
            outbound session (address policy, redirects re-checked, size and time bounds).
    """

    name = "ckan"

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        page_size: int = 100,
        since: datetime | str | None = None,
        organizations: Iterable[str] = (),
        group_map: Mapping[str, str | None] | None = None,
        include_private: bool = False,
        api_key: str | None = None,
        retries: int = 3,
        backoff: float = 1.0,
        timeout: float = 60.0,
        user_agent: str = "qingdao-open-data-harvester (+ckanapi)",
        get_only: bool = True,
        reach: Reach | None = None,
    ) -> None:
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000 (CKAN's maximum rows)")
        self.url = url.rstrip("/")
        self.mapping = load_mapping().with_groups(group_map or {})
        self.prefix = slug_prefix(prefix) if prefix else default_prefix(url, self.mapping)
        self.page_size = page_size
        self.since = solr_date(since) if since is not None else None
        self.organizations = frozenset(organizations)
        self.include_private = include_private
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._status: int | None = None
        session = (reach or Reach()).client.session()
        session.hooks["response"].append(self._remember_status)
        self.ckan = RemoteCKAN(
            self.url, apikey=api_key, user_agent=user_agent, get_only=get_only, session=session
        )

    def records(self) -> Iterator[SourceRecord]:
        mapper = PackageMapper(self.url, self.prefix, self.mapping)
        organizations = self._organizations()
        yielded: set[str] = set()
        for org in organizations:
            yielded.add(org["id"])
            yield map_safely("organization", mapper.organization, org, self.url)
        seen: set[str] = set()
        for package in self._packages():
            # A dataset modified while we page moves to the end and comes round again.
            if package["id"] in seen or not self._wanted(package):
                continue
            seen.add(package["id"])
            org = package_organization(package)
            if has_id(org) and org["id"] not in yielded:
                # Created after the organization list was read: still before its datasets.
                yielded.add(org["id"])
                yield map_safely("organization", mapper.organization, org, self.url)
            yield map_safely("dataset", mapper.dataset, package, self.url)

    # --- reading the portal -----------------------------------------------------------

    def _organizations(self) -> list[dict[str, Any]]:
        """All organizations (or the chosen ones), paging past CKAN's cap on all_fields."""
        found: dict[str, dict[str, Any]] = {}
        while True:
            page = self._call(
                "organization_list",
                all_fields=True,
                include_extras=True,
                limit=ORGANIZATION_PAGE,
                offset=len(found),
            )
            if not isinstance(page, list):
                raise self._unexpected("organization_list", len(found))
            fresh = [o for o in page if has_id(o) and o["id"] not in found]
            if not fresh:  # the end, or a CKAN too old to page (it repeats the list)
                break
            found.update((o["id"], o) for o in fresh)
        return [o for o in found.values() if self._chosen(o)]

    def _packages(self) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            result = self._call(
                "package_search",
                q="*:*",
                fq=self._filter(),
                rows=self.page_size,
                start=start,
                sort=SORT,
                include_private=self.include_private,
            )
            page = result.get("results") if isinstance(result, dict) else None
            if not isinstance(page, list):
                raise self._unexpected("package_search", start)
            yield from (p for p in page if has_id(p))
            start += len(page)
            if not page or start >= int(result.get("count") or 0):
                return

    def _filter(self) -> str:
        parts = []
        if self.since:
            parts.append(f"metadata_modified:[{self.since} TO *]")
        if self.organizations:
            names = " OR ".join(sorted(_solr_term(o) for o in self.organizations))
            parts.append(f"organization:({names})")
        return " AND ".join(parts)

    def _chosen(self, org: Mapping[str, Any]) -> bool:
        names = {str(org.get("name")), str(org.get("id"))}
        return not self.organizations or bool(names & self.organizations)

    def _wanted(self, package: Mapping[str, Any]) -> bool:
        if package.get("private") and not self.include_private:
            return False
        if package.get("state", "active") != "active":
            return False
        return self._chosen(package_organization(package))

    # --- one request, retried -----------------------------------------------------------

    def _call(self, action: str, **params: Any) -> Any:
        url = self._action_url(action, params)
        for attempt in range(self.retries + 1):
            self._status = None
            try:
                return self.ckan.call_action(
                    action, params, requests_kwargs={"timeout": self.timeout}
                )
            except (NotAuthorized, NotFound, ValidationError, SearchQueryError) as error:
                raise HarvestSourceError(_refused(url, error), url) from error
            except ServerIncompatibleError as error:
                raise HarvestSourceError(_not_ckan(url), url) from error
            except (CKANAPIError, requests.RequestException, OutboundError) as error:
                if not self._transient(error) or attempt == self.retries:
                    reason = (
                        f"HTTP {self._status}: {_short(error)}" if self._status else _short(error)
                    )
                    raise HarvestSourceError(_failed(url, reason, attempt + 1), url) from error
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _transient(self, error: Exception) -> bool:
        if isinstance(error, OutboundError):  # refused, too large: asking again is no use
            return error.transient
        if isinstance(error, SearchError | requests.ConnectionError | requests.Timeout):
            return True
        return isinstance(error, CKANAPIError) and self._status in TRANSIENT_STATUSES

    def _remember_status(self, response: requests.Response, *_: Any, **__: Any) -> None:
        self._status = response.status_code

    def _action_url(self, action: str, params: Mapping[str, Any]) -> str:
        shown = " ".join(
            f"{k}={v}" for k, v in params.items() if k in ("start", "offset", "fq") and v != ""
        )
        return f"{self.url}/{self.ckan.base_url}{action}" + (f" ({shown})" if shown else "")

    def _unexpected(self, action: str, position: int) -> HarvestSourceError:
        where = "offset" if action == "organization_list" else "start"
        url = f"{self.url}/{self.ckan.base_url}{action} ({where}={position})"
        return HarvestSourceError(_not_ckan(url), url)


# --- mapping one package -------------------------------------------------------------------


def solr_date(value: datetime | date | str) -> str:
    """A datetime or ISO string as a Solr UTC date: 2024-01-01T00:00:00Z. A datetime
    without a zone is taken as UTC, as CKAN keeps metadata_modified in UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as error:
            raise ValueError(f"since: {value!r} is not an ISO date or datetime") from error
    moment = value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _solr_term(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _refused(url: str, error: Exception) -> Message:
    # The portal's error dict is its own text: name the kind of refusal, quote nothing.
    kind = type(error).__name__
    return message(
        f"CKAN 门户拒绝了请求 {url}（{kind}）",
        f"The CKAN portal refused {url} ({kind}).",
    )


def _not_ckan(url: str) -> Message:
    return message(
        f"{url} 的应答不像 CKAN 接口；请检查门户地址",
        f"{url} does not answer like a CKAN Action API; check the portal's address.",
    )


def _failed(url: str, reason: str, attempts: int) -> Message:
    return message(
        f"无法读取 CKAN 门户 {url}（尝试 {attempts} 次）：{reason}",
        f"Could not read the CKAN portal at {url} after {attempts} attempt(s): {reason}",
    )


def _short(error: Exception) -> str:
    """What failed, without what the server sent (ckanapi's errors carry the body)."""
    if isinstance(error, OutboundError):
        return error.reason["en"]
    return type(error).__name__
