"""What can go wrong with an outbound fetch, as types the portal maps to HTTP problems
(refused destination → 403, timeout → 504, too large or failed upstream → 502).

A message names the kind of failure, the URL (without credentials), a status or a size:
never bytes of the answer, which belong to another origin."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from schemas import Message, message


class OutboundError(Exception):
    """An outbound fetch that did not succeed. `reason` is bilingual and holds no fetched
    content; `url` is the address that failed (a redirect's target, if that failed)."""

    kind = "failed"

    def __init__(
        self, url: str, zh: str, en: str, *, status: int | None = None, transient: bool = False
    ) -> None:
        self.url = shown_url(url)
        self.status = status  # the upstream's HTTP status, when it answered one
        self.transient = transient  # the same request might work a moment later
        self.reason: Message = message(zh, en)
        super().__init__(f"{self.url}: {en}")

    def describe(self, *, with_url: bool = True) -> Message:
        """The reason, after the URL if it may be shown (never to the public for a proxied
        resource: its upstream address is not theirs to see)."""
        if not with_url:
            return self.reason
        return message(f"{self.url}：{self.reason['zh']}", f"{self.url}: {self.reason['en']}")


class RefusedDestination(OutboundError):
    """The scheme or the address is not one we fetch from (a local or private address
    outside the allow list, a file: URL …)."""

    kind = "refused"


class UpstreamTimeout(OutboundError):
    kind = "timeout"


class ResponseTooLarge(OutboundError):
    kind = "too_large"


class UpstreamFailed(OutboundError):
    """No answer we can use: the connection failed, TLS failed, an error status, too many
    redirects, a broken body."""

    kind = "failed"


def shown_url(url: str) -> str:
    """The URL without user:password (the only part of an address that is a secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[:300]
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=netloc))[:500]
