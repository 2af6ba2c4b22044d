"""IP-based restriction: who may sign in and use the API from where.

An admin gives a user, or a team, a list of CIDR ranges (``User.allowed_ips``,
``Team.allowed_ips``). A user's effective ranges are their own list when it
is not empty, otherwise their team's; both empty means anywhere. Own-or-team
rather than the union: the product's "IP Based Restriction" is per user, and
an admin who sets a user's own ranges (a rep working from home) means those,
while a team's list spares setting the same office range on every member.

Addresses are compared as the client's IP: ``REMOTE_ADDR``, or, when
REMOTE_ADDR is one of TRUSTED_PROXIES, the right-most X-Forwarded-For entry
that is not itself a trusted proxy (the left-most entries are whatever the
client chose to send). An IPv4-mapped IPv6 address (``::ffff:192.0.2.1``, as
dual-stack sockets report IPv4 clients) is compared as the IPv4 address.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

from django.conf import settings

from config.errors import Invalid, error

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_RANGES = 100


def parse_address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])  # an IPv6 zone id says nothing about who it is
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=4)
def _trusted_proxies(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in spec)


def _is_trusted_proxy(address: Address) -> bool:
    return any(address in network for network in _trusted_proxies(tuple(settings.TRUSTED_PROXIES)) if address.version == network.version)


def client_ip(request) -> str | None:
    """The client's address as a string (IPv4-mapped IPv6 unwrapped), or
    None when the server was not told one."""
    address = parse_address(request.META.get("REMOTE_ADDR"))
    if address is None:
        return None
    if settings.TRUSTED_PROXIES and _is_trusted_proxy(address):
        hops = [parse_address(part) for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for hop in reversed(hops):
            if hop is None:
                break  # garbage in the header: stop at the last address we could trust
            address = hop
            if not _is_trusted_proxy(hop):
                break
    return str(address)


def check_ranges(values: Sequence[str], loc: tuple[str | int, ...] = ("allowed_ips",)) -> list[str]:
    """Validated, normalized CIDR ranges: ``10.0.0.7/24`` becomes
    ``10.0.0.0/24`` (what the admin meant), a bare address its /32 or /128,
    IPv4-mapped IPv6 ranges their IPv4 range; duplicates go. Every bad entry
    is named by its index."""
    if len(values) > MAX_RANGES:
        raise Invalid.field(loc, f"at most {MAX_RANGES} ranges")
    errors, ranges = [], []
    for index, value in enumerate(values):
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            errors.append(error((*loc, index), f"{value!r} is not an IP address or CIDR range (e.g. 203.0.113.0/24 or 2001:db8::/32)"))
            continue
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None and network.prefixlen >= 96:
            network = ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/{network.prefixlen - 96}")
        if str(network) not in ranges:
            ranges.append(str(network))
    if errors:
        raise Invalid(errors)
    return ranges


def effective_ranges(user) -> list[str]:
    """The user's own ranges, else their team's; [] means anywhere. Reads
    ``user.team`` (TokenAuth and the session backend load it with the user,
    so this costs no query)."""
    if user.allowed_ips:
        return list(user.allowed_ips)
    if user.team_id and user.team.allowed_ips:
        return list(user.team.allowed_ips)
    return []


def address_in(ip: str | None, ranges: Iterable[str]) -> bool:
    ranges = list(ranges)
    if not ranges:
        return True
    address = parse_address(ip)
    if address is None:
        return False  # restricted and we cannot tell where the request is from: refuse
    return any(address in network for network in map(ipaddress.ip_network, ranges) if network.version == address.version)


def ip_allowed(user, ip: str | None) -> bool:
    return address_in(ip, effective_ranges(user))


def refusal(ip: str | None) -> str:
    return f"Access from {ip or 'an unknown address'} is not allowed for this account (IP restriction). Ask an admin."
