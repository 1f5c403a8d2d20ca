"""The SSRF guard (gallery.net.netguard).

Only loopback is ever contacted. The autouse `network` fixture makes sure:
every name lookup is answered by the test's own table (a real DNS query fails
the test), and every `connect()` is recorded and, unless it goes to a loopback
address, refused before a packet leaves. A refused URL must show no lookup or
connection beyond the ones a test expects.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gallery.net import netguard
from gallery.net.netguard import (
    FetchError,
    UnsafeURL,
    allowed_upstreams,
    check_address,
    resolve_public,
    safe_get,
    safe_post_json,
)

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect

# --- the safety net -------------------------------------------------------------------


@dataclass
class Network:
    """Fake DNS (name → answers, one list per call for rebinding) and a connect log."""

    dns: dict[str, list[list[str]] | Exception] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[tuple[str, int]] = field(default_factory=list)

    def answer(self, name: str, *answers: list[str]) -> None:
        """`name` resolves to answers[0] on the first lookup, answers[1] on the second…"""
        self.dns[name] = list(answers)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name == "localhost" and name not in self.dns:
            self.answer("localhost", ["127.0.0.1", "::1"])
        if name in self.dns:
            self.lookups.append(name)
            entry = self.dns[name]
            if isinstance(entry, Exception):
                raise entry
            addresses = entry.pop(0) if len(entry) > 1 else entry[0]
            return [_addrinfo(address, int(port)) for address in addresses]
        try:
            # Numeric forms (127.1, 2130706433, ::1) are parsed, never looked up.
            return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise AssertionError(f"the test tried a real DNS lookup of {name!r}") from None

    def connect(self, sock: socket.socket, address) -> None:
        host, port = address[0], address[1]
        self.connects.append((host, port))
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            # Recorded, then refused: nothing is sent beyond this machine.
            raise ConnectionRefusedError(f"test guard: no traffic to {host}")
        _real_connect(sock, address)


def _addrinfo(address: str, port: int):
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


@pytest.fixture(autouse=True)
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    net = Network()
    monkeypatch.setattr(socket, "getaddrinfo", net.getaddrinfo)

    def connect(sock: socket.socket, address) -> None:
        net.connect(sock, address)  # a plain function, so it binds to the socket

    monkeypatch.setattr(socket.socket, "connect", connect)

    def no_connect_ex(sock, address):
        raise AssertionError(f"connect_ex({address}) is not expected")

    monkeypatch.setattr(socket.socket, "connect_ex", no_connect_ex)
    return net


# --- a local server ------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    host: str | None
    content_type: str | None
    body: bytes


Route = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    routes: dict[str, Route]
    seen: list[Seen]
    sni: list[str | None]

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up early is part of several tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        headers = self.headers
        seen = Seen(self.command, path, headers.get("Host"), headers.get("Content-Type"), body)
        self.server.seen.append(seen)
        route = self.server.routes.get(path) or reply(404)
        with contextlib.suppress(OSError):  # the client gave up (timeouts, size caps)
            route(self)

    def log_message(self, format, *args) -> None:
        pass


def reply(status: int, body: bytes = b"", **headers: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect(location: str, status: int = 302) -> Route:
    return reply(status, Location=location)


def unsized(body: bytes) -> Route:
    """A body with no Content-Length, ended by closing the connection."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)
        handler.close_connection = True

    return route


def slow(delay: float) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        reply(200, b"late")(handler)

    return route


