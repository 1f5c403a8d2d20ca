"""The simulator as its own process: command line, environment, and surviving a restart."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from simclient import HTTP

from simulator import parse_config, spawn_simulator
from simulator.config import parse_fault_spec


def test_a_killed_simulator_restarts_with_its_tasks_and_images(tmp_path: Path) -> None:
    first = spawn_simulator(tmp_path, 0, "--duration-fast", "0.5", "--long-side", "256")
    headers = {"Authorization": "Bearer sim-key"}
    try:
        create = HTTP.post(
            first.url("evolink") + "/v1/images/generations",
            json={"model": "mj-v7", "prompt": "survivor"},
            headers=headers,
        )
        task = create.json()["id"]
        done = HTTP.post(
            first.url("evolink") + "/v1/images/generations",
            json={"model": "mj-v7", "prompt": "already done", "model_params": {"speed": "draft"}},
            headers=headers,
        ).json()["id"]
        HTTP.post(f"{first.base_url}/_sim/tasks/{done}/complete")
    finally:
        first.kill()  # SIGKILL while "survivor" is still running
    second = spawn_simulator(tmp_path, 0, "--duration-fast", "0.5", "--long-side", "256")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            body = HTTP.get(second.url("evolink") + f"/v1/tasks/{task}", headers=headers).json()
            if body["status"] == "completed":
                break
            time.sleep(0.05)
        assert body["status"] == "completed"
        assert len(body["results"]) == 4
        assert all(url.startswith(second.base_url) for url in body["results"])
        old = HTTP.get(second.url("evolink") + f"/v1/tasks/{done}", headers=headers).json()
        assert {HTTP.get(url).status_code for url in old["results"]} == {200}
        balances = HTTP.get(f"{second.base_url}/_sim/keys/sim-key").json()["balances"]
        assert balances["evolink"] == str(1_000_000 - 5.4 - 2.7)
    finally:
        second.stop()


def test_the_command_line_takes_keys_and_faults_from_the_environment(tmp_path: Path) -> None:
    env = dict(os.environ, SIM_KEYS="k1,k2", SIM_FAULTS="rate_limit:retry_after=7")
    sim = spawn_simulator(tmp_path, 0, env=env)
    try:
        url = sim.url("reapi") + "/api/v1/images/generations"
        body = {"model": "mj-v7", "prompt": "x"}
        assert (
            HTTP.post(url, json=body, headers={"Authorization": "Bearer sim-key"}).status_code
            == 429
        )
        HTTP.delete(f"{sim.base_url}/_sim/faults")
        assert (
            HTTP.post(url, json=body, headers={"Authorization": "Bearer sim-key"}).status_code
            == 401
        )
        assert HTTP.post(url, json=body, headers={"Authorization": "Bearer k2"}).status_code == 200
    finally:
        sim.stop()


def test_options_parse_from_flags_with_environment_fallbacks() -> None:
    config = parse_config(
        [
            "--port",
            "9000",
            "--duration-fast",
            "3",
            "--fault",
            "server_error:fraction=0.2,status=503",
        ],
        {"SIM_PORT": "1", "SIM_KEYS": "a,b", "SIM_URL_TTL": "60", "SIM_STRICT_CALLBACKS": "1"},
    )
    assert config.port == 9000
    assert config.keys == ["a", "b"]
    assert config.timing.durations["fast"] == 3
    assert config.timing.url_ttl == 60
    assert config.strict_callbacks is True
    assert config.faults == {"server_error": {"fraction": 0.2, "status": 503}}


def test_defaults_follow_the_product_brief() -> None:
    config = parse_config([], {})
    assert config.port == 8801
    assert config.keys == ["sim-key"]
    assert config.timing.durations["draft"] < config.timing.durations["turbo"]
    assert config.timing.durations["turbo"] < config.timing.durations["fast"]
    assert config.timing.callback_delays == (1.0, 2.0, 4.0)
    assert config.timing.callback_timeout == 10.0
    assert config.timing.url_ttl == 86400
    assert config.strict_callbacks is False


def test_fault_specs_accept_the_short_form_and_json() -> None:
    assert parse_fault_spec("slow:delay=2;drop:when=after") == {
        "slow": {"delay": 2},
        "drop": {"when": "after"},
    }
    assert parse_fault_spec('{"moderation": {"images": 1}}') == {"moderation": {"images": 1}}


def test_an_unknown_fault_on_the_command_line_is_an_error() -> None:
    with pytest.raises(SystemExit):
        parse_config(["--fault", "gremlins"], {})
