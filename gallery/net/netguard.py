"""The SSRF guard: the only way the server fetches a URL a user gave it.

reliability-performance.md §2.3 and rule R11, after Mastodon's `Request`
socket, Discourse's `SsrfDetector` and OWASP: http(s) only, resolve the name
once, refuse the URL when ANY resolved address is not public, connect to the
very address that was checked (so a DNS answer that changes between check and
connect, "DNS rebinding", gains nothing), follow no redirect by itself but at
most `max_redirects`, each hop checked again, and cap the bytes and the time.

How the connection is pinned: requests go through an httpcore connection pool
whose network backend (`_PinnedBackend`) knows the one host:port it may reach
and the addresses checked for it. httpcore hands the backend the URL's host
name; the backend ignores the name and dials the checked IP. The URL itself is
not rewritten, so the `Host` header, TLS SNI and certificate checks all use the
real name. Nothing on this path resolves a name a second time.

`allow` lists host:port pairs an operator has configured, such as the
simulator at 127.0.0.1:8801 (`allowed_upstreams()`); they skip the address
check and, for callbacks, the https rule. Nothing else can. A callback gets
the allowance only for a path under a configured base URL's path
(`callback_allowance()`), never for the whole origin.

URLs only handed to an upstream (never fetched here) are checked without DNS
by `gallery.catalog.prompt.check_url`; this module is for what the server fetches.
Both judge an address with `gallery.catalog.addresses.check_address`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

import httpcore
import httpx

from gallery.catalog.addresses import IPAddress, check_address

DEFAULT_PORTS = {"http": 80, "https": 443}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Per-operation limits (Mastodon uses 10 s); the caller's `timeout` is the
# deadline for the whole fetch, redirects included, and caps these too.
CONNECT_TIMEOUT = 5.0
IO_TIMEOUT = 10.0
# A callback's answer is never used; read a little so the server is not cut off
# mid-reply, then hang up.
CALLBACK_REPLY_BYTES = 64 * 1024


class FetchError(Exception):
    """The URL could not be fetched: unreachable, too slow, too big, too many hops.

    `reason` completes a sentence that starts "The URL …". `retryable` says
    whether trying again later may help (a timeout may; an oversized body won't).
    """

    def __init__(self, reason: str, *, url: str = "", retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.retryable = retryable


class UnsafeURL(FetchError, ValueError):
    """Refused by policy, before any connection to where it points. Never retry.

    e.g. reason = "resolves to a private address (10.0.0.5)".
    """

    def __init__(self, reason: str, *, url: str = "") -> None:
        super().__init__(reason, url=url, retryable=False)


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str  # after redirects


# --- addresses ---------------------------------------------------------------------

# What a resolver is asked about: ASCII (IDNA) labels. httpx percent-encodes
# odd characters instead of refusing them, and getaddrinfo would look those up.
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _origin_key(host: str, port: int) -> str:
    host = host.lower().rstrip(".")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _normalise(allow: Iterable[str]) -> frozenset[str]:
    return frozenset(entry.strip().lower() for entry in allow if entry.strip())


def resolve_public(host: str, port: int, *, allow: Iterable[str] = ()) -> list[IPAddress]:
    """The addresses of `host`, resolved once; UnsafeURL if ANY is not public.

    `host` is an ASCII (IDNA) name or an IP literal without brackets; literals
    are judged without a lookup. A host:port listed in `allow` is not judged.
    Discourse refuses only when all addresses are bad; one bad address is
    enough here, since which one a connection uses is not ours to choose.
    """
    allowed = _origin_key(host, port) in _normalise(allow)
    literal = _ip_literal(host)
    if literal is not None:
        reason = None if allowed else check_address(literal)
        if reason:
            raise UnsafeURL(f"points to {reason} ({literal})")
        return [literal]
    labels = host.lower().removesuffix(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise UnsafeURL("has an invalid host name")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(
            f"has a host name that does not resolve ({host})",
            retryable=exc.errno == socket.EAI_AGAIN,
        ) from exc
    except UnicodeError as exc:
        raise UnsafeURL("has an invalid host name") from exc
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchError(f"has a host name with no address ({host})")
    if not allowed:
        for ip in addresses:
            reason = check_address(ip)
            if reason:
                raise UnsafeURL(f"resolves to {reason} ({ip})")
    return addresses


def _loopback_upstreams() -> list[httpx.URL]:
    """Every configured provider base URL on a loopback address, parsed.
    Read from Django settings now, not at import."""
    from django.conf import settings

    found: list[httpx.URL] = []
    for conf in getattr(settings, "PROVIDERS", {}).values():
        base = conf.get("base_url") or conf.get("BASE_URL") or ""
        try:
            url = httpx.URL(base)
        except (httpx.InvalidURL, TypeError):
            continue
        if url.scheme not in DEFAULT_PORTS or not url.raw_host:
            continue
        host = url.raw_host.decode("ascii")
        literal = _ip_literal(host)
        if host == "localhost" or (literal is not None and literal.is_loopback):
            found.append(url)
    return found


def _url_origin(url: httpx.URL) -> str:
    return _origin_key(url.raw_host.decode("ascii"), url.port or DEFAULT_PORTS[url.scheme])


def allowed_upstreams() -> set[str]:
    """host:port of every configured provider base URL on a loopback address.

    So a simulator configured as the upstream (`make run`: 127.0.0.1:8801) can
    be fetched from (its result images live at /files/…, outside the base
    URL's path); a LAN or public upstream gains nothing here.
    """
    return {_url_origin(url) for url in _loopback_upstreams()}


# Path characters that could make one path read as another on the far side:
# escapes ("%2e%2e", "%2f"), backslashes, and empty segments ("//_sim").
_AMBIGUOUS_PATH = re.compile(r"%|\\|//")


def callback_allowance(url: str) -> frozenset[str]:
    """The `allow` a POST of a callback to `url` may use: the origin of a
    configured loopback upstream when `url` lies under that base URL's path
    (the simulator's dialect path, e.g. http://127.0.0.1:8801/evolink/…),
    else nothing, and the URL faces the ordinary rules.

    Never the whole origin: the simulator's control API (/_sim/…) answers on
    the same one, and a callback there would rewrite its keys and faults. A
    base URL at the root of its origin therefore grants nothing. The path is
    judged as httpx will send it (dot segments already removed).
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return frozenset()
    if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host or parsed.userinfo:
        return frozenset()
    path = parsed.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
    if _AMBIGUOUS_PATH.search(path):
        return frozenset()
    origin = _url_origin(parsed)
    for base in _loopback_upstreams():
        prefix = base.raw_path.split(b"?", 1)[0].decode("ascii", "replace").rstrip("/")
        if prefix and _url_origin(base) == origin and path.startswith(prefix + "/"):
            return frozenset({origin})
    return frozenset()


# --- connecting --------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """One checked hop: the URL and the only addresses it may be fetched from."""

    url: httpx.URL
    host: str  # as httpcore will name it: ASCII, IPv6 without brackets
    port: int
    addresses: tuple[IPAddress, ...]


class _PinnedBackend(httpcore.NetworkBackend):
    """Dials the checked addresses of one host:port, and nothing else."""

    def __init__(self, target: _Target) -> None:
        self._target = target
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) != (self._target.host, self._target.port):
            raise httpcore.ConnectError(f"{host}:{port} was not checked")
        error: Exception | None = None
        for ip in self._target.addresses:
            try:
                # An IP literal: the standard library does no DNS lookup for it.
                return self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError("no address to connect to")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never dialled for a user's URL")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@cache
def _user_agent() -> bytes:
    try:
        version = metadata.version("mjweb")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"mjweb/{version}".encode("ascii")


def _check(url: str | httpx.URL, *, https_only: bool, allow: frozenset[str]) -> _Target:
    text = str(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeURL("is not a valid URL", url=text) from exc
    if parsed.scheme not in DEFAULT_PORTS:
        raise UnsafeURL("must start with http:// or https://", url=text)
    if parsed.userinfo:
        raise UnsafeURL("must not contain a user name or password", url=text)
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise UnsafeURL("has no host name", url=text)
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    if not 0 < port < 65536:
        raise UnsafeURL("has an invalid port", url=text)
    allowed = _origin_key(host, port) in allow
    if https_only and parsed.scheme != "https" and not allowed:
        raise UnsafeURL("must start with https://", url=text)
    try:
        addresses = resolve_public(host, port, allow=allow)
    except FetchError as exc:
        exc.url = text
        raise
    return _Target(parsed, host, port, tuple(addresses))


def _remaining(deadline: float, timeout: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"did not answer within {timeout:g} s", url=url, retryable=True)
    return left


def _timeouts(left: float) -> dict[str, float]:
    """httpcore's per-phase timeouts, none past the time `left` before the deadline."""
    return {
        "connect": min(CONNECT_TIMEOUT, left),
        # httpcore's timeouts are per read; _read_body enforces the deadline.
        "read": min(IO_TIMEOUT, left),
        "write": min(IO_TIMEOUT, left),
        "pool": min(CONNECT_TIMEOUT, left),
    }


def _request_headers(
    target: _Target, extra_headers: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    return [
        (b"Host", target.url.netloc),  # brackets and non-default port, as sent
        (b"User-Agent", _user_agent()),
        (b"Accept", b"*/*"),
        # Compressed bodies would need decoding, and could be a zip bomb.
        (b"Accept-Encoding", b"identity"),
        (b"Connection", b"close"),
        *extra_headers,
    ]


def _pinned_pool(target: _Target) -> httpcore.ConnectionPool:
    """A pool of one connection, never reused, that dials only `target`'s checked addresses."""
    return httpcore.ConnectionPool(
        ssl_context=_ssl_context(),
        network_backend=_PinnedBackend(target),
        max_connections=1,
        max_keepalive_connections=0,
        retries=0,
    )


def _exchange(
    target: _Target,
    method: bytes,
    *,
    content: bytes | None,
    extra_headers: list[tuple[bytes, bytes]],
    deadline: float,
    timeout: float,
    max_bytes: int,
    truncate: bool,
    stop_at_redirect: bool,
) -> Fetched:
    """One request to one checked target, on a connection of its own.

    The body is read until `max_bytes`; past that it is an error, unless
    `truncate`, when reading just stops. Redirect bodies are not read.
    """
    url_text = str(target.url)
    timeouts = _timeouts(_remaining(deadline, timeout, url_text))
    request_url = httpcore.URL(
        scheme=target.url.raw_scheme,
        host=target.url.raw_host,
        port=target.port,
        target=target.url.raw_path,
    )
    pool = _pinned_pool(target)
    try:
        with (
            pool,
            pool.stream(
                method,
                request_url,
                headers=_request_headers(target, extra_headers),
                content=content,
                extensions={"timeout": timeouts},
            ) as response,
        ):
            received = httpx.Headers(response.headers)
            if stop_at_redirect and response.status in REDIRECT_STATUSES:
                return Fetched(response.status, received, b"", url_text)
            body = _read_body(
                response.iter_stream(), received, url_text, deadline, timeout, max_bytes, truncate
            )
            return Fetched(response.status, received, body, url_text)
    except httpcore.TimeoutException as exc:
        raise FetchError(
            f"did not answer within {timeout:g} s", url=url_text, retryable=True
        ) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise FetchError(
            f"could not be fetched ({type(exc).__name__}: {exc})", url=url_text, retryable=True
        ) from exc


def _read_body(
    stream: Iterator[bytes],
    headers: httpx.Headers,
    url: str,
    deadline: float,
    timeout: float,
    max_bytes: int,
    truncate: bool,
) -> bytes:
    limit = _human_bytes(max_bytes)
    if not truncate:
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise FetchError(f"sent a compressed body ({encoding})", url=url)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(f"is larger than {limit}", url=url)
    chunks: list[bytes] = []
    size = 0
    for chunk in stream:
        size += len(chunk)
        if size > max_bytes:
            if truncate:
                break
            raise FetchError(f"is larger than {limit}", url=url)
        chunks.append(chunk)
        # A server dripping a byte at a time never trips a per-read timeout.
        _remaining(deadline, timeout, url)
    return b"".join(chunks)


def _human_bytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} bytes"


# --- the two ways out --------------------------------------------------------------


def safe_get(
    url: str,
    *,
    max_bytes: int,
    timeout: float = 30.0,
    max_redirects: int = 2,
    allow: Iterable[str] = (),
) -> Fetched:
    """GET a user-supplied http(s) URL under the guard; any status is returned.

    Redirects (301/302/303/307/308) are followed by hand, at most
    `max_redirects`, each target checked like the first. `timeout` is the
    deadline for everything, in seconds. Raises UnsafeURL (refused, nothing
    sent there) or FetchError (unreachable, too slow, too big, too many hops).
    """
    allowed = _normalise(allow)
    deadline = time.monotonic() + timeout
    current: str | httpx.URL = url
    for hop in range(max_redirects + 1):
        try:
            target = _check(current, https_only=False, allow=allowed)
        except UnsafeURL as exc:
            if hop:
                raise UnsafeURL(f"redirects to a URL that {exc.reason}", url=exc.url) from exc
            raise
        response = _exchange(
            target,
            b"GET",
            content=None,
            extra_headers=[],
            deadline=deadline,
            timeout=timeout,
            max_bytes=max_bytes,
            truncate=False,
            stop_at_redirect=True,
        )
        location = response.headers.get("location")
        if response.status not in REDIRECT_STATUSES or not location:
            return response
        if hop == max_redirects:
            break
        try:
            current = target.url.join(location)
        except (httpx.InvalidURL, ValueError) as exc:
            raise UnsafeURL("redirects to an invalid URL", url=str(target.url)) from exc
    raise FetchError(f"redirects more than {max_redirects} times", url=str(url))


def safe_post_json(
    url: str,
    payload: Any,
    *,
    timeout: float = 10.0,
    https_only: bool = True,
    allow: Iterable[str] = (),
) -> int:
    """POST `payload` as JSON to a user's callback URL under the guard; the status.

    Redirects are not followed: re-sending a body to wherever a 3xx points
    is not what the user configured (Stripe and GitHub treat a 3xx from a
    webhook as a failed delivery), so the 3xx status is returned. The reply
    body is not used. Raises UnsafeURL or FetchError as `safe_get` does.
    """
    allowed = _normalise(allow)
    deadline = time.monotonic() + timeout
    target = _check(url, https_only=https_only, allow=allowed)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    response = _exchange(
        target,
        b"POST",
        content=body,
        extra_headers=[(b"Content-Type", b"application/json")],
        deadline=deadline,
        timeout=timeout,
        max_bytes=CALLBACK_REPLY_BYTES,
        truncate=True,
        stop_at_redirect=True,
    )
    return response.status