def drip(size: int, every: float) -> Route:
    """Headers at once, then one byte every `every` seconds: no single read is slow."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        for _ in range(size):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(every)

    return route


def _start(server: _Server) -> Iterator[_Server]:
    server.routes, server.seen, server.sni = {}, [], []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def _http_server() -> Iterator[_Server]:
    yield from _start(_Server(("127.0.0.1", 0), _Handler))


@dataclass
class Local:
    """The loopback test server and what a test needs to talk to it."""

    server: _Server
    port: int

    @property
    def origin(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def allow(self) -> set[str]:
        return {self.origin}

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, handler: Route) -> None:
        self.server.routes[path] = handler

    @property
    def paths(self) -> list[str]:
        return [seen.path for seen in self.server.seen]


@pytest.fixture
def local(_http_server: _Server) -> Local:
    _http_server.routes.clear()
    _http_server.seen.clear()
    return Local(_http_server, _http_server.server_address[1])


# --- check_address ---------------------------------------------------------------------

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.5", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
    ("0.1.2.3", "this network"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.9", "IETF protocol"),
    ("192.88.99.1", "6to4 relay"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("100::1", "discard-only"),
    ("5f00::1", "segment-routing"),
    ("4000::1", "outside the IPv6 global unicast range"),
    ("::ffff:127.0.0.1", "IPv4-mapped address embedding 127.0.0.1, a loopback address"),
    ("::ffff:10.0.0.5", "embedding 10.0.0.5, a private address"),
    ("::ffff:169.254.169.254", "embedding 169.254.169.254, a link-local address"),
    ("::ffff:8.8.8.8", "IPv4-mapped"),  # even a public one: DNS has no reason to give it
    ("::127.0.0.1", "reserved"),  # the deprecated IPv4-compatible form
    ("64:ff9b::a00:5", "NAT64 address embedding 10.0.0.5, a private address"),
    ("64:ff9b::a9fe:a9fe", "NAT64 address embedding 169.254.169.254"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 address embedding 127.0.0.1, a loopback address"),
    ("2002:a00:5::1", "6to4 address embedding 10.0.0.5"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo address embedding 192.0.2.45"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "Teredo"),  # client 8.8.8.8: still a tunnel
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",  # just below 100.64/10
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "64:ff9b::808:808",  # DNS64 on an IPv6-only network: must keep working
    "2002:808:808::1",
]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_it_refuses_every_non_public_address_class(address: str, why: str) -> None:
    reason = check_address(ipaddress.ip_address(address))
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_it_accepts_public_addresses(address: str) -> None:
    assert check_address(ipaddress.ip_address(address)) is None


# --- resolve_public ------------------------------------------------------------------


def test_it_refuses_a_name_that_resolves_to_a_private_address(network: Network) -> None:
    network.answer("intranet.example", ["10.0.0.5"])
    with pytest.raises(UnsafeURL) as refused:
        resolve_public("intranet.example", 443)
    assert refused.value.reason == "resolves to a private address (10.0.0.5)"
    assert network.connects == []


@pytest.mark.parametrize(
    "answers",
    [
        ["93.184.216.34", "10.0.0.5"],
        ["10.0.0.5", "93.184.216.34"],
        ["93.184.216.34", "::1"],
        ["2606:2800:220:1::", "fd00::1"],
        ["93.184.216.34", "::ffff:169.254.169.254"],
    ],
)
def test_it_refuses_a_name_with_one_public_and_one_private_address(
    network: Network, answers: list[str]
) -> None:
    network.answer("mixed.example", answers)
    with pytest.raises(UnsafeURL, match="resolves to"):
        resolve_public("mixed.example", 443)


def test_it_returns_every_address_of_a_public_name_in_order(network: Network) -> None:
    network.answer("images.example", ["93.184.216.34", "2606:2800:220:1::", "93.184.216.34"])
    assert resolve_public("images.example", 443) == [
        ipaddress.ip_address("93.184.216.34"),
        ipaddress.ip_address("2606:2800:220:1::"),
    ]
    assert network.connects == []


def test_it_refuses_localhost(network: Network) -> None:
    with pytest.raises(UnsafeURL, match=r"resolves to a loopback address \(127\.0\.0\.1\)"):
        resolve_public("localhost", 80)


def test_it_judges_an_ip_literal_without_a_lookup(network: Network) -> None:
    with pytest.raises(UnsafeURL, match=r"points to a link-local address \(169\.254\.169\.254\)"):
        resolve_public("169.254.169.254", 80)
    assert resolve_public("8.8.8.8", 443) == [ipaddress.ip_address("8.8.8.8")]
    assert network.lookups == []


def test_allow_lets_only_the_configured_host_and_port_through(network: Network) -> None:
    allow = {"127.0.0.1:8801"}
    assert resolve_public("127.0.0.1", 8801, allow=allow) == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(UnsafeURL):
        resolve_public("127.0.0.1", 8802, allow=allow)
    with pytest.raises(UnsafeURL):
        resolve_public("localhost", 8801, allow=allow)


def test_a_name_that_does_not_resolve_is_a_fetch_error_not_a_refusal(network: Network) -> None:
    network.dns["gone.example"] = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with pytest.raises(FetchError) as failed:
        resolve_public("gone.example", 443)
    assert not isinstance(failed.value, UnsafeURL)
    assert not failed.value.retryable


# --- safe_get: what is refused before any connection -----------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("ftp://example.com/a.png", "must start with http:// or https://"),
        ("gopher://example.com:70/_x", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("//example.com/a.png", "must start with http:// or https://"),
        ("http:///a.png", "has no host name"),
        ("http://user:secret@example.com/a.png", "user name or password"),
        ("http://example.com:99999/a.png", "invalid port"),
        ("http://exa mple.com/", "invalid host name"),
        ("http://exa%00mple.com/", "invalid host name|not a valid URL"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_it_refuses_a_url_that_is_not_plain_http(network: Network, url: str, why: str) -> None:
    with pytest.raises(UnsafeURL, match=why):
        safe_get(url, max_bytes=1000)
    assert network.lookups == []
    assert network.connects == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",  # Alibaba's metadata, in CGNAT space
        "http://0.0.0.0:8000/",
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[fe80::1%25eth0]/",
        "http://224.0.0.251/",
        "http://255.255.255.255/",
        "http://192.0.2.1/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f000001/",
        "http://017700000001/",
        "http://127.1/",
        "http://10.1/",
    ],
)
def test_it_refuses_private_addresses_in_any_spelling_without_connecting(
    network: Network, url: str
) -> None:
    with pytest.raises(UnsafeURL, match=r"^(points|resolves) to "):
        safe_get(url, max_bytes=1000)
    assert network.lookups == []
    assert network.connects == []


def test_it_refuses_a_name_that_resolves_to_the_metadata_address(network: Network) -> None:
    network.answer("metadata.example", ["169.254.169.254"])
    with pytest.raises(UnsafeURL, match=r"resolves to a link-local address \(169\.254\.169\.254\)"):
        safe_get("https://metadata.example/latest/meta-data/", max_bytes=1000)
    assert network.connects == []


def test_it_refuses_the_local_server_when_it_is_not_allowed(local: Local, network: Network) -> None:
    local.route("/a.png", reply(200, b"png"))
    with pytest.raises(UnsafeURL, match=r"points to a loopback address \(127\.0\.0\.1\)"):
        safe_get(local.url("/a.png"), max_bytes=1000)
    assert network.connects == []
    assert local.paths == []


# --- safe_get: fetching ------------------------------------------------------------------


def test_it_fetches_from_an_allowed_loopback_server(local: Local, network: Network) -> None:
    local.route("/a.png", reply(200, b"png bytes", Content_Type="image/png"))
    fetched = safe_get(local.url("/a.png?size=2"), max_bytes=1000, allow=local.allow)
    assert (fetched.status, fetched.body) == (200, b"png bytes")
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.url == local.url("/a.png?size=2")
    assert network.connects == [("127.0.0.1", local.port)]


def test_it_returns_an_error_status_rather_than_raising(local: Local) -> None:
    local.route("/gone.png", reply(410, b"gone"))
    fetched = safe_get(local.url("/gone.png"), max_bytes=1000, allow=local.allow)
    assert (fetched.status, fetched.body) == (410, b"gone")


def test_it_connects_to_the_first_answer_even_when_dns_changes_its_mind(
    local: Local, network: Network
) -> None:
    # DNS rebinding: a second lookup would say 127.0.0.2, where nothing listens.
    network.answer("rebind.example", ["127.0.0.1"], ["127.0.0.2"])
    local.route("/a.png", reply(200, b"png"))
    fetched = safe_get(
        local.url("/a.png", host="rebind.example"),
        max_bytes=1000,
        allow={f"rebind.example:{local.port}"},
    )
    assert fetched.status == 200
    assert network.lookups == ["rebind.example"]
    assert network.connects == [("127.0.0.1", local.port)]
    # The name still travels in Host, as the server expects.
    assert local.server.seen[0].host == f"rebind.example:{local.port}"


def test_a_rebinding_name_cannot_move_the_connection_to_a_private_address(
    network: Network,
) -> None:
    # Checked: a public address. A second lookup would give 10.0.0.5. The dial
    # goes to the checked address, where the guard stops it unsent.
    network.answer("rebind.example", ["93.184.216.34"], ["10.0.0.5"])
    with pytest.raises(FetchError) as failed:
        safe_get("http://rebind.example/a.png", max_bytes=1000, timeout=2)
    assert not isinstance(failed.value, UnsafeURL)
    assert network.lookups == ["rebind.example"]
    assert network.connects == [("93.184.216.34", 80)]


def test_it_tries_the_checked_addresses_in_order(local: Local, network: Network) -> None:
    # Nothing listens on 127.0.0.3; the second checked address answers.
    network.answer("multi.example", ["127.0.0.3", "127.0.0.1"])
    local.route("/a.png", reply(200, b"png"))
    fetched = safe_get(
        local.url("/a.png", host="multi.example"),
        max_bytes=1000,
        allow={f"multi.example:{local.port}"},
    )
    assert fetched.status == 200
    assert network.connects == [("127.0.0.3", local.port), ("127.0.0.1", local.port)]


# --- safe_get: redirects -------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.5/a.png",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[::ffff:10.0.0.5]/a.png",
        "http://100.64.0.1/a.png",
        "http://intranet.example/a.png",
        "http://localhost:{port}/a.png",  # the same server under a name that is not allowed
        "http://0.0.0.0:{port}/a.png",
        "http://127.0.0.1:1/a.png",  # the allowed host, another port
        "file:///etc/passwd",
    ],
)
def test_it_refuses_a_redirect_into_a_private_range_without_following_it(
    local: Local, network: Network, location: str
) -> None:
    network.answer("intranet.example", ["192.168.1.10"])
    local.route("/start", redirect(location.format(port=local.port)))
    with pytest.raises(UnsafeURL, match=r"^redirects to a URL that "):
        safe_get(local.url("/start"), max_bytes=1000, allow=local.allow)
    assert network.connects == [("127.0.0.1", local.port)]
    assert local.paths == ["/start"]


def test_it_follows_two_redirects_checking_each(local: Local, network: Network) -> None:
    local.route("/one", redirect("/two", status=301))
    local.route("/two", redirect(local.url("/a.png"), status=307))
    local.route("/a.png", reply(200, b"png"))
    fetched = safe_get(local.url("/one"), max_bytes=1000, allow=local.allow)
    assert (fetched.status, fetched.body, fetched.url) == (200, b"png", local.url("/a.png"))
    assert local.paths == ["/one", "/two", "/a.png"]
    assert len(network.connects) == 3  # a fresh, pinned connection per hop


def test_it_gives_up_after_two_redirects(local: Local) -> None:
    local.route("/one", redirect("/two"))
    local.route("/two", redirect("/three"))
    local.route("/three", redirect("/a.png"))
    local.route("/a.png", reply(200, b"png"))
    with pytest.raises(FetchError, match="redirects more than 2 times"):
        safe_get(local.url("/one"), max_bytes=1000, allow=local.allow)
    assert local.paths == ["/one", "/two", "/three"]


def test_it_follows_no_redirect_when_told_so(local: Local) -> None:
    local.route("/one", redirect("/a.png"))
    with pytest.raises(FetchError, match="redirects more than 0 times"):
        safe_get(local.url("/one"), max_bytes=1000, max_redirects=0, allow=local.allow)
    assert local.paths == ["/one"]


# --- safe_get: size and time ----------------------------------------------------------------


def test_it_refuses_a_body_whose_declared_length_is_over_the_cap(local: Local) -> None:
    local.route("/big.png", reply(200, b"x" * 5000))
    with pytest.raises(FetchError, match="is larger than 1000 bytes") as failed:
        safe_get(local.url("/big.png"), max_bytes=1000, allow=local.allow)
    assert not failed.value.retryable


def test_it_stops_reading_an_undeclared_body_at_the_cap(local: Local) -> None:
    local.route("/big.png", unsized(b"x" * 200_000))
    with pytest.raises(FetchError, match="is larger than 64 KB"):
        safe_get(local.url("/big.png"), max_bytes=64 * 1024, allow=local.allow)


def test_a_body_exactly_at_the_cap_is_accepted(local: Local) -> None:
    local.route("/a.png", unsized(b"x" * 1000))
    assert safe_get(local.url("/a.png"), max_bytes=1000, allow=local.allow).body == b"x" * 1000


def test_it_refuses_a_compressed_body_it_did_not_ask_for(local: Local) -> None:
    local.route("/a.png", reply(200, b"\x1f\x8b...", Content_Encoding="gzip"))
    with pytest.raises(FetchError, match=r"compressed body \(gzip\)"):
        safe_get(local.url("/a.png"), max_bytes=1000, allow=local.allow)


def test_it_times_out_on_a_server_that_does_not_answer(local: Local) -> None:
    local.route("/slow.png", slow(1.5))
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"did not answer within 0\.3 s") as failed:
        safe_get(local.url("/slow.png"), max_bytes=1000, timeout=0.3, allow=local.allow)
    assert time.monotonic() - started < 1.0
    assert failed.value.retryable


def test_a_server_dripping_bytes_cannot_outlast_the_deadline(local: Local) -> None:
    local.route("/drip.png", drip(200, every=0.02))  # 4 s in all, 20 ms per read
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within"):
        safe_get(local.url("/drip.png"), max_bytes=1000, timeout=0.4, allow=local.allow)
    assert time.monotonic() - started < 1.0


# --- https ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2",
            "-subj", "/CN=images.example", "-addext", "subjectAltName=DNS:images.example",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def _https_server(_tls_files: tuple[str, str]) -> Iterator[_Server]:
    cert, key = _tls_files
    server = _Server(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from _start(server)


@pytest.fixture
def tls(
    _https_server: _Server, _tls_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> Local:
    # Trust the test certificate instead of the public CAs.
    client = ssl.create_default_context(cafile=_tls_files[0])
    monkeypatch.setattr(netguard, "_ssl_context", lambda: client)
    _https_server.routes.clear()
    _https_server.seen.clear()
    _https_server.sni.clear()
    return Local(_https_server, _https_server.server_address[1])


def test_https_keeps_the_name_for_sni_and_the_certificate(tls: Local, network: Network) -> None:
    network.answer("images.example", ["127.0.0.1"])
    tls.route("/a.png", reply(200, b"png"))
    fetched = safe_get(
        f"https://images.example:{tls.port}/a.png",
        max_bytes=1000,
        allow={f"images.example:{tls.port}"},
    )
    assert fetched.body == b"png"
    assert tls.server.sni == ["images.example"]
    assert tls.server.seen[0].host == f"images.example:{tls.port}"
    assert network.connects == [("127.0.0.1", tls.port)]


def test_https_refuses_a_certificate_for_another_name(tls: Local, network: Network) -> None:
    network.answer("other.example", ["127.0.0.1"])
    tls.route("/a.png", reply(200, b"png"))
    with pytest.raises(FetchError, match="could not be fetched"):
        safe_get(
            f"https://other.example:{tls.port}/a.png",
            max_bytes=1000,
            allow={f"other.example:{tls.port}"},
        )
    assert tls.server.seen == []


# --- safe_post_json -----------------------------------------------------------------------------


def test_a_callback_must_use_https(network: Network) -> None:
    network.answer("hooks.example", ["93.184.216.34"])
    with pytest.raises(UnsafeURL, match="must start with https://"):
        safe_post_json("http://hooks.example/mj", {"status": "done"})
    assert network.lookups == []
    assert network.connects == []


def test_a_callback_to_a_private_address_is_refused(network: Network) -> None:
    network.answer("hooks.example", ["192.168.0.20"])
    with pytest.raises(UnsafeURL, match=r"resolves to a private address \(192\.168\.0\.20\)"):
        safe_post_json("https://hooks.example/mj", {"status": "done"})
    assert network.connects == []


def test_a_callback_to_loopback_is_refused_when_not_allowed(local: Local) -> None:
    with pytest.raises(UnsafeURL, match="loopback"):
        safe_post_json(local.url("/hook"), {"status": "done"}, https_only=False)
    assert local.paths == []


def test_a_callback_posts_json_to_an_allowed_server(local: Local, network: Network) -> None:
    local.route("/hook", reply(204))
    payload = {"job": 7, "status": "done", "prompt": "a café at dawn"}
    status = safe_post_json(local.url("/hook"), payload, allow=local.allow)
    assert status == 204
    [seen] = local.server.seen
    assert (seen.method, seen.content_type) == ("POST", "application/json")
    assert json.loads(seen.body) == payload
    assert network.connects == [("127.0.0.1", local.port)]


def test_a_callback_does_not_follow_redirects(local: Local, network: Network) -> None:
    local.route("/hook", redirect("http://10.0.0.5/hook", status=307))
    assert safe_post_json(local.url("/hook"), {"status": "done"}, allow=local.allow) == 307
    assert local.paths == ["/hook"]
    assert network.connects == [("127.0.0.1", local.port)]


def test_a_callback_reply_is_not_read_to_the_end(local: Local) -> None:
    local.route("/hook", unsized(b"x" * 1_000_000))
    assert safe_post_json(local.url("/hook"), {}, allow=local.allow) == 200


def test_a_callback_times_out(local: Local) -> None:
    local.route("/hook", slow(1.5))
    with pytest.raises(FetchError, match="did not answer"):
        safe_post_json(local.url("/hook"), {}, timeout=0.3, allow=local.allow)


# --- allowed_upstreams ----------------------------------------------------------------------------


def test_only_loopback_upstreams_are_allowed(settings) -> None:
    settings.PROVIDERS = {
        "evolink": {"base_url": "http://127.0.0.1:8801/evolink", "api_key": "k"},
        "reapi": {"base_url": "https://reapi.ai", "api_key": "k"},
        "vtrix": {"base_url": "http://localhost:8801/vtrix", "api_key": "k"},
        "lan": {"base_url": "http://10.0.0.9:8000", "api_key": "k"},
        "v6": {"base_url": "http://[::1]:8802/", "api_key": "k"},
        "plain": {"base_url": "http://127.0.0.1/", "api_key": "k"},
        "broken": {"base_url": "", "api_key": "k"},
    }
    assert allowed_upstreams() == {"127.0.0.1:8801", "localhost:8801", "[::1]:8802", "127.0.0.1:80"}


def test_the_simulator_configured_as_upstream_can_be_fetched_from(settings, local: Local) -> None:
    settings.PROVIDERS = {"evolink": {"base_url": f"http://127.0.0.1:{local.port}/evolink"}}
    local.route("/evolink/files/a.png", reply(200, b"png"))
    fetched = safe_get(local.url("/evolink/files/a.png"), max_bytes=1000, allow=allowed_upstreams())
    assert fetched.status == 200


def test_no_upstream_is_allowed_by_default(settings) -> None:
    settings.PROVIDERS = {
        "evolink": {"base_url": "https://api.evolink.ai"},
        "reapi": {"base_url": "https://reapi.ai"},
    }
    assert allowed_upstreams() == set()
