"""URLs only handed upstream (image prompts, --sref/--oref, retexture sources)
are judged by the same address classifier as the URLs the server fetches
itself: an IPv6 literal that carries a non-public IPv4 address is refused in
every embedded form, and public hosts and the site's own signed URLs pass."""

from __future__ import annotations

import ipaddress

import pytest

from gallery.catalog.prompt import Code, check_url, lint

# The IPv4 addresses a URL must never point the upstream at.
INNER = {
    "loopback": "127.0.0.1",
    "loopback high": "127.255.255.254",
    "private 10/8": "10.0.0.5",
    "private 172.16/12": "172.16.0.1",
    "private 192.168/16": "192.168.1.2",
    "carrier-grade NAT": "100.64.0.1",
    "link-local": "169.254.0.1",
    "cloud metadata": "169.254.169.254",
    "this network": "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
}
TEREDO_SERVER = int(ipaddress.IPv4Address("65.54.227.120"))


def mapped(v4: ipaddress.IPv4Address) -> str:
    return f"::ffff:{v4}"


def mapped_hex(v4: ipaddress.IPv4Address) -> str:
    return str(ipaddress.IPv6Address((0xFFFF << 32) | int(v4)))


def nat64(v4: ipaddress.IPv4Address) -> str:
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(v4)))


def nat64_dotted(v4: ipaddress.IPv4Address) -> str:
    return f"64:ff9b::{v4}"


def local_nat64(v4: ipaddress.IPv4Address) -> str:
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b:1::")) | int(v4)))


def sixtofour(v4: ipaddress.IPv4Address) -> str:
    return str(ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | 1))


def sixtofour_bare(v4: ipaddress.IPv4Address) -> str:
    return str(ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80)))


def teredo(v4: ipaddress.IPv4Address) -> str:
    client = ~int(v4) & 0xFFFFFFFF  # Teredo stores the client obfuscated
    value = (0x20010000 << 96) | (TEREDO_SERVER << 64) | (0x8000 << 48) | (0x63BF << 32) | client
    return str(ipaddress.IPv6Address(value))


def compatible(v4: ipaddress.IPv4Address) -> str:
    return f"::{v4}"  # the deprecated IPv4-compatible form


FORMS = {
    "IPv4-mapped": mapped,
    "IPv4-mapped, hex": mapped_hex,
    "NAT64": nat64,
    "NAT64, dotted": nat64_dotted,
    "local-use NAT64": local_nat64,
    "6to4": sixtofour,
    "6to4, bare prefix": sixtofour_bare,
    "Teredo": teredo,
    "IPv4-compatible": compatible,
}
EMBEDDED = [
    pytest.param(form(ipaddress.IPv4Address(v4)), id=f"{form_name} of {kind}")
    for form_name, form in FORMS.items()
    for kind, v4 in INNER.items()
]


def test_the_forms_from_the_review_are_among_those_checked():
    literals = {param.values[0] for param in EMBEDDED}
    assert {"64:ff9b::7f00:1", "2002:7f00:1::"} <= literals


@pytest.mark.parametrize("literal", EMBEDDED)
def test_an_ipv6_literal_embedding_a_non_public_ipv4_address_is_refused(literal):
    for url in (f"http://[{literal}]/a.png", f"https://[{literal}]:8443/ref.jpg?x=1"):
        assert check_url(url) is not None, url
        code, message = check_url(url)
        assert code == Code.URL_NOT_PUBLIC
        assert message.startswith("points to ")


@pytest.mark.parametrize("literal", ["64:ff9b::7f00:1", "2002:7f00:1::", "::ffff:169.254.169.254"])
@pytest.mark.parametrize(
    ("template", "param"),
    [
        ("http://[{}]/a.png a cat", "image_prompt"),
        ("a cat --sref http://[{}]/s.png", "--sref"),
        ("a cat --oref http://[{}]/f.png", "--oref"),
    ],
)
def test_the_linter_refuses_them_wherever_a_url_goes(literal, template, param):
    result = lint(template.format(literal))
    assert (Code.URL_NOT_PUBLIC, param) in {(i.code, i.param) for i in result.issues}


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a.png",
        "https://cdn.example.org:8443/refs/face.webp?v=2",
        "http://8.8.8.8/a.png",
        "http://[2606:4700:4700::1111]/a.png",
        # DNS64 on an IPv6-only network gives every IPv4-only host such an address.
        "http://[64:ff9b::808:808]/a.png",
        "http://[2002:808:808::1]/a.png",
    ],
)
def test_public_hosts_still_pass(url):
    assert check_url(url) is None


def test_the_sites_own_signed_urls_pass_even_on_loopback():
    own = "http://127.0.0.1:8000/p/1a2b.c3d4/references/7/20260501-1234-ab.png"
    assert check_url(own, trusted_prefixes=["http://127.0.0.1:8000/"]) is None
    assert check_url(own) is not None  # trusted because it is ours, not because it is fine


def test_the_refusal_names_the_kind_of_address():
    code, message = check_url("http://[64:ff9b::7f00:1]/a.png")
    assert code == Code.URL_NOT_PUBLIC
    assert "127.0.0.1" in message and "loopback" in message
