"""Requests the real providers refuse are refused with that provider's status and code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from simclient import Api, Control

from simulator import start_simulator

TASK = "task-unified-1-unknown"


def evolink_error(response: httpx.Response, status: int, code: str | int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return dict(error)


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "no model"},
        {"model": "mj-v7"},
        {"model": "mj-v7", "prompt": ""},
        {"model": "mj-v7", "prompt": "x" * 8193},
        {"model": "mj-v7", "prompt": "https://example.com/a.png"},
        {"model": "mj-v7", "prompt": "https://example.com/a.png --ar 16:9"},
        {"model": "mj-v7", "prompt": "cat", "model_params": {"speed": "relax"}},
        {"model": "mj-v7", "prompt": "cat --ar 16:9.5"},
        {"model": "mj-v7", "prompt": "cat --s 2000"},
        {"model": "mj-v7", "prompt": "cat --seed -1"},
        {
            "model": "mj-v7",
            "prompt": "cat --oref https://example.com/o.png",
            "model_params": {"speed": "draft"},
        },
        {"model": "mj-v6", "prompt": "cat"},
        {"model": "mj-v7-variation", "model_params": {}},
        {"model": "mj-v7-variation", "model_params": {"task_id": TASK, "image_number": 4}},
        {"model": "mj-v7-variation", "model_params": {"task_id": TASK, "image_number": "1"}},
        {"model": "mj-v7-variation", "model_params": {"task_id": TASK, "type": "wild"}},
        {"model": "mj-v7-variation", "model_params": {"task_id": TASK, "speed": "draft"}},
        {"model": "mj-v7-upscale", "model_params": {"task_id": TASK, "type": "4x"}},
        {"model": "mj-v7-remix", "model_params": {"task_id": TASK}},
        {"model": "mj-v7-remix", "prompt": "x", "model_params": {"task_id": TASK, "mode": "loud"}},
        {"model": "mj-v7-pan", "model_params": {"task_id": TASK, "direction": "north"}},
        {"model": "mj-v7-pan", "model_params": {"task_id": TASK, "scale": 3.5}},
        {"model": "mj-v7-pan", "model_params": {"task_id": TASK, "scale": 1.0}},
        {"model": "mj-v7-outpaint", "model_params": {"task_id": TASK, "scale": 2.5}},
        {"model": "mj-v7-inpaint", "model_params": {"task_id": TASK}},
        {"model": "mj-v7-inpaint", "model_params": {"task_id": TASK, "mask": {}}},
        {
            "model": "mj-v7-inpaint",
            "model_params": {
                "task_id": TASK,
                "mask": {"areas": [{"width": 9, "height": 9, "points": [1, 2]}]},
            },
        },
        {"model": "mj-v7-edit", "prompt": "x", "model_params": {"task_id": TASK}},
        {
            "model": "mj-v7-edit",
            "model_params": {
                "task_id": TASK,
                "canvas": {"width": 10, "height": 10},
                "img_pos": {"width": 5, "height": 5, "x": 0, "y": 0},
            },
        },
        {"model": "mj-v7-remove-bg"},
        {"model": "mj-v7-remove-bg", "image_urls": ["https://a/1.png", "https://a/2.png"]},
        {"model": "mj-v7-remove-bg", "image_urls": ["data:image/png;base64,AAAA"]},
        {"model": "mj-v7-retexture", "image_urls": ["https://example.com/a.png"]},
        {"model": "mj-v7-upload-paint", "prompt": "x", "image_urls": ["https://example.com/a.png"]},
    ],
)
def test_evolink_rejects_an_invalid_create_request_with_400_invalid_request(
    evolink: Api, body: dict[str, Any]
) -> None:
    error = evolink_error(evolink.create(body), 400, "invalid_request")
    assert error["type"] == "invalid_request_error"


def test_two_image_prompts_without_text_are_accepted(evolink: Api) -> None:
    response = evolink.create(
        {"model": "mj-v7", "prompt": "https://example.com/a.png https://example.com/b.jpg"}
    )
    assert response.status_code == 200


def test_a_prompt_of_exactly_8192_characters_is_accepted(evolink: Api) -> None:
    assert evolink.create({"model": "mj-v7", "prompt": "x" * 8192}).status_code == 200


def test_a_malformed_json_body_is_a_400(evolink: Api) -> None:
    response = evolink.http.post(
        evolink.base + "/v1/images/generations", content=b"{nope", headers=evolink.headers
    )
    evolink_error(response, 400, "invalid_request")


def test_evolink_answers_401_for_a_wrong_or_missing_key(sim: Any) -> None:
    url = sim.url("evolink") + "/v1/images/generations"
    body = {"model": "mj-v7", "prompt": "cat"}
    for headers in ({"Authorization": "Bearer wrong"}, {}, {"Authorization": "Basic sim-key"}):
        response = httpx.post(url, json=body, headers=headers)
        error = evolink_error(response, 401, "unauthorized")
        assert error["type"] == "authentication_error"


def test_evolink_answers_402_insufficient_quota_when_the_balance_is_exhausted(
    evolink: Api, control: Control
) -> None:
    control.post("/_sim/keys/sim-key", {"balance": "5", "dialect": "evolink"})
    response = evolink.create({"model": "mj-v7", "prompt": "cat"})  # costs 5.4
    error = evolink_error(response, 402, "insufficient_quota")
    assert error["type"] == "insufficient_quota"
    assert (
        evolink.create(
            {"model": "mj-v7", "prompt": "cat", "model_params": {"speed": "draft"}}
        ).status_code
        == 200
    )


def test_evolink_answers_403_model_access_denied_for_a_model_the_key_may_not_use(
    evolink: Api, control: Control
) -> None:
    control.post("/_sim/keys/sim-key", {"denied_models": ["mj-v7"]})
    error = evolink_error(
        evolink.create({"model": "mj-v7", "prompt": "cat"}), 403, "model_access_denied"
    )
    assert error["message"] == "Token does not have access to model: mj-v7"


def test_evolink_task_endpoint_uses_integer_codes_for_unknown_and_malformed_ids(
    evolink: Api,
) -> None:
    missing = evolink_error(evolink.poll("task-unified-0-nothere"), 404, 404)
    assert missing["type"] == "not_found_error"
    assert missing["message"] == "Task not found or expired"
    malformed = evolink_error(evolink.poll("abc"), 400, 400)
    assert malformed["param"] == "task_id"


def test_another_keys_task_reads_as_not_found(sim: Any, evolink: Api) -> None:
    task_id = evolink.submit({"model": "mj-v7", "prompt": "private"})
    other = Api(sim, "evolink", key="other-key")
    assert other.poll(task_id).status_code == 404
    other.close()


# -- parent rules (the same for evolink and reAPI; each dialect's envelope) --------------


@pytest.fixture
def parents(evolink: Api) -> dict[str, str]:
    fast = evolink.run({"model": "mj-v7", "prompt": "a parent"})["id"]
    draft = evolink.run(
        {"model": "mj-v7", "prompt": "a draft", "model_params": {"speed": "draft"}}
    )["id"]
    return {"fast": fast, "draft": draft}


def follow(model: str, task_id: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "model_params": {"task_id": task_id, **params}}
    if model in ("mj-v7-remix", "mj-v7-edit"):
        body["prompt"] = "again"
    return body


def test_enhance_is_accepted_only_on_a_draft_parent(evolink: Api, parents: dict[str, str]) -> None:
    evolink_error(evolink.create(follow("mj-v7-enhance", parents["fast"])), 400, "invalid_request")
    assert evolink.create(follow("mj-v7-enhance", parents["draft"])).status_code == 200


def test_it_rejects_upscale_of_an_upscale_with_403(evolink: Api, parents: dict[str, str]) -> None:
    upscaled = evolink.run(follow("mj-v7-upscale", parents["fast"], image_number=2))["id"]
    evolink_error(evolink.create(follow("mj-v7-upscale", upscaled)), 403, "invalid_request")
    assert evolink.create(follow("mj-v7-variation", upscaled)).status_code == 200


def test_nothing_but_upscale_may_follow_a_retexture(evolink: Api) -> None:
    retexture = evolink.run(
        {"model": "mj-v7-retexture", "prompt": "neon", "image_urls": ["https://example.com/p.jpg"]}
    )["id"]
    for model in ("mj-v7-variation", "mj-v7-remix", "mj-v7-pan", "mj-v7-outpaint"):
        evolink_error(evolink.create(follow(model, retexture)), 400, "invalid_request")
    assert evolink.create(follow("mj-v7-upscale", retexture)).status_code == 200


def test_the_parent_must_exist_be_completed_and_belong_to_the_same_key(
    sim: Any, evolink: Api, control: Control, parents: dict[str, str]
) -> None:
    evolink_error(evolink.create(follow("mj-v7-upscale", TASK)), 400, "invalid_request")
    running = evolink.submit({"model": "mj-v7", "prompt": "[sim:hold] still going"})
    evolink_error(evolink.create(follow("mj-v7-upscale", running)), 400, "invalid_request")
    failed = evolink.submit({"model": "mj-v7", "prompt": "[sim:fail] broken"})
    control.post(f"/_sim/tasks/{failed}/complete")
    evolink_error(evolink.create(follow("mj-v7-upscale", failed)), 400, "invalid_request")
    other = Api(sim, "evolink", key="other-key")
    evolink_error(other.create(follow("mj-v7-upscale", parents["fast"])), 400, "invalid_request")
    other.close()


def test_a_task_of_another_provider_is_not_a_valid_parent(
    sim: Any, parents: dict[str, str]
) -> None:
    reapi = Api(sim, "reapi")
    response = reapi.create(follow("mj-v7-upscale", parents["fast"]))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 20004
    reapi.close()


def test_image_number_must_be_within_the_parents_image_count(evolink: Api) -> None:
    moderated = evolink.run({"model": "mj-v7", "prompt": "[sim:images=2] filtered"})
    assert len(moderated["results"]) == 2
    assert (
        evolink.create(follow("mj-v7-upscale", moderated["id"], image_number=1)).status_code == 200
    )
    error = evolink_error(
        evolink.create(follow("mj-v7-upscale", moderated["id"], image_number=2)),
        400,
        "invalid_request",
    )
    assert "out of range" in error["message"]


def test_oref_is_refused_for_pan_inpaint_and_outpaint(
    evolink: Api, parents: dict[str, str]
) -> None:
    body = follow("mj-v7-pan", parents["fast"])
    body["prompt"] = "more --oref https://example.com/o.png"
    evolink_error(evolink.create(body), 400, "invalid_request")


# -- reAPI ----------------------------------------------------------------------------


def reapi_error(response: httpx.Response, status: int, code: int | str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["request_id"].startswith("req_")
    return dict(error)


def test_reapi_distinguishes_missing_malformed_and_invalid_keys(sim: Any) -> None:
    url = sim.url("reapi") + "/api/v1/images/generations"
    body = {"model": "mj-v7", "prompt": "cat"}
    reapi_error(httpx.post(url, json=body), 401, 10001)
    reapi_error(httpx.post(url, json=body, headers={"Authorization": "Token x"}), 401, 10002)
    reapi_error(
        httpx.post(url, json=body, headers={"Authorization": "Bearer rk_live_x"}), 401, 10003
    )


def test_reapi_reports_missing_parameters_and_insufficient_credits(
    reapi: Api, control: Control
) -> None:
    reapi_error(reapi.create({"model": "mj-v7"}), 400, 20002)
    reapi_error(reapi.create({"model": "mj-v7", "prompt": "x" * 9000}), 400, 20003)
    control.post("/_sim/keys/sim-key", {"balance": "87", "dialect": "reapi"})
    reapi_error(reapi.create({"model": "mj-v7", "prompt": "cat"}), 402, 30001)  # 88 credits
    reapi_error(reapi.poll("task_nothere"), 404, 20006)


def test_reapi_can_speak_the_string_codes_of_its_mj_v7_page(tmp_path: Any) -> None:
    sim = start_simulator(tmp_path, reapi_error_codes="string", durations={"fast": 0.05})
    api = Api(sim, "reapi")
    try:
        reapi_error(api.create({"model": "mj-v7"}), 400, "INVALID_REQUEST")
        failed = api.wait(
            api.submit(
                {"model": "mj-v7", "prompt": "a banned thing [sim:fail=content_policy_violation]"}
            )
        )
        assert failed["error"]["code"] == "CONTENT_POLICY_VIOLATION"
    finally:
        api.close()
        sim.stop()


# -- Vtrix ----------------------------------------------------------------------------


def vtrix_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["error_message"]
    return dict(error)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"imageNo": 0, "remixPrompt": "x"}, 4011001),
        ({"jobId": "task_x", "remixPrompt": "x"}, 4011002),
        ({"jobId": "task_x", "imageNo": 4, "remixPrompt": "x"}, 4011003),
        ({"jobId": "task_x", "imageNo": 0, "remixPrompt": "x", "mode": 2}, 4011004),
        ({"jobId": "task_x", "imageNo": 0}, 4011005),
        ({"jobId": "task_x", "imageNo": 0, "remixPrompt": "x" * 8193}, 4011006),
        ({"jobId": "task_x", "imageNo": 0, "remixPrompt": "x", "callback": "ftp://h/x"}, 4011007),
    ],
)
def test_vtrix_remix_errors_carry_the_documented_004011xxx_codes(
    vtrix: Api, body: dict[str, Any], code: int
) -> None:
    vtrix_error(vtrix.create({"model": "midjourney_remix", **body}), 400, code)


def test_vtrix_diffusion_errors_carry_the_documented_8004001xxx_codes(vtrix: Api) -> None:
    vtrix_error(vtrix.create({"model": "midjourney_diffusion"}), 400, 8004001001)
    vtrix_error(
        vtrix.create({"model": "midjourney_diffusion", "text": "x" * 8193}), 400, 8004001002
    )


def test_vtrix_upscale_and_variation_need_their_integer_type(vtrix: Api) -> None:
    base = {"jobId": "task_x", "imageNo": 0}
    vtrix_error(vtrix.create({"model": "midjourney_upscale", **base}), 400, 4002004)
    vtrix_error(
        vtrix.create({"model": "midjourney_upscale", **base, "type": "creative"}), 400, 4002004
    )
    vtrix_error(vtrix.create({"model": "midjourney_variation", **base, "type": 2}), 400, 4003004)
    vtrix_error(vtrix.create({"model": "midjourney_outpaint", **base}), 400, 4005008)


def test_vtrix_refuses_an_unusable_parent_with_the_models_parent_code(vtrix: Api) -> None:
    parent = vtrix.run({"model": "midjourney_diffusion", "text": "[sim:images=1] one left"})["id"]
    vtrix_error(
        vtrix.create(
            {"model": "midjourney_remix", "jobId": "task_nothere", "imageNo": 0, "remixPrompt": "x"}
        ),
        400,
        4011009,
    )
    vtrix_error(
        vtrix.create(
            {"model": "midjourney_remix", "jobId": parent, "imageNo": 1, "remixPrompt": "x"}
        ),
        400,
        4011003,
    )
    vtrix_error(
        vtrix.create({"model": "midjourney_enhance", "jobId": parent, "imageNo": 0}), 400, 4008009
    )


def test_vtrix_answers_401_for_a_wrong_key_and_403_when_the_balance_is_exhausted(
    sim: Any, vtrix: Api, control: Control
) -> None:
    body = {"model": "midjourney_diffusion", "text": "cat"}
    url = sim.url("vtrix") + "/model/v1/generation"
    vtrix_error(httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}), 401, 401)
    control.post("/_sim/keys/sim-key", {"balance": "0.01", "dialect": "vtrix"})
    vtrix_error(vtrix.create(body), 403, 403)
    vtrix_error(vtrix.poll("task_nothere"), 404, 404)
