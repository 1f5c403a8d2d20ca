"""A whole dialect taken away from the control endpoint while the others serve."""

from __future__ import annotations

import time

from simclient import HTTP, Api, Control

PROMPT = {"model": "mj-v7", "prompt": "a quiet lake"}


def test_a_down_dialect_answers_503_quickly_while_the_others_serve(
    evolink: Api, reapi: Api, vtrix: Api, control: Control
) -> None:
    task = evolink.submit(PROMPT)
    control.post("/_sim/outages/evolink", {"mode": "down"})
    started = time.monotonic()
    assert evolink.create(PROMPT).status_code == 503
    assert evolink.poll(task).status_code == 503
    assert time.monotonic() - started < 2
    assert reapi.create(PROMPT).status_code == 200
    assert vtrix.create({"model": "midjourney_diffusion", "text": "a cat"}).status_code == 200


def test_a_down_dialect_creates_nothing_and_its_log_says_why(
    evolink: Api, control: Control
) -> None:
    before = len(control.get("/_sim/tasks", dialect="evolink")["tasks"])
    control.post("/_sim/outages/evolink", {"mode": "down"})
    evolink.create(PROMPT)
    log = control.get("/_sim/requests", dialect="evolink", endpoint="create")["requests"]
    assert log[-1]["status"] == 503
    assert log[-1]["fault"] == "outage:down"
    assert len(control.get("/_sim/tasks", dialect="evolink")["tasks"]) == before


def test_a_dialect_comes_back_when_its_outage_is_deleted(evolink: Api, control: Control) -> None:
    control.post("/_sim/outages/evolink", {"mode": "down"})
    assert control.get("/_sim/outages")["outages"]["evolink"] == {"mode": "down"}
    response = HTTP.delete(control.base + "/_sim/outages/evolink")
    assert response.json()["outages"]["evolink"] is None
    assert evolink.create(PROMPT).status_code == 200


def test_a_429_storm_answers_every_call_with_retry_after(reapi: Api, control: Control) -> None:
    control.post("/_sim/outages/reapi", {"mode": "rate_limit", "retry_after": 4})
    for _ in range(3):
        response = reapi.create(PROMPT)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "4"


def test_a_slow_dialect_answers_after_its_delay(vtrix: Api, control: Control) -> None:
    control.post("/_sim/outages/vtrix", {"mode": "slow", "delay": 0.6})
    started = time.monotonic()
    assert vtrix.create({"model": "midjourney_diffusion", "text": "a cat"}).status_code == 200
    assert time.monotonic() - started >= 0.55


def test_reset_brings_every_dialect_back(evolink: Api, control: Control) -> None:
    control.post("/_sim/outages/evolink", {"mode": "down"})
    control.post("/_sim/reset")
    assert control.get("/_sim/outages")["outages"]["evolink"] is None


def test_an_unknown_mode_or_dialect_is_refused_with_400(control: Control) -> None:
    bad_mode = HTTP.post(control.base + "/_sim/outages/evolink", json={"mode": "asleep"})
    assert bad_mode.status_code == 400
    assert "mode must be one of" in bad_mode.json()["error"]
    bad_dialect = HTTP.post(control.base + "/_sim/outages/midjourney", json={"mode": "down"})
    assert bad_dialect.status_code == 400
