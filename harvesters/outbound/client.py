"""The one outbound HTTP client of the product: every fetch of a harvester and the
resource proxy go through it.

- http and https only; each hop's destination checked and pinned (`policy`, `pinning`);
- redirects followed here, hop by hop, each hop checked again, at most `max_redirects`;
- a connect and a read timeout per hop and a wall-time bound for the whole exchange,
  checked between reads;
- a cap on the body, read as it streams in (the declared length is not trusted);
- no proxy or .netrc from the environment (they would bypass the address check);
- extra headers (a department's credentials) sent only to the hosts they are for, hop
  by hop, so a redirect elsewhere does not carry them.

`OutboundSession` is a `requests.Session` for libraries that want one (ckanapi);
`OutboundClient.fetch` / `fetch_into` are for everyone else."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.utils import requote_uri

from .errors import RefusedDestination, ResponseTooLarge, UpstreamFailed, UpstreamTimeout
from .pinning import DEFAULT_PORTS, PinnedAdapter
from .policy import AllowList

CHUNK = 64 * 1024
USER_AGENT = "qingdao-data-portal"


@dataclass(frozen=True)
class Limits:
    """Bounds of one exchange (a request, its redirects and its body)."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # seconds of silence allowed on one read
    total_timeout: float = 300.0  # wall time for the whole exchange
    max_bytes: int = 256 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class HostHeaders:
    """Headers (credentials) for some hosts only."""

    hosts: frozenset[str]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fetched:
    """What answered: the final URL (after redirects), status, type and body size."""

    url: str
    status: int
    content_type: str | None
    size: int


class OutboundSession(requests.Session):
    def __init__(
        self,
        allow: AllowList | None = None,
        limits: Limits | None = None,
        credentials: Iterable[HostHeaders] = (),
    ) -> None:
        super().__init__()
        self.trust_env = False  # no HTTP(S)_PROXY, no .netrc: the check must see the target
        self.limits = limits or Limits()
        self.credentials = tuple(credentials)
        self.headers["User-Agent"] = USER_AGENT
        adapter = PinnedAdapter(allow or AllowList())
        self.adapters.clear()  # no other scheme has a transport: file:// cannot be sent
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """A whole exchange; the body is read (within the cap) unless `stream=True`."""
        stream = kwargs.pop("stream", False)
        deadline = time.monotonic() + self.limits.total_timeout
        response = self.exchange(request, deadline=deadline, **kwargs)
        if not stream:
            body = io.BytesIO()
            read_body(response, body, self.limits, deadline)
            response._content = body.getvalue()
            response._content_consumed = True
        return response

    def exchange(
        self, request: requests.PreparedRequest, *, deadline: float, **kwargs: Any
    ) -> requests.Response:
        """Send the request and follow its redirects, checking every hop; the last
        response comes back with its body unread."""
        follow = kwargs.pop("allow_redirects", True)
        read_timeout = _read_timeout(kwargs.pop("timeout", None), self.limits)
        kwargs.pop("proxies", None)
        history: list[requests.Response] = []
        while True:
            _check_scheme(request.url or "")
            self._add_credentials(request)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _too_slow(request.url or "", self.limits)
            timeout = (min(self.limits.connect_timeout, remaining), min(read_timeout, remaining))
            try:
                response = super().send(
                    request, stream=True, allow_redirects=False, timeout=timeout, **kwargs
                )
            except requests.Timeout as error:
                raise _too_slow(request.url or "", self.limits) from error
            except requests.RequestException as error:
                raise _unreachable(request.url or "", error) from error
            target = self.get_redirect_target(response) if follow else None
            if target is None:
                response.history = history
                return response
            response.close()  # a redirect's body is never read
            if len(history) >= self.limits.max_redirects:
                raise UpstreamFailed(
                    request.url or "",
                    f"重定向超过 {self.limits.max_redirects} 次",
                    f"more than {self.limits.max_redirects} redirects",
                )
            history.append(response)
            request = self._next_hop(request, response, target)

    def _next_hop(
        self, request: requests.PreparedRequest, response: requests.Response, target: str
    ) -> requests.PreparedRequest:
        url = f"{urlsplit(response.url).scheme}:{target}" if target.startswith("//") else target
        url = urljoin(response.url, requote_uri(url))
        hop = request.copy()
        hop.url = url
        if response.status_code not in (307, 308):  # the body is not sent again
            hop.body = None
            for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                hop.headers.pop(name, None)
        hop.headers.pop("Cookie", None)
        hop.headers.pop("Host", None)
        hop.prepare_cookies(merge_cookies(RequestsCookieJar(), self.cookies))
        self.rebuild_method(hop, response)
        self.rebuild_auth(hop, response)  # Authorization does not follow to another host
        return hop

    def _add_credentials(self, request: requests.PreparedRequest) -> None:
        host = (urlsplit(request.url or "").hostname or "").lower()
        for entry in self.credentials:
            for name in entry.headers:
                request.headers.pop(name, None)
        for entry in self.credentials:
            if host in entry.hosts:
                request.headers.update(entry.headers)


