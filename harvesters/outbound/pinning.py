"""A requests transport that connects only to the address the policy checked.

urllib3 would resolve the host name again when it connects; a name whose answer changes
between the check and the connection (DNS rebinding) would then reach what the check
refused. So the connection pool is keyed and opened on the checked address itself, while
the Host header, TLS SNI and the certificate check keep the host name."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from .errors import RefusedDestination
from .policy import AllowList, checked_address

DEFAULT_PORTS = {"http": 80, "https": 443}


class PinnedAdapter(HTTPAdapter):
    def __init__(self, allow: AllowList) -> None:
        super().__init__(max_retries=0)  # a retry would be a second, unchecked resolution
        self.allow = allow

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        scheme, hostname, port = host_params["scheme"], host_params["host"], host_params["port"]
        url = request.url or ""
        if scheme not in DEFAULT_PORTS or not hostname:
            raise RefusedDestination(url, "只能访问 http 或 https 网址", "only http(s) is fetched")
        address = checked_address(hostname, port or DEFAULT_PORTS[scheme], self.allow, url)
        # The headers may be shared with other requests: change a copy.
        request.headers = CaseInsensitiveDict(request.headers or {})
        shown_host = f"[{hostname}]" if ":" in hostname else hostname
        request.headers["Host"] = shown_host + (f":{port}" if port else "")
        if scheme == "https":
            pool_kwargs["server_hostname"] = hostname  # SNI
            pool_kwargs["assert_hostname"] = hostname  # the certificate names the host
        host_params["host"] = f"[{address}]" if address.version == 6 else str(address)
        return host_params, pool_kwargs

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        # The old entry point would bypass the pinning above.
        raise NotImplementedError("use get_connection_with_tls_context")
