"""Misbehaviour on demand: switches through /_sim/faults, and prompt markers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from simclient import HTTP, Api, Control

PROMPT = {"model": "mj-v7", "prompt": "a quiet lake"}


def test_rate_limit_answers_429_with_retry_after_then_recovers(
    evolink: Api, control: Control
) -> None:
    control.faults(rate_limit={"count": 2, "retry_after": 3})
    for _ in range(2):
        response = evolink.create(PROMPT)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["error"]["code"] == "rate_limit_exceeded"
    assert evolink.create(PROMPT).status_code == 200


def test_rate_limit_on_polls_uses_each_dialects_envelope(
    evolink: Api, reapi: Api, vtrix: Api, control: Control
) -> None:
    task = evolink.submit(PROMPT)
    control.faults(rate_limit={"scope": "poll"})
    assert evolink.create(PROMPT).status_code == 200, "creates are out of scope"
    limited = evolink.poll(task)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == 429
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert reapi.poll("task_x").json()["error"]["code"] == 40001
    assert vtrix.poll("task_x").json()["error"]["code"] == 429


def test_server_errors_hit_the_configured_fraction_of_calls(reapi: Api, control: Control) -> None:
    control.faults(server_error={"fraction": 0.5, "status": 503})
    statuses = [reapi.create(PROMPT).status_code for _ in range(40)]
    assert set(statuses) == {200, 503}
    assert 8 <= statuses.count(503) <= 32
    control.post("/_sim/faults", {"server_error": None})
    assert reapi.create(PROMPT).status_code == 200


def test_a_server_error_on_create_creates_no_task(evolink: Api, control: Control) -> None:
    before = len(control.get("/_sim/tasks")["tasks"])
    control.faults(server_error={"count": 1, "scope": "create"})
    response = evolink.create(PROMPT)
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "Internal server error",
        "type": "api_error",
    }
    assert len(control.get("/_sim/tasks")["tasks"]) == before


def test_a_fault_can_be_limited_to_one_dialect(evolink: Api, reapi: Api, control: Control) -> None:
    control.faults(server_error={"dialect": "reapi"})
    assert reapi.create(PROMPT).status_code == 500
    assert evolink.create(PROMPT).status_code == 200


def test_a_slow_response_outlasts_the_client_timeout_but_the_task_exists(
    evolink: Api, control: Control
) -> None:
    control.faults(slow={"count": 1, "delay": 1.0, "scope": "create"})
    with pytest.raises(httpx.ReadTimeout):
        evolink.create({"model": "mj-v7", "prompt": "lost reply"}, timeout=0.3)
    created = [
        t for t in control.get("/_sim/tasks")["tasks"] if t["request"]["prompt"] == "lost reply"
    ]
    assert len(created) == 1


def test_a_connection_dropped_before_processing_creates_nothing(
    evolink: Api, control: Control
) -> None:
    control.faults(drop={"count": 1, "when": "before"})
    with pytest.raises(httpx.TransportError):
        evolink.create({"model": "mj-v7", "prompt": "dropped early"})
    tasks = control.get("/_sim/tasks")["tasks"]
    assert not [t for t in tasks if t["request"]["prompt"] == "dropped early"]
    assert evolink.create(PROMPT).status_code == 200


def test_a_connection_dropped_after_processing_leaves_a_charged_task(
    evolink: Api, control: Control
) -> None:
    control.faults(drop={"count": 1, "when": "after"})
    with pytest.raises(httpx.TransportError):
        evolink.create({"model": "mj-v7", "prompt": "dropped late"})
    [task] = [
        t for t in control.get("/_sim/tasks")["tasks"] if t["request"]["prompt"] == "dropped late"
    ]
    ledger = control.get("/_sim/keys/sim-key")["ledger"]
    assert any(e["task_id"] == task["id"] and e["kind"] == "charge" for e in ledger)
    log = control.get("/_sim/requests", task_id=task["id"])["requests"]
    assert log[0]["fault"] == "drop" and log[0]["status"] is None


def test_file_downloads_can_fail_too(evolink: Api, control: Control) -> None:
    url = evolink.run(PROMPT)["results"][0]
    control.faults(server_error={"count": 1, "scope": "files", "status": 502})
    assert HTTP.get(url).status_code == 502
    assert HTTP.get(url).status_code == 200


@pytest.mark.parametrize(
    ("code", "evolink_code", "reapi_code"),
    [
        ("generation_failed", "generation_failed_no_content", 80001),
        ("content_policy_violation", "content_policy_violation", 80006),
    ],
)
def test_task_failures_are_reported_and_refunded(
    sim: Any, control: Control, code: str, evolink_code: str, reapi_code: int
) -> None:
    control.faults(task_failure={"code": code, "count": 2})
    evolink, reapi = Api(sim, "evolink"), Api(sim, "reapi")
    failed = evolink.wait(evolink.submit(PROMPT))
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == evolink_code
    assert failed["error"]["type"] == "task_error"
    assert "results" not in failed
    reapi_failed = reapi.wait(reapi.submit(PROMPT))
    assert reapi_failed["error"]["code"] == reapi_code
    assert reapi_failed["output"] is None
    balances = control.get("/_sim/keys/sim-key")["balances"]
    assert balances["evolink"] == "1000000.0"
    assert balances["reapi"] == "1000000"


def test_vtrix_task_failures_carry_the_models_generation_failed_code(
    vtrix: Api, control: Control
) -> None:
    control.faults(task_failure={"count": 1})
    failed = vtrix.wait(vtrix.submit({"model": "midjourney_diffusion", "text": "a cat"}))
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == 8004001098
    assert "output" not in failed and "usage" not in failed


def test_moderation_returns_fewer_than_four_images_and_keeps_the_charge(
    evolink: Api, control: Control
) -> None:
    control.faults(moderation={"images": 3, "count": 1})
    done = evolink.wait(evolink.submit(PROMPT))
    assert done["status"] == "completed"
    assert len(done["results"]) == 3
    assert control.get("/_sim/keys/sim-key")["balances"]["evolink"] == "999994.6"


@pytest.mark.parametrize(
    ("marker", "status", "count", "code"),
    [
        ("[sim:fail]", "failed", 0, "generation_failed_no_content"),
        ("[sim:fail=content_policy_violation]", "failed", 0, "content_policy_violation"),
        ("[sim:images=1]", "completed", 1, None),
        ("[sim:images=0]", "failed", 0, "content_policy_violation"),
    ],
)
def test_prompt_markers_decide_a_tasks_outcome(
    evolink: Api, marker: str, status: str, count: int, code: str | None
) -> None:
    done = evolink.wait(evolink.submit({"model": "mj-v7", "prompt": f"a fox {marker}"}))
    assert done["status"] == status
    assert len(done.get("results", [])) == count
    assert done.get("error", {}).get("code") == code


def test_the_http_marker_answers_with_that_status(evolink: Api) -> None:
    response = evolink.create({"model": "mj-v7", "prompt": "a fox [sim:http=503]"})
    assert response.status_code == 503
    limited = evolink.create({"model": "mj-v7", "prompt": "a fox [sim:http=429]"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"


def test_the_hold_marker_keeps_a_task_processing_until_forced(
    evolink: Api, control: Control
) -> None:
    task = evolink.submit({"model": "mj-v7", "prompt": "a fox [sim:hold]"})
    time.sleep(0.4)
    assert evolink.poll(task).json()["status"] == "processing"
    state = control.post(f"/_sim/tasks/{task}/complete")
    assert state["status"] == "completed"
    assert evolink.poll(task).json()["status"] == "completed"


def test_the_duration_marker_sets_one_tasks_run_time(evolink: Api, control: Control) -> None:
    task = evolink.submit({"model": "mj-v7", "prompt": "a fox [sim:duration=0.05]"})
    assert control.task(task)["duration"] == 0.05


def test_unknown_fault_names_and_bad_specs_are_refused(sim: Any) -> None:
    response = HTTP.post(f"{sim.base_url}/_sim/faults", json={"gremlins": {}})
    assert response.status_code == 400
    response = HTTP.post(f"{sim.base_url}/_sim/faults", json={"server_error": {"status": 404}})
    assert response.status_code == 400


def test_a_malformed_marker_is_a_400_not_a_crash(evolink: Api) -> None:
    for prompt in ("a fox [sim:duration=soon]", "a fox [sim:fail=banana]", "a fox [sim:images=x]"):
        response = evolink.create({"model": "mj-v7", "prompt": prompt})
        assert response.status_code == 400, prompt
