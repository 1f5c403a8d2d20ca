"""The httpx client factory, the registry, and the error type's promises."""

from __future__ import annotations

import json
import logging
import pickle
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpcore
import httpx
import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from gallery.catalog.operations import Request
from gallery.providers import (
    PROVIDERS,
    Adapter,
    Kind,
    ProviderError,
    Status,
    adapter_class,
    get_adapter,
)
from gallery.providers.base import retry_after_seconds
from gallery.providers.http import (
    CONNECT_RETRIES,
    DEFAULT_TIMEOUT,
    BearerAuth,
    client_for,
    make_client,
    ssl_context,
    user_agent,
)

KEY = "sk-live-0123456789abcdefFACTORYKEY"


def test_the_client_has_all_four_timeouts_explicit() -> None:
    client = make_client("https://api.evolink.ai", KEY)
    timeout = client.timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (
        DEFAULT_TIMEOUT.connect,
        DEFAULT_TIMEOUT.read,
        DEFAULT_TIMEOUT.write,
        DEFAULT_TIMEOUT.pool,
    )
    assert None not in (timeout.connect, timeout.read, timeout.write, timeout.pool)


def test_the_client_retries_only_connection_attempts_and_pools_connections() -> None:
    client = make_client("https://api.evolink.ai", KEY)
    transport = client._transport
    assert isinstance(transport, httpx.HTTPTransport)
    pool = transport._pool
    assert pool._retries == CONNECT_RETRIES
    assert pool._max_keepalive_connections > 0
    assert pool._keepalive_expiry is not None


def test_clients_share_one_verifying_tls_context_per_process() -> None:
    # Building a context parses the CA bundle (~20 ms, a few MB per thread);
    # every client of the process reuses the one built first, and it verifies.
    first = make_client("https://api.evolink.ai", KEY)._transport._pool._ssl_context
    second = make_client("https://reapi.ai", KEY)._transport._pool._ssl_context
    assert first is second is ssl_context(False)
    assert first.verify_mode == ssl.CERT_REQUIRED
    assert first.check_hostname is True


def test_the_client_follows_no_redirects_and_ignores_proxy_environment() -> None:
    client = make_client("https://api.evolink.ai", KEY)
    assert client.follow_redirects is False
    assert client.trust_env is False


def test_the_client_sends_a_user_agent_and_json_accept() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json={}))
    client = make_client("http://127.0.0.1:8801/evolink/", KEY, transport=transport)
    client.get("/v1/tasks/x")
    assert seen[0].headers["User-Agent"] == user_agent()
    assert user_agent().startswith("mjweb/")
    assert seen[0].headers["Accept"] == "application/json"
    # The base URL keeps its path prefix (the simulator serves each dialect under one).
    assert str(seen[0].url) == "http://127.0.0.1:8801/evolink/v1/tasks/x"


def test_the_key_is_only_in_the_authorization_header_of_requests() -> None:
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200, json={}))
    client = make_client("https://reapi.ai", KEY, transport=transport)
    client.get("/api/v1/tasks/x")
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert "authorization" not in client.headers
    assert KEY not in str(seen[0].url)


def test_no_repr_shows_the_key() -> None:
    client = make_client("https://cloud.vtrix.ai", KEY)
    adapter = adapter_class("vtrix")(client)
    for shown in (
        repr(client),
        repr(client.auth),
        str(client.auth),
        repr(adapter),
        repr(client.headers),
    ):
        assert KEY not in shown
    assert repr(client.auth) == "BearerAuth(***)"


def test_the_key_cannot_travel_in_a_pickle() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(BearerAuth(KEY))


@pytest.mark.parametrize("bad", ["", "ftp://host", "api.evolink.ai"])
def test_it_refuses_a_base_url_that_is_not_http(bad: str) -> None:
    with pytest.raises(ValueError):
        make_client(bad, KEY)


def test_it_refuses_an_empty_key() -> None:
    with pytest.raises(ValueError) as caught:
        make_client("https://api.evolink.ai", "  ")
    assert "api_key" in str(caught.value)


# --- settings and the registry -------------------------------------------------------


@pytest.fixture
def provider_settings(settings: Any) -> Any:
    settings.PROVIDERS = {
        "evolink": {"base_url": "http://127.0.0.1:9/evolink", "api_key": KEY},
        "reapi": {"base_url": "https://reapi.ai", "api_key": ""},
        "vtrix": {"BASE_URL": "https://cloud.vtrix.ai", "API_KEY": KEY},
    }
    return settings


