"""What kind of IP address this is: the one address classifier.

Both kinds of user URL are judged by it (DESIGN.md §3): the SSRF guard
(`gallery.net.netguard`) for what the server fetches, after resolving the name,
and `gallery.catalog.prompt.check_url` for IP literals in URLs only handed to the
upstream. One table, so an address refused in one place is refused in both.

Pure module: the standard library only, no Django, no I/O, so the prompt
parser at the bottom of the imports can use it.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The IANA special-purpose registries, most specific first. Spelt out rather
# than left to `ip.is_global`: Python 3.11.7 calls fec0::1, 4000::1, ::8.8.8.8
# and 64:ff9b::a00:1 global, and its answers change between patch releases.
_V4_RULES: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        # Linux treats a connect() to 0.0.0.0 as one to this machine.
        ("0.0.0.0/32", "the unspecified address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        # Cloud metadata services (169.254.169.254) live here.
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
)
_V6_RULES: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        # Also the deprecated IPv4-compatible form ::a.b.c.d.
        ("::/8", "a reserved address"),
        ("100::/64", "a discard-only address"),
        ("2001:db8::/32", "a documentation address"),
        ("2001::/23", "an IETF protocol address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment-routing address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_address(ip: IPAddress) -> str | None:
    """Why connecting to `ip` on a user's behalf is refused, or None if it is public.

    The reason is a noun phrase ("a private address") for the caller's sentence.
    IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4, Teredo) are
    judged by the address they carry as well.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            # A dual-stack socket sends these to the IPv4 address; a DNS answer
            # has no business returning one, so refuse even a public one.
            inner = check_address(ip.ipv4_mapped)
            if inner:
                return f"an IPv4-mapped address embedding {ip.ipv4_mapped}, {inner}"
            return "an IPv4-mapped IPv6 address"
        if ip.teredo is not None:
            client = ip.teredo[1]
            inner = check_address(client)
            if inner:
                return f"a Teredo address embedding {client}, {inner}"
            return "a Teredo tunnel address"
        embedded = _nat64_or_6to4(ip)
        if embedded is not None:
            # DNS64 resolvers on IPv6-only networks hand out 64:ff9b::a.b.c.d
            # for every IPv4-only host; a public one must keep working.
            kind, v4 = embedded
            inner = check_address(v4)
            return f"a {kind} address embedding {v4}, {inner}" if inner else None
        for net6, reason in _V6_RULES:
            if ip in net6:
                return reason
        if ip not in _V6_GLOBAL_UNICAST:
            return "an address outside the IPv6 global unicast range"
    else:
        for net4, reason in _V4_RULES:
            if ip in net4:
                return reason
    # Whatever the tables above miss but the standard library knows about.
    if ip.is_multicast:
        return "a multicast address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _nat64_or_6to4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    return None
