"""Fixtures for the upstream simulator's tests: one in-process simulator per session,
per-dialect clients, a control client and a callback receiver. No Django."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simclient import CALLBACK_DELAYS, DURATIONS, KEYS, LONG_SIDE, Api, Control, Receiver

from simulator import Simulator, start_simulator


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    simulator = start_simulator(
        tmp_path_factory.mktemp("simulator"),
        keys=KEYS,
        durations=DURATIONS,
        callback_delays=CALLBACK_DELAYS,
        callback_timeout=1.0,
        long_side=LONG_SIDE,
    )
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def _fresh_simulator_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults, logs, timing and balances back to defaults before each test that uses ``sim``."""
    if "sim" not in request.fixturenames:
        yield
        return
    simulator: Simulator = request.getfixturevalue("sim")
    control = Control(simulator)
    control.post(
        "/_sim/reset",
        {
            "timing": {
                "durations": DURATIONS,
                "callback_delays": list(CALLBACK_DELAYS),
                "callback_timeout": 1.0,
                "url_ttl": 86400,
                "time_scale": 1,
            }
        },
    )
    for key in KEYS:
        control.post(f"/_sim/keys/{key}", {"balance": "1000000", "denied_models": []})
    yield


@pytest.fixture
def control(sim: Simulator) -> Control:
    return Control(sim)


@pytest.fixture
def evolink(sim: Simulator) -> Iterator[Api]:
    api = Api(sim, "evolink")
    yield api
    api.close()


@pytest.fixture
def reapi(sim: Simulator) -> Iterator[Api]:
    api = Api(sim, "reapi")
    yield api
    api.close()


@pytest.fixture
def vtrix(sim: Simulator) -> Iterator[Api]:
    api = Api(sim, "vtrix")
    yield api
    api.close()


@pytest.fixture(params=["evolink", "reapi", "vtrix"])
def api(sim: Simulator, request: pytest.FixtureRequest) -> Iterator[Api]:
    client = Api(sim, request.param)
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()