def test_client_for_reads_base_url_and_key_from_settings(provider_settings: Any) -> None:
    client = client_for("evolink")
    assert str(client.base_url) == "http://127.0.0.1:9/evolink/"
    assert isinstance(client.auth, BearerAuth)
    assert client_for("vtrix").base_url.host == "cloud.vtrix.ai"


def test_a_missing_key_is_an_auth_error_for_the_team_admin(provider_settings: Any) -> None:
    with pytest.raises(ProviderError) as caught:
        client_for("reapi")
    assert caught.value.kind is Kind.AUTH
    assert caught.value.code == "missing_api_key"
    assert caught.value.admin_attention


def test_client_for_refuses_an_unknown_provider(provider_settings: Any) -> None:
    with pytest.raises(ValueError):
        client_for("midjourney")


def test_get_adapter_builds_each_provider_from_settings(provider_settings: Any) -> None:
    adapter = get_adapter("evolink")
    assert adapter.name == "evolink"
    assert str(adapter.client.base_url) == "http://127.0.0.1:9/evolink/"
    adapter.close()


def test_get_adapter_uses_the_client_it_is_given() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    client = make_client("https://reapi.ai", KEY, transport=transport)
    for name in PROVIDERS:
        adapter = get_adapter(name, client)
        assert isinstance(adapter, Adapter)
        assert adapter.name == name
        assert adapter.client is client


def test_get_adapter_refuses_an_unknown_provider() -> None:
    with pytest.raises(ValueError):
        get_adapter("piapi", make_client("https://x.example", KEY))


# --- the error type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "permanent", "retryable", "admin"),
    [
        (Kind.INVALID_REQUEST, True, False, False),
        (Kind.CONTENT_POLICY, True, False, False),
        (Kind.AUTH, True, False, True),
        (Kind.ACCESS_DENIED, True, False, True),
        (Kind.INSUFFICIENT_QUOTA, True, False, True),
        (Kind.RATE_LIMITED, False, True, False),
        (Kind.UNAVAILABLE, False, True, False),
        (Kind.NOT_FOUND, True, False, False),
        (Kind.AMBIGUOUS, False, False, False),
    ],
)
def test_each_kind_says_what_the_pipeline_does(
    kind: Kind, permanent: bool, retryable: bool, admin: bool
) -> None:
    error = ProviderError(kind, "message")
    assert (error.permanent, error.retryable, error.admin_attention) == (
        permanent,
        retryable,
        admin,
    )
    assert error.ambiguous is (kind is Kind.AMBIGUOUS)
    assert error.error.kind is kind


def test_a_provider_error_survives_pickling() -> None:
    error = ProviderError(
        Kind.RATE_LIMITED,
        "slow down",
        code="429",
        http_status=429,
        retry_after=2.0,
        provider="vtrix",
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (
        copy.kind,
        copy.message,
        copy.code,
        copy.http_status,
        copy.retry_after,
        copy.provider,
    ) == (
        Kind.RATE_LIMITED,
        "slow down",
        "429",
        429,
        2.0,
        "vtrix",
    )
    assert str(copy) == str(error)


def test_an_error_reads_well() -> None:
    error = ProviderError(
        Kind.AUTH, "Invalid token", code="unauthorized", http_status=401, provider="evolink"
    )
    assert str(error) == "evolink: auth unauthorized HTTP 401: Invalid token"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), ("soon", None), ("", None), (None, None)],
)
def test_retry_after_reads_delay_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_retry_after_reads_an_http_date() -> None:
    now = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(header, now=now.timestamp()) == pytest.approx(30)


# --- keys in errors and logs ------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_key_appears_in_no_error_or_log_line(
    provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    replies = iter(
        [
            httpx.Response(401, json={"error": {"code": 401, "message": f"bad key {KEY}"}}),
            httpx.Response(403, json={"error": f"key {KEY} is not allowed"}),
            httpx.ReadTimeout(f"timeout talking with {KEY}"),
            httpx.Response(200, text=f"<html>{KEY}</html>"),
        ]
    )

    def handle(request: httpx.Request) -> httpx.Response:
        item = next(replies)
        if isinstance(item, Exception):
            raise item
        return item

    adapter = adapter_class(provider)(
        make_client("https://provider.example", KEY, transport=httpx.MockTransport(handle))
    )
    request = Request("mj-v7", provider, prompt="a cat")
    errors = []
    with caplog.at_level(logging.DEBUG):
        for _ in range(4):
            with pytest.raises(ProviderError) as caught:
                adapter.submit(request)
            errors.append(caught.value)
    assert [e.kind for e in errors][2:] == [Kind.AMBIGUOUS, Kind.AMBIGUOUS]
    for error in errors:
        for shown in (
            str(error),
            repr(error),
            error.message,
            str(error.args),
            repr(error.__cause__),
        ):
            assert KEY not in shown
        assert error.__cause__ is None  # httpx exceptions carry the request: never chained
    assert KEY not in caplog.text


