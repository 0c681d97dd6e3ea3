"""Which host names the portal answers to, whom it believes about the client's address,
and the base of every absolute URL it writes (mail links, DCAT, CKAN).

A request's `Host` is the client's to choose, so it never decides an absolute URL on its
own: the configured public URL does; else the request's host when it is one of the trusted
hosts (Flask's TRUSTED_HOSTS: any other host gets 400 before a view runs); else, with no
list at all, the address the portal listens on. `X-Forwarded-For` and its kin are read
only from the `trusted_proxies` nearest hops (werkzeug's ProxyFix); without proxies
configured they are ignored, so a client cannot pick its rate-limit bucket.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import Settings
from .services import settings

WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")


def trusted_hosts(config: Settings) -> list[str]:
    """The host names requests may carry: the setting's, the public URL's host, and the
    address the portal listens on (when it names one). Empty (neither set): any host is
    answered, and absolute URLs use the listening address."""
    names = [h.strip().lower() for h in config.trusted_hosts.split(",") if h.strip()]
    public = urlsplit(config.public_url).hostname if config.public_url else None
    if public:
        names.append(public)
    if not names:
        return []
    # The listening address, for health checks; werkzeug cannot list an IPv6 literal.
    if config.host not in WILDCARD_ADDRESSES and ":" not in config.host:
        names.append(config.host)
    return sorted(set(names))


def init_hosts(app: Flask, config: Settings) -> None:
    hosts = trusted_hosts(config)
    app.config["TRUSTED_HOSTS"] = hosts or None
    if config.trusted_proxies > 0:
        hops = config.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


def external_base() -> str:
    """The portal's address for absolute URLs, without a trailing slash."""
    config = settings()
    if config.public_url:
        return config.public_url.rstrip("/")
    if trusted_hosts(config):
        return request.host_url.rstrip("/")  # Flask refused the request if it was not listed
    host = "127.0.0.1" if config.host in WILDCARD_ADDRESSES else config.host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.port}"


def external_url(endpoint: str, **values: object) -> str:
    return external_base() + url_for(endpoint, **values)
