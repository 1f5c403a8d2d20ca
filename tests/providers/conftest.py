"""Fixtures for the provider adapter tests.

Unit tests talk to `httpx.MockTransport` through the real client factory, fed
with the recorded payloads under `fixtures/`. Integration tests get one
in-process upstream simulator per session on a free loopback port.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gallery.providers import Adapter, adapter_class
from gallery.providers.http import make_client

FIXTURES = Path(__file__).parent / "fixtures"
# Looks like a real key so a leak is easy to grep for.
SECRET = "sk-live-9f8e7d6c5b4a39281706SECRET"
BASES = {
    "evolink": "https://api.evolink.ai",
    "reapi": "https://reapi.ai",
    "vtrix": "https://cloud.vtrix.ai",
}


def read_fixture(provider: str, name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / provider / f"{name}.json").read_text())
    data.pop("_source")
    return dict(data)


def fixture_response(provider: str, name: str) -> httpx.Response:
    data = read_fixture(provider, name)
    body = data["body"]
    headers = dict(data.get("headers") or {})
    if isinstance(body, str):
        return httpx.Response(data["http_status"], text=body, headers=headers)
    return httpx.Response(data["http_status"], json=body, headers=headers)


Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Upstream:
    """A fake provider: answers from a queue, records every request it receives."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.requests: list[httpx.Request] = []
        self.replies: deque[Reply] = deque()

    def reply(self, *replies: Reply | str) -> Upstream:
        for item in replies:
            self.replies.append(
                fixture_response(self.provider, item) if isinstance(item, str) else item
            )
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = self.replies.popleft()
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item

    def adapter(self, **options: Any) -> Adapter:
        client = make_client(
            BASES[self.provider], SECRET, transport=httpx.MockTransport(self.handle)
        )
        return adapter_class(self.provider)(client, **options)

    @property
    def sent(self) -> dict[str, Any]:
        """The JSON body of the last request."""
        return dict(json.loads(self.requests[-1].content))


@pytest.fixture
def evolink_upstream() -> Upstream:
    return Upstream("evolink")


@pytest.fixture
def reapi_upstream() -> Upstream:
    return Upstream("reapi")


@pytest.fixture
def vtrix_upstream() -> Upstream:
    return Upstream("vtrix")


@pytest.fixture
def fixture() -> Callable[[str, str], dict[str, Any]]:
    """`fixture(provider, name)` -> the fixture's body."""

    def body(provider: str, name: str) -> Any:
        return read_fixture(provider, name)["body"]

    return body


# --- the simulator (integration tests) ----------------------------------------------

SIM_KEY = "sim-key"
SIM_DURATIONS = {"draft": 0.05, "turbo": 0.08, "fast": 0.1}


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from simulator import start_simulator

    sim = start_simulator(
        tmp_path_factory.mktemp("provider-sim"),
        keys=[SIM_KEY, "other-key"],
        durations=SIM_DURATIONS,
        callback_delays=(0.05, 0.1, 0.2),
        callback_timeout=1.0,
    )
    yield sim
    sim.stop()


class SimControl:
    """The simulator's `/_sim/` control endpoint."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = httpx.Client(timeout=10, trust_env=False)

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(self.base + path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        response = self.http.post(self.base + path, json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    def faults(self, **faults: Any) -> Any:
        return self.post("/_sim/faults", faults)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return list(self.get("/_sim/requests", **filters)["requests"])

    def task(self, task_id: str) -> dict[str, Any]:
        return dict(self.get(f"/_sim/tasks/{task_id}"))


@pytest.fixture
def control(simulator: Any) -> Iterator[SimControl]:
    """Control of a simulator reset to defaults: no faults, empty logs, rich keys."""
    ctl = SimControl(simulator.base_url)
    ctl.post(
        "/_sim/reset",
        {
            "timing": {
                "durations": SIM_DURATIONS,
                "callback_delays": [0.05, 0.1, 0.2],
                "callback_timeout": 1.0,
                "url_ttl": 86400,
                "time_scale": 1,
                "pending_fraction": 0.15,
            }
        },
    )
    for key in (SIM_KEY, "other-key"):
        ctl.post(f"/_sim/keys/{key}", {"balance": "1000000", "denied_models": []})
    yield ctl
    ctl.http.delete(ctl.base + "/_sim/faults")  # no fault outlives its test
    ctl.http.close()


@pytest.fixture
def sim_adapter(simulator: Any, control: SimControl) -> Iterator[Callable[..., Adapter]]:
    """`sim_adapter(provider, key=..., timeout=..., **adapter_options)` on the simulator."""
    made: list[Adapter] = []

    def build(
        provider: str,
        *,
        key: str = SIM_KEY,
        timeout: httpx.Timeout | None = None,
        **options: Any,
    ) -> Adapter:
        client = make_client(
            simulator.url(provider),
            key,
            timeout=timeout or httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0),
        )
        adapter = adapter_class(provider)(client, **options)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


def wait_for(adapter: Adapter, upstream_id: str, timeout: float = 10.0) -> Any:
    """Poll until the task is terminal; returns every snapshot seen."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        snapshot = adapter.fetch(upstream_id)
        seen.append(snapshot)
        if snapshot.terminal:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{upstream_id} did not finish within {timeout} s")


@pytest.fixture
def poll() -> Callable[..., Any]:
    return wait_for
