"""The one way out to a provider: an httpx client with explicit limits.

The healthchecks `hc.lib.curl` idea (django-style-anchors.md §1): every
outbound call to an aggregator goes through a client built here, with the four
timeouts spelt out, pooled connections, a User-Agent, no redirects and no
retries after a request may have been sent (reliability-performance.md §4.3).

The API key lives only inside `BearerAuth`, which adds the header as a request
leaves and shows `***` everywhere else: not in `client.headers`, not in any
repr, not in any message (reliability-performance.md §6.5).

`make_client` is pure; `client_for` reads Django settings, lazily.
"""

from __future__ import annotations

import ssl
from collections.abc import Generator
from functools import cache
from importlib import metadata
from typing import Any

import httpx

from gallery.providers.errors import Kind, ProviderError

# Generous read timeout: a create answer that is late is worse than a slow one,
# because a create whose answer never came has an unknown fate.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
# A worker talks to one provider at a time per job; a small pool is plenty.
# Idle connections are closed after 5 s, well inside common server keep-alives,
# so a pooled connection is rarely found dead just as a create is sent on it.
DEFAULT_LIMITS = httpx.Limits(
    max_connections=20, max_keepalive_connections=10, keepalive_expiry=5.0
)
# httpx.HTTPTransport(retries=N) retries only ConnectError/ConnectTimeout:
# failures before the request left, so a create can never be sent twice.
CONNECT_RETRIES = 2

SECRET_MASK = "***"  # noqa: S105 - the mask, not a secret


@cache
def ssl_context(trust_env: bool = False) -> ssl.SSLContext:
    """The TLS settings every provider client verifies with, built once per process.

    Building one loads and parses the CA bundle: ~20 ms of CPU, and in the
    poller's threads each copy left a few MB of heap behind. A context holds
    settings, not connections, so sharing it between clients, threads and
    forked workers is safe (httpx shares one between a pool's connections).
    """
    return httpx.create_ssl_context(trust_env=trust_env)


@cache
def user_agent() -> str:
    try:
        version = metadata.version("mjweb")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"mjweb/{version}"


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <key>` added on the way out; the key is shown nowhere."""

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return f"BearerAuth({SECRET_MASK})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Keys must not travel in task arguments or results (§6.5).
        raise TypeError("BearerAuth holds an API key and cannot be pickled")

    def redact(self, text: str) -> str:
        return text.replace(self._token, SECRET_MASK) if self._token else text


def redact(text: str, client: httpx.Client | None) -> str:
    """`text` with the client's key (if a provider echoes it) replaced by ***."""
    if client is None:
        return text
    auth = client.auth
    if isinstance(auth, BearerAuth):
        text = auth.redact(text)
    header = client.headers.get("Authorization", "")
    token = header.partition(" ")[2].strip()
    if token:
        text = text.replace(token, SECRET_MASK)
    return text


def make_client(
    base_url: str,
    api_key: str,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits = DEFAULT_LIMITS,
    retries: int = CONNECT_RETRIES,
    transport: httpx.BaseTransport | None = None,
    trust_env: bool = False,
) -> httpx.Client:
    """A client for one provider. `base_url` includes any path prefix
    (`http://127.0.0.1:8801/evolink`); adapters append their own paths.

    `transport` replaces the network (tests pass `httpx.MockTransport`).
    `trust_env` stays off so proxy variables and ~/.netrc cannot redirect
    traffic or add credentials behind our back; turn it on for an egress proxy.
    """
    if not base_url or not base_url.startswith(("http://", "https://")):
        raise ValueError("base_url must be an http(s) URL")
    if not api_key or not api_key.strip():
        raise ValueError("api_key is empty")
    if transport is None:
        transport = httpx.HTTPTransport(
            verify=ssl_context(trust_env), retries=retries, limits=limits, trust_env=trust_env
        )
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        auth=BearerAuth(api_key.strip()),
        headers={"User-Agent": user_agent(), "Accept": "application/json"},
        timeout=timeout,
        limits=limits,
        transport=transport,
        follow_redirects=False,
        trust_env=trust_env,
    )


def client_for(provider: str, **options: Any) -> httpx.Client:
    """A client for `provider` from `settings.PROVIDERS` (read now, not at import).

    Raises ProviderError(kind=auth) when no key is configured: that is for the
    team admin to fix, like a rejected key.
    """
    from django.conf import settings

    conf = settings.PROVIDERS.get(provider)
    if conf is None:
        raise ValueError(f"unknown provider {provider!r}")
    base_url = conf.get("base_url") or conf.get("BASE_URL") or ""
    api_key = conf.get("api_key") or conf.get("API_KEY") or ""
    if not api_key.strip():
        raise ProviderError(
            Kind.AUTH,
            f"No API key is configured for {provider}",
            code="missing_api_key",
            provider=provider,
        )
    if conf.get("read_timeout") and "timeout" not in options:
        # A deployment (or a test) may wait less or longer for a provider's answer.
        options["timeout"] = httpx.Timeout(
            DEFAULT_TIMEOUT.connect,
            read=float(conf["read_timeout"]),
            write=DEFAULT_TIMEOUT.write,
            pool=DEFAULT_TIMEOUT.pool,
        )
    return make_client(base_url, api_key, **options)
