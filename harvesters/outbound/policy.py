"""Which addresses an outbound fetch may reach: every public address, and the private ones
an allow list names (the instance's, a harvest source's, a department's).

A host name is resolved and every address it resolves to is checked; the connection is
then made to the checked address (see `pinning.py`), so a name that resolves to a public
address for the check and to 127.0.0.1 for the connection cannot get through."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import RefusedDestination, UpstreamFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges Python's `is_global` does not refuse in every version, or that route elsewhere.
EXTRA_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # CG-NAT: the carrier's inside
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "2001::/32",  # Teredo: tunnels to anywhere
        "2001:20::/28",  # ORCHIDv2
        "5f00::/16",  # segment routing
        "fec0::/10",  # site-local (deprecated, still private)
    )
)
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
MAX_ALLOW_ENTRIES = 200


@dataclass(frozen=True)
class AllowList:
    """Non-public destinations that may be reached anyway: networks (CIDR or one address)
    and host names (`data.internal`, or `.internal` for every name under it)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str] | str | None) -> AllowList:
        """From a list or a comma-separated text; ValueError names a bad entry."""
        if entries is None:
            return cls()
        items = entries.split(",") if isinstance(entries, str) else list(entries)
        items = [str(item).strip() for item in items if str(item).strip()]
        if len(items) > MAX_ALLOW_ENTRIES:
            raise ValueError(f"at most {MAX_ALLOW_ENTRIES} allow-list entries")
        networks: list[IPNetwork] = []
        hosts: list[str] = []
        for item in items:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
                continue
            except ValueError:
                pass
            host = item.lower().rstrip(".")
            if not _is_host_name(host.removeprefix("*").removeprefix(".")):
                raise ValueError(f"{item!r} is neither an address, a network nor a host name")
            hosts.append("." + host.lstrip("*.") if host.startswith(("*.", ".")) else host)
        return cls(tuple(networks), tuple(hosts))

    def __add__(self, other: AllowList) -> AllowList:
        return AllowList(self.networks + other.networks, self.hosts + other.hosts)

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or (h.startswith(".") and host.endswith(h)) for h in self.hosts)

    def allows_address(self, address: IPAddress) -> bool:
        forms = {address, *_embedded_ipv4(address)}
        return any(form in network for form in forms for network in self.networks)


def refusal(address: IPAddress) -> str | None:
    """Why an address is not public (loopback, private …), or None when it is."""
    for form in (*_embedded_ipv4(address), address):
        why = _why_not_public(form)
        if why:
            return why
    return None


def checked_address(host: str, port: int, allow: AllowList, url: str) -> IPAddress:
    """The address to connect to for `host`: every address it resolves to is public or
    allowed, else RefusedDestination (the first one refused is named)."""
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise UpstreamFailed(url, f"无法解析主机名 {host}", f"cannot resolve {host}") from error
        addresses = [
            ipaddress.ip_address(str(info[4][0]).split("%")[0])
            for info in found
            if info[0] in (socket.AF_INET, socket.AF_INET6)
        ]
        if not addresses:
            raise UpstreamFailed(url, f"{host} 没有地址", f"{host} has no address")
    if literal is None and allow.allows_host(host):
        return addresses[0]
    for address in addresses:
        why = refusal(address)
        if why and not allow.allows_address(address):
            raise RefusedDestination(
                url,
                f"目标地址 {address} 是{ZH_REASONS.get(why, why)}地址，不在允许列表中",
                f"the destination {address} is a {why} address, not in the allow list",
            )
    return addresses[0]


ZH_REASONS = {
    "loopback": "本机回环",
    "link-local": "链路本地",
    "private": "内网",
    "multicast": "组播",
    "unspecified": "未指定",
    "reserved": "保留",
    "shared (CG-NAT)": "运营商共享",
    "non-public": "非公网",
}


def _why_not_public(address: IPAddress) -> str | None:
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("shared (CG-NAT)", any(address in n for n in EXTRA_REFUSED[:1])),
        ("non-public", any(address in n for n in EXTRA_REFUSED) or not address.is_global),
    )
    return next((why for why, refused in checks if refused), None)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 address an IPv6 one carries (mapped ::ffff:a.b.c.d, NAT64, 6to4), which
    decides where a packet really goes."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if any(address in n for n in NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _is_host_name(text: str) -> bool:
    labels = text.split(".")
    return (
        0 < len(text) <= 253
        and all(0 < len(label) <= 63 for label in labels)
        and all(label.replace("-", "").isalnum() and label.isascii() for label in labels)
    )