# --- real sockets: what is retried and what is not ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_retried_then_reported_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = []
    real = httpcore.SyncBackend.connect_tcp

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", counting)
    adapter = adapter_class("reapi")(make_client(f"http://127.0.0.1:{_free_port()}", KEY))
    with pytest.raises(ProviderError) as caught:
        adapter.submit(Request("mj-v7", "reapi", prompt="a cat"))
    assert caught.value.kind is Kind.UNAVAILABLE
    assert caught.value.code == "connect_error"
    assert len(attempts) == 1 + CONNECT_RETRIES


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[bytes]]]:
    """Reads one request per connection, then hangs up without answering."""
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1]), received
    stop.set()
    thread.join(2)
    listener.close()


def test_a_create_sent_to_a_server_that_hangs_up_is_sent_once_and_ambiguous(
    silent_server: tuple[int, list[bytes]],
) -> None:
    port, received = silent_server
    adapter = adapter_class("reapi")(make_client(f"http://127.0.0.1:{port}", KEY))
    with pytest.raises(ProviderError) as caught:
        adapter.submit(Request("mj-v7", "reapi", prompt="a cat"))
    assert caught.value.kind is Kind.AMBIGUOUS
    assert len(received) == 1
    assert received[0].startswith(b"POST /api/v1/images/generations ")


def test_a_redirect_is_not_followed(evolink_upstream: Any) -> None:
    evolink_upstream.reply(
        httpx.Response(301, headers={"Location": "https://elsewhere.example/v1/tasks/x"})
    )
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().fetch("task-unified-1-x")
    assert caught.value.kind is Kind.UNAVAILABLE
    assert "base URL" in caught.value.message
    assert len(evolink_upstream.requests) == 1


# --- whatever a provider sends, the answer is a snapshot or a ProviderError ----------------

_KEYS = st.sampled_from(
    [
        "id",
        "task_id",
        "status",
        "progress",
        "results",
        "output",
        "image_urls",
        "content",
        "url",
        "type",
        "error",
        "code",
        "message",
        "error_message",
        "usage",
        "cost",
        "credits_reserved",
        "task_info",
        "estimated_time",
        "data",
        "input",
        "params",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.sampled_from(["completed", "failed", "processing", "pending", "https://x.example/a.png"])
    | st.text(max_size=12)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=25,
)
_BODIES = st.dictionaries(_KEYS, _JSON, max_size=7)
_OFFLINE = {
    name: adapter_class(name)(
        make_client(
            "https://provider.example",
            KEY,
            transport=httpx.MockTransport(lambda request: httpx.Response(500)),
        )
    )
    for name in PROVIDERS
}


@examples(max_examples=200, deadline=None)
@given(provider=st.sampled_from(PROVIDERS), body=_BODIES)
def test_any_task_body_reads_as_a_consistent_snapshot_or_a_provider_error(
    provider: str, body: dict[str, Any]
) -> None:
    try:
        snapshot = _OFFLINE[provider].parse_callback(body)
    except ProviderError as error:
        assert error.kind is Kind.INVALID_REQUEST
        return
    assert 0 <= snapshot.progress <= 100
    assert len(snapshot.image_urls) <= 4
    assert (snapshot.error is not None) is (snapshot.status is Status.FAILED)
    assert bool(snapshot.image_urls) is (snapshot.status is Status.COMPLETED)
    if snapshot.status is Status.COMPLETED:
        assert snapshot.progress == 100


@examples(max_examples=200, deadline=None)
@given(
    provider=st.sampled_from(PROVIDERS),
    status=st.sampled_from(
        [
            200,
            201,
            202,
            204,
            301,
            400,
            401,
            402,
            403,
            404,
            408,
            409,
            422,
            429,
            500,
            502,
            503,
            504,
            520,
        ]
    ),
    body=_BODIES | _JSON,
)
def test_any_create_answer_is_accepted_or_a_provider_error(
    provider: str, status: int, body: Any
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=json.dumps(body).encode())

    adapter = adapter_class(provider)(
        make_client("https://provider.example", KEY, transport=httpx.MockTransport(handle))
    )
    try:
        accepted = adapter.submit(Request("mj-v7", provider, prompt="a cat"))
    except ProviderError as error:
        assert error.http_status == status
        if status >= 300 and status not in (504,):
            assert error.kind is not Kind.AMBIGUOUS
        return
    assert 200 <= status < 300
    assert accepted.upstream_id
