"""The /_sim control endpoint: request log, money, timing, forcing tasks, reading state."""

from __future__ import annotations

import time
from typing import Any

from simclient import HTTP, Api, Control


def test_the_request_log_records_what_the_app_sent_with_the_key_masked(
    evolink: Api, control: Control
) -> None:
    body = {"model": "mj-v7", "prompt": "logged", "model_params": {"speed": "turbo"}}
    task = evolink.submit(body)
    evolink.poll(task)
    entries = control.get("/_sim/requests", dialect="evolink")["requests"]
    create, poll = entries[-2:]
    assert create["method"] == "POST"
    assert create["path"] == "/evolink/v1/images/generations"
    assert create["endpoint"] == "create"
    assert create["body"] == body
    assert create["headers"]["Authorization"] == "Bearer ***"
    assert create["status"] == 200
    assert create["task_id"] == task
    assert isinstance(create["time"], float)
    assert poll["endpoint"] == "poll" and poll["method"] == "GET" and poll["body"] is None


def test_the_request_log_can_be_read_incrementally_and_cleared(
    reapi: Api, control: Control
) -> None:
    reapi.create({"model": "mj-v7"})
    last = control.get("/_sim/requests")["requests"][-1]["seq"]
    reapi.create({"model": "mj-v7", "prompt": "second"})
    newer = control.get("/_sim/requests", since=last)["requests"]
    assert [e["body"]["prompt"] for e in newer] == ["second"]
    HTTP.delete(control.base + "/_sim/requests")
    assert control.get("/_sim/requests")["count"] == 0


def test_balances_are_per_key_and_dialect_and_every_movement_is_in_the_ledger(
    sim: Any, control: Control
) -> None:
    control.post("/_sim/keys/sim-key", {"balance": "100", "dialect": "evolink"})
    evolink = Api(sim, "evolink")
    evolink.submit({"model": "mj-v7", "prompt": "cheap", "model_params": {"speed": "draft"}})
    evolink.submit({"model": "mj-v7", "prompt": "double --oref https://example.com/o.png"})
    failed = evolink.submit({"model": "mj-v7", "prompt": "refund me [sim:fail]"})
    control.post(f"/_sim/tasks/{failed}/complete")
    state = control.get("/_sim/keys/sim-key")
    assert state["balances"]["evolink"] == "86.5"  # 100 - 2.7 - 2 x 5.4 (oref), refund nets 0
    assert state["balances"]["reapi"] == "1000000"
    kinds = [(e["kind"], e["amount"]) for e in state["ledger"] if e["dialect"] == "evolink"]
    assert kinds[-4:] == [
        ("charge", "-2.7"),
        ("charge", "-10.8"),
        ("charge", "-5.4"),
        ("refund", "5.4"),
    ]


def test_reapi_charges_integer_credits_rounded_up_and_doubled_by_oref(
    reapi: Api, control: Control
) -> None:
    control.post("/_sim/keys/sim-key", {"balance": "1000", "dialect": "reapi"})
    reapi.submit({"model": "mj-v7", "prompt": "a", "model_params": {"speed": "turbo"}})  # 175
    reapi.submit({"model": "mj-v7", "prompt": "b --oref https://example.com/o.png"})  # 175
    assert control.get("/_sim/keys/sim-key")["balances"]["reapi"] == "650"


def test_prices_are_published_per_operation_and_speed(control: Control) -> None:
    prices = control.get("/_sim/prices")
    assert prices["prices"]["evolink"]["mj-v7"] == {"draft": "2.7", "fast": "5.4", "turbo": "10.8"}
    assert prices["prices"]["reapi"]["mj-v7-variation"] == {"fast": "131", "turbo": "262"}
    assert prices["prices"]["vtrix"]["mj-v7-upscale"]["flat"] == "0.130977"
    assert prices["oref_factor"] == 2


def test_new_keys_can_be_added_at_run_time(sim: Any, control: Control) -> None:
    control.post("/_sim/keys/late-key", {"balance": "50"})
    late = Api(sim, "evolink", key="late-key")
    assert late.create({"model": "mj-v7", "prompt": "hello"}).status_code == 200


