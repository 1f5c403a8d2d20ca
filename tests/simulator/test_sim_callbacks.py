"""Callbacks: evolink's body and retry schedule, and the faults that bend them."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from simclient import Api, Control, Receiver

from simulator import start_simulator


def with_callback(url: str, prompt: str = "a heron") -> dict[str, Any]:
    return {"model": "mj-v7", "prompt": prompt, "callback_url": url}


def test_the_callback_body_is_the_task_detail_body(
    evolink: Api, receiver: Receiver, control: Control
) -> None:
    task = evolink.submit(with_callback(receiver.url))
    [call] = receiver.wait_for(1)
    polled = evolink.poll(task).json()
    assert call["body"] == polled
    assert call["body"]["status"] == "completed"
    assert len(call["body"]["results"]) == 4
    assert control.wait_task(task, "callback_state", "delivered")["callback_state"] == "delivered"


def test_a_failed_task_is_called_back_with_its_error(evolink: Api, receiver: Receiver) -> None:
    evolink.submit(with_callback(receiver.url, "a heron [sim:fail=content_policy_violation]"))
    [call] = receiver.wait_for(1)
    assert call["body"]["status"] == "failed"
    assert call["body"]["error"]["code"] == "content_policy_violation"


def test_callbacks_are_retried_after_1_2_and_4_units_then_given_up(
    evolink: Api, receiver: Receiver, control: Control
) -> None:
    receiver.replies.extend([500, 502, 404, 503])
    task = evolink.submit(with_callback(receiver.url))
    calls = receiver.wait_for(4, timeout=5)
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(calls)]
    # The suite runs the schedule at 0.1 s / 0.2 s / 0.4 s (evolink's 1/2/4 s, scaled).
    for gap, expected in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert expected <= gap < expected + 0.25
    assert control.wait_task(task, "callback_state", "failed")["callback_state"] == "failed"
    time.sleep(0.2)
    assert len(receiver.calls) == 4, "three retries after the first attempt, no more"
    attempts = control.get("/_sim/callbacks", task_id=task)["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert [a["status"] for a in attempts] == [500, 502, 404, 503]


def test_a_retry_that_succeeds_stops_the_schedule(
    evolink: Api, receiver: Receiver, control: Control
) -> None:
    receiver.replies.extend([500])
    task = evolink.submit(with_callback(receiver.url))
    receiver.wait_for(2)
    assert control.wait_task(task, "callback_state", "delivered")["callback_state"] == "delivered"
    time.sleep(0.3)
    assert len(receiver.calls) == 2


def test_a_receiver_slower_than_the_timeout_counts_as_a_failure(
    evolink: Api, receiver: Receiver, control: Control
) -> None:
    control.post("/_sim/timing", {"callback_timeout": 0.2})
    receiver.delay = 0.5
    task = evolink.submit(with_callback(receiver.url))
    receiver.wait_for(2, timeout=5)
    attempts = control.get("/_sim/callbacks", task_id=task)["attempts"]
    assert "Timeout" in attempts[0]["error"]


def test_duplicate_callbacks_deliver_the_final_body_more_than_once(
    evolink: Api, receiver: Receiver, control: Control
) -> None:
    control.faults(callback_duplicate={"copies": 3})
    evolink.submit(with_callback(receiver.url))
    calls = receiver.wait_for(3)
    assert len({str(c["body"]) for c in calls}) == 1


def test_out_of_order_callbacks_send_a_stale_processing_body_after_the_final_one(
    evolink: Api, receiver: Receiver, control: Control
) -> None:
    control.faults(callback_out_of_order={})
    evolink.submit(with_callback(receiver.url))
    first, second = receiver.wait_for(2)
    assert first["body"]["status"] == "completed"
    assert second["body"]["status"] == "processing"
    assert "results" not in second["body"]


def test_an_unreachable_callback_endpoint_is_retried_and_never_reached(
    evolink: Api, receiver: Receiver, control: Control
) -> None:
    control.faults(callback_unreachable={})
    task = evolink.submit(with_callback(receiver.url))
    assert control.wait_task(task, "callback_state", "failed")["callback_state"] == "failed"
    attempts = control.get("/_sim/callbacks", task_id=task)["attempts"]
    assert len(attempts) == 4
    assert all("unreachable" in a["error"] for a in attempts)
    assert receiver.calls == []


def test_callback_markers_work_per_request(evolink: Api, receiver: Receiver) -> None:
    evolink.submit(with_callback(receiver.url, "a heron [sim:callback=dup]"))
    assert len(receiver.wait_for(2)) == 2


def test_vtrix_calls_back_its_own_task_body(vtrix: Api, receiver: Receiver) -> None:
    task = vtrix.submit(
        {"model": "midjourney_diffusion", "text": "a heron", "callback": receiver.url}
    )
    [call] = receiver.wait_for(1)
    assert call["body"]["id"] == task
    assert call["body"]["output"][0]["content"][0]["type"] == "image"


def test_reapi_documents_no_callbacks_and_sends_none(reapi: Api, receiver: Receiver) -> None:
    task = reapi.submit(with_callback(receiver.url))
    reapi.wait(task)
    time.sleep(0.2)
    assert receiver.calls == []


def test_loopback_http_callbacks_are_accepted_by_default(evolink: Api) -> None:
    assert evolink.create(with_callback("http://127.0.0.1:9/hook")).status_code == 200
    assert evolink.create(with_callback("ftp://example.com/hook")).status_code == 400
    assert evolink.create(with_callback("https://e.com/" + "x" * 2048)).status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.1/hook",
        "https://localhost/hook",
    ],
)
def test_strict_callbacks_enforce_evolinks_https_and_public_address_rule(
    strict_evolink: Api, url: str
) -> None:
    response = strict_evolink.create(with_callback(url))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_strict_callbacks_still_accept_a_public_https_url(strict_evolink: Api) -> None:
    response = strict_evolink.create(with_callback("https://your-domain.com/webhooks/done"))
    assert response.status_code == 200


@pytest.fixture(scope="module")
def strict_evolink(tmp_path_factory: pytest.TempPathFactory) -> Any:
    sim = start_simulator(tmp_path_factory.mktemp("strict"), strict_callbacks=True)
    yield Api(sim, "evolink")
    sim.stop()