class OutboundClient:
    """Fetches http(s) URLs under an address policy and limits (see the module doc)."""

    def __init__(
        self,
        allow: AllowList | None = None,
        limits: Limits | None = None,
        credentials: Iterable[HostHeaders] = (),
    ) -> None:
        self.allow = allow or AllowList()
        self.limits = limits or Limits()
        self.credentials = tuple(credentials)

    def session(self) -> OutboundSession:
        """A new session under this client's policy (for ckanapi and the like)."""
        return OutboundSession(self.allow, self.limits, self.credentials)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> tuple[bytes, Fetched]:
        body = io.BytesIO()
        fetched = self.fetch_into(url, body, headers)
        return body.getvalue(), fetched

    def fetch_into(
        self, url: str, sink: BinaryIO, headers: Mapping[str, str] | None = None
    ) -> Fetched:
        """GET `url` into `sink`; a status other than 2xx is an UpstreamFailed."""
        _check_scheme(url)
        deadline = time.monotonic() + self.limits.total_timeout
        with self.session() as session:
            try:
                prepared = session.prepare_request(
                    requests.Request("GET", url, headers=dict(headers or {}))
                )
            except (requests.RequestException, ValueError) as error:
                raise RefusedDestination(url, "网址无效", "not a valid URL") from error
            response = session.exchange(prepared, deadline=deadline)
            if not 200 <= response.status_code < 300:
                response.close()
                raise UpstreamFailed(
                    response.url or url,
                    f"上游返回 HTTP {response.status_code}",
                    f"the upstream answered HTTP {response.status_code}",
                    status=response.status_code,
                )
            size = read_body(response, sink, self.limits, deadline)
            return Fetched(
                response.url or url,
                response.status_code,
                response.headers.get("Content-Type"),
                size,
            )


def read_body(response: requests.Response, sink: BinaryIO, limits: Limits, deadline: float) -> int:
    """Copy the (decoded) body into `sink`, stopping past `max_bytes` or the deadline."""
    url = response.url or ""
    try:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise _too_large(url, limits)
        size = 0
        # read1: one read at a time, so the deadline is checked between reads
        while chunk := response.raw.read1(CHUNK, decode_content=True):
            size += len(chunk)
            if size > limits.max_bytes:
                raise _too_large(url, limits)
            if time.monotonic() > deadline:
                raise _too_slow(url, limits)
            sink.write(chunk)
        return size
    except urllib3.exceptions.ReadTimeoutError as error:
        raise _too_slow(url, limits) from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise _unreachable(url, error) from error
    finally:
        response.close()


def _check_scheme(url: str) -> None:
    if urlsplit(url).scheme.lower() not in DEFAULT_PORTS:
        raise RefusedDestination(
            url, "只能访问 http 或 https 网址", "only http(s) URLs are fetched"
        )


def _read_timeout(given: Any, limits: Limits) -> float:
    if isinstance(given, tuple):
        given = given[1]
    return min(float(given), limits.read_timeout) if given else limits.read_timeout


def _too_slow(url: str, limits: Limits) -> UpstreamTimeout:
    return UpstreamTimeout(
        url,
        f"上游应答超时（每次读取 {limits.read_timeout:g} 秒，总计 {limits.total_timeout:g} 秒）",
        f"the upstream timed out ({limits.read_timeout:g} s per read, "
        f"{limits.total_timeout:g} s in all)",
        transient=True,
    )


def _too_large(url: str, limits: Limits) -> ResponseTooLarge:
    return ResponseTooLarge(
        url,
        f"上游应答超过 {limits.max_bytes} 字节",
        f"the upstream's answer is larger than {limits.max_bytes} bytes",
    )


def _unreachable(url: str, error: Exception) -> UpstreamFailed:
    # The exception's text may quote what the server sent: name its kind only.
    kind = type(error).__name__
    return UpstreamFailed(
        url, f"无法连接上游（{kind}）", f"the upstream could not be read ({kind})", transient=True
    )