def test_timing_can_be_changed_at_run_time(evolink: Api, control: Control) -> None:
    timing = control.post("/_sim/timing", {"fast": 0.05})
    assert timing["durations"]["fast"] == 0.05
    started = time.monotonic()
    evolink.wait(evolink.submit({"model": "mj-v7", "prompt": "quick"}))
    assert time.monotonic() - started < 1.0


def test_forcing_completion_records_the_instant_and_the_poll_count(
    evolink: Api, control: Control
) -> None:
    control.post("/_sim/timing", {"fast": 60})
    task = evolink.submit({"model": "mj-v7", "prompt": "benchmark me"})
    for _ in range(3):
        assert evolink.poll(task).json()["status"] in ("pending", "processing")
    before = time.time()
    state = control.post(f"/_sim/tasks/{task}/complete")
    assert state["status"] == "completed"
    assert before <= state["completed_at"] <= time.time()
    assert state["poll_count"] == 3
    assert len(state["urls"]) == 4
    evolink.poll(task)
    assert control.task(task)["poll_count"] == 4


def test_forcing_a_failure_refunds_and_reports_the_code(evolink: Api, control: Control) -> None:
    control.post("/_sim/timing", {"fast": 60})
    task = evolink.submit({"model": "mj-v7", "prompt": "doomed"})
    state = control.post(f"/_sim/tasks/{task}/fail", {"code": "content_policy_violation"})
    assert state["status"] == "failed" and state["refunded"] is True
    assert evolink.poll(task).json()["error"]["code"] == "content_policy_violation"
    again = control.post(f"/_sim/tasks/{task}/complete")
    assert again["status"] == "failed", "a final state is final"


def test_internal_state_shows_plan_request_and_progress(evolink: Api, control: Control) -> None:
    task = evolink.submit({"model": "mj-v7", "prompt": "state [sim:images=2]"})
    state = control.task(task)
    assert state["plan"]["images"] == 2
    assert state["raw_request"]["prompt"] == "state [sim:images=2]"
    assert state["status"] in ("pending", "processing", "completed")
    assert state["dialect"] == "evolink" and state["api_key"] == "sim-key"


def test_reset_clears_faults_and_logs(evolink: Api, control: Control) -> None:
    control.faults(server_error={})
    evolink.create({"model": "mj-v7", "prompt": "x"})
    control.post("/_sim/reset")
    assert control.get("/_sim/faults")["active"] == {}
    assert control.get("/_sim/requests")["count"] == 0


def test_config_lists_the_dialect_base_urls(sim: Any, control: Control) -> None:
    config = control.get("/_sim/config")
    assert config["dialects"]["vtrix"] == f"{sim.base_url}/vtrix"
    assert "sim-key" in config["keys"]


def test_unknown_control_routes_and_tasks_are_404(control: Control) -> None:
    assert HTTP.get(control.base + "/_sim/nothing").status_code == 404
    assert HTTP.get(control.base + "/_sim/tasks/task-unified-0-none").status_code == 404


def test_concurrent_creates_are_all_charged_exactly_once(sim: Any, control: Control) -> None:
    from concurrent.futures import ThreadPoolExecutor

    control.post("/_sim/keys/sim-key", {"balance": "1000", "dialect": "reapi"})
    api = Api(sim, "reapi")
    body = {"model": "mj-v7", "prompt": "crowd [sim:hold]", "model_params": {"speed": "draft"}}
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: api.create(body).status_code, range(40)))
    # 1000 credits buy 22 drafts at 44 credits; the rest are refused with 402.
    assert statuses.count(200) == 22
    assert statuses.count(402) == 18
    state = control.get("/_sim/keys/sim-key")
    assert state["balances"]["reapi"] == "32"
    charges = [e for e in state["ledger"] if e["dialect"] == "reapi" and e["kind"] == "charge"]
    assert len({e["task_id"] for e in charges[-22:]}) == 22
