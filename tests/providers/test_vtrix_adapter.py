"""The Vtrix adapter against recorded payloads (httpx.MockTransport)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gallery.catalog.operations import OPERATIONS, Request
from gallery.providers import Kind, ProviderError, Status
from gallery.providers.vtrix import with_speed

if TYPE_CHECKING:
    from conftest import Upstream

SECRET = "sk-live-9f8e7d6c5b4a39281706SECRET"  # the key conftest's clients use
JOB = "task_3f2a9c1b7d4e6a8b0c2d4e6f"
MASK = {"areas": [{"width": 600, "height": 600, "points": [0, 0, 600, 0, 600, 600]}]}
CANVAS = {"width": 2048, "height": 1024}
IMG_POS = {"width": 1024, "height": 1024, "x": 512, "y": 0}


def req(operation: str, **fields: Any) -> Request:
    return Request(operation=operation, provider="vtrix", **fields)


# (request, documented flat body) per supported operation: providers.md §1.2 and SEED-001.
BODIES: list[tuple[Request, dict[str, Any]]] = [
    (
        req("mj-v7", prompt="a lighthouse at dusk --ar 16:9", speed="turbo"),
        {"model": "midjourney_diffusion", "text": "a lighthouse at dusk --ar 16:9 --turbo"},
    ),
    (
        req("mj-v7", prompt="a lighthouse", callback_url="https://example.com/hook"),
        {
            "model": "midjourney_diffusion",
            "text": "a lighthouse --fast",
            "callback": "https://example.com/hook",
        },
    ),
    (
        req("mj-v7-upscale", parent_task_id=JOB, image_number=3, params={"type": "creative"}),
        {"model": "midjourney_upscale", "jobId": JOB, "imageNo": 3, "type": 1},
    ),
    (
        req("mj-v7-variation", parent_task_id=JOB, image_number=1),
        {"model": "midjourney_variation", "jobId": JOB, "imageNo": 1, "type": 0},
    ),
    (
        req(
            "mj-v7-variation",
            parent_task_id=JOB,
            prompt="more fog",
            speed="turbo",
            params={"type": "strong"},
        ),
        {
            "model": "midjourney_variation",
            "jobId": JOB,
            "imageNo": 0,
            "remixPrompt": "more fog --turbo",
            "type": 1,
        },
    ),
    (
        # providers.md §1.2 "Example (Vtrix remix, flat form as documented)"
        req(
            "mj-v7-remix",
            parent_task_id="<prev task id>",
            image_number=0,
            prompt="oil painting --ar 1:1",
            callback_url="https://example.com/hook",
        ),
        {
            "model": "midjourney_remix",
            "jobId": "<prev task id>",
            "imageNo": 0,
            "remixPrompt": "oil painting --ar 1:1 --fast",
            "mode": 0,
            "callback": "https://example.com/hook",
        },
    ),
    (
        req("mj-v7-remix", parent_task_id=JOB, prompt="ink", params={"mode": "subtle"}),
        {
            "model": "midjourney_remix",
            "jobId": JOB,
            "imageNo": 0,
            "remixPrompt": "ink --fast",
            "mode": 1,
        },
    ),
    (
        req("mj-v7-outpaint", parent_task_id=JOB, params={"scale": 2.0}),
        {"model": "midjourney_outpaint", "jobId": JOB, "imageNo": 0, "scale": 2.0},
    ),
    (
        req("mj-v7-outpaint", parent_task_id=JOB),
        {"model": "midjourney_outpaint", "jobId": JOB, "imageNo": 0, "scale": 1.5},
    ),
    (
        req("mj-v7-inpaint", parent_task_id=JOB, prompt="a red boat", params={"mask": MASK}),
        {
            "model": "midjourney_inpaint",
            "jobId": JOB,
            "imageNo": 0,
            "remixPrompt": "a red boat --fast",
            "mask": MASK,
        },
    ),
    (
        req(
            "mj-v7-inpaint",
            parent_task_id=JOB,
            params={"mask": {"url": "https://example.com/mask.png"}},
        ),
        {
            "model": "midjourney_inpaint",
            "jobId": JOB,
            "imageNo": 0,
            "mask": {"url": "https://example.com/mask.png"},
        },
    ),
    (
        req(
            "mj-v7-edit",
            parent_task_id=JOB,
            image_number=2,
            prompt="a wide beach",
            params={"canvas": CANVAS, "img_pos": IMG_POS, "mask": MASK},
        ),
        {
            "model": "midjourney_edit",
            "jobId": JOB,
            "imageNo": 2,
            "remixPrompt": "a wide beach --fast",
            "canvas": CANVAS,
            "imgPos": IMG_POS,
            "mask": MASK,
        },
    ),
]
SUPPORTED = {
    "mj-v7",
    "mj-v7-upscale",
    "mj-v7-variation",
    "mj-v7-remix",
    "mj-v7-outpaint",
    "mj-v7-inpaint",
    "mj-v7-edit",
}


def test_every_supported_operation_has_a_body_case() -> None:
    assert {r.operation for r, _ in BODIES} == SUPPORTED


@pytest.mark.parametrize(("request_", "body"), BODIES, ids=lambda v: getattr(v, "operation", ""))
def test_it_posts_the_documented_flat_body_for_each_operation(
    vtrix_upstream: Upstream, request_: Request, body: dict[str, Any]
) -> None:
    vtrix_upstream.reply("create_accepted")
    vtrix_upstream.adapter().submit(request_)
    sent = vtrix_upstream.requests[-1]
    assert str(sent.url) == "https://cloud.vtrix.ai/model/v1/generation"
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    assert vtrix_upstream.sent == body


@pytest.mark.parametrize(("request_", "body"), BODIES, ids=lambda v: getattr(v, "operation", ""))
def test_it_can_send_the_clis_input_params_wrapper(
    vtrix_upstream: Upstream, request_: Request, body: dict[str, Any]
) -> None:
    vtrix_upstream.reply("create_accepted")
    vtrix_upstream.adapter(body_style="wrapped").submit(request_)
    fields = {k: v for k, v in body.items() if k != "model"}
    assert vtrix_upstream.sent == {"model": body["model"], "input": [{"params": fields}]}


@pytest.mark.parametrize(
    "operation", sorted(set(OPERATIONS) - SUPPORTED), ids=lambda op: op.removeprefix("mj-v7-")
)
def test_an_operation_vtrix_does_not_offer_is_refused_without_a_request(
    vtrix_upstream: Upstream, operation: str
) -> None:
    adapter = vtrix_upstream.adapter()
    assert not adapter.supports(operation)
    with pytest.raises(ProviderError) as caught:
        adapter.submit(req(operation, prompt="x"))
    assert caught.value.kind is Kind.INVALID_REQUEST
    assert caught.value.code == "unsupported_operation"
    assert vtrix_upstream.requests == []


@pytest.mark.parametrize(
    ("prompt", "speed", "text"),
    [
        ("a cat --ar 2:3", "draft", "a cat --ar 2:3 --draft"),
        ("a cat --turbo --ar 2:3", "fast", "a cat --ar 2:3 --fast"),
        ("a cat --RELAX", "turbo", "a cat --turbo"),
        ("https://example.com/a.png a cat", None, "https://example.com/a.png a cat"),
        ("fast--cars", "fast", "fast--cars --fast"),
    ],
)
def test_the_speed_travels_as_one_prompt_flag(prompt: str, speed: str | None, text: str) -> None:
    assert with_speed(prompt, speed) == text


def test_it_reads_the_accepted_task(vtrix_upstream: Upstream) -> None:
    vtrix_upstream.reply("create_accepted")
    accepted = vtrix_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert accepted.upstream_id == JOB
    assert accepted.status is Status.QUEUED
    assert accepted.cost is None


def test_it_reads_a_task_id_named_task_id(vtrix_upstream: Upstream) -> None:
    vtrix_upstream.reply("create_accepted_task_id")
    assert vtrix_upstream.adapter().submit(req("mj-v7", prompt="a cat")).upstream_id == JOB


def test_a_create_answer_with_an_error_string_and_no_id_is_a_refusal(
    vtrix_upstream: Upstream,
) -> None:
    vtrix_upstream.reply("create_error_string")
    with pytest.raises(ProviderError) as caught:
        vtrix_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.INVALID_REQUEST
    assert caught.value.message == "Prompt is missing"


@pytest.mark.parametrize(
    ("fixture_name", "status", "progress", "count"),
    [
        ("task_pending", Status.QUEUED, 0, 0),
        ("task_processing", Status.RUNNING, 42, 0),
        ("task_in_progress", Status.RUNNING, 70, 0),
        ("task_completed", Status.COMPLETED, 100, 4),
        ("task_completed_cli_example", Status.COMPLETED, 100, 1),
        ("task_completed_per_output", Status.COMPLETED, 100, 3),
        ("task_completed_wrapped", Status.COMPLETED, 100, 2),
    ],
)
def test_it_reads_each_documented_task_shape(
    vtrix_upstream: Upstream, fixture_name: str, status: Status, progress: int, count: int
) -> None:
    vtrix_upstream.reply(fixture_name)
    snapshot = vtrix_upstream.adapter().fetch(JOB)
    assert str(vtrix_upstream.requests[-1].url) == (
        f"https://cloud.vtrix.ai/model/v1/generation/task/{JOB}"
    )
    assert snapshot.status is status
    assert snapshot.progress == progress
    assert len(snapshot.image_urls) == count
    assert all(url.startswith("https://cdn.vtrix.ai/outputs/") for url in snapshot.image_urls)
    assert snapshot.error is None


def test_it_reads_a_task_wrapped_in_data(vtrix_upstream: Upstream, fixture: Any) -> None:
    body = {"code": 0, "data": fixture("vtrix", "task_completed")}
    vtrix_upstream.reply(httpx.Response(200, json=body))
    assert len(vtrix_upstream.adapter().fetch(JOB).image_urls) == 4


def test_it_skips_video_items_and_keeps_image_ones(vtrix_upstream: Upstream) -> None:
    body = {
        "id": JOB,
        "status": "completed",
        "output": [
            {"content": [{"type": "video_url", "url": "https://cdn.vtrix.ai/outputs/a.mp4"}]},
            {"content": [{"type": "image", "url": "https://cdn.vtrix.ai/outputs/a.png"}]},
        ],
    }
    vtrix_upstream.reply(httpx.Response(200, json=body))
    assert vtrix_upstream.adapter().fetch(JOB).image_urls == ("https://cdn.vtrix.ai/outputs/a.png",)


@pytest.mark.parametrize(
    ("fixture_name", "kind", "code", "message"),
    [
        ("task_failed_object", Kind.UNAVAILABLE, "4011098", "Generation failed"),
        ("task_failed_string", Kind.UNAVAILABLE, None, "upstream job failed"),
        ("task_failed_policy_string", Kind.CONTENT_POLICY, None, None),
    ],
)
def test_it_reads_an_error_object_or_string_on_a_failed_task(
    vtrix_upstream: Upstream,
    fixture: Any,
    fixture_name: str,
    kind: Kind,
    code: str | None,
    message: str | None,
) -> None:
    vtrix_upstream.reply(fixture_name)
    snapshot = vtrix_upstream.adapter().fetch(JOB)
    assert snapshot.status is Status.FAILED
    assert snapshot.error is not None
    assert snapshot.error.kind is kind
    assert snapshot.error.code == code
    assert snapshot.error.message == (message or fixture("vtrix", fixture_name)["error"])


@pytest.mark.parametrize(
    ("fixture_name", "kind", "code"),
    [
        ("error_401", Kind.AUTH, "401"),
        ("error_403_balance", Kind.INSUFFICIENT_QUOTA, "403"),
        ("error_403_permission", Kind.ACCESS_DENIED, "403"),
        ("error_429", Kind.RATE_LIMITED, "429"),
        ("error_500", Kind.UNAVAILABLE, "500"),
        ("error_400_remix_prompt_missing", Kind.INVALID_REQUEST, "4011005"),
        ("error_400_remix_code_string", Kind.INVALID_REQUEST, "004011004"),
        ("error_400_diffusion_text_missing", Kind.INVALID_REQUEST, "8004001001"),
    ],
)
def test_it_maps_each_documented_error_to_a_kind(
    vtrix_upstream: Upstream, fixture: Any, fixture_name: str, kind: Kind, code: str
) -> None:
    vtrix_upstream.reply(fixture_name)
    with pytest.raises(ProviderError) as caught:
        vtrix_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is kind
    assert caught.value.code == code
    assert caught.value.message == fixture("vtrix", fixture_name)["error"]["error_message"]


def test_it_maps_a_429_to_rate_limited_with_retry_after(vtrix_upstream: Upstream) -> None:
    vtrix_upstream.reply("error_429")
    with pytest.raises(ProviderError) as caught:
        vtrix_upstream.adapter().fetch(JOB)
    assert caught.value.retry_after == 2


def test_a_missing_task_is_not_found(vtrix_upstream: Upstream) -> None:
    vtrix_upstream.reply("error_404")
    with pytest.raises(ProviderError) as caught:
        vtrix_upstream.adapter().fetch("task_gone")
    assert caught.value.kind is Kind.NOT_FOUND
    assert caught.value.message == "Request not found"


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("disconnected")],
    ids=["read-timeout", "disconnect"],
)
def test_a_create_whose_answer_was_lost_is_ambiguous_and_sent_once(
    vtrix_upstream: Upstream, failure: Exception
) -> None:
    vtrix_upstream.reply(failure, "create_accepted")
    with pytest.raises(ProviderError) as caught:
        vtrix_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.AMBIGUOUS
    assert len(vtrix_upstream.requests) == 1


def test_a_create_answer_without_an_id_is_ambiguous(vtrix_upstream: Upstream) -> None:
    vtrix_upstream.reply(httpx.Response(200, json={"status": "pending"}))
    with pytest.raises(ProviderError) as caught:
        vtrix_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.AMBIGUOUS


# --- callbacks: per-request `callback`, payload [UNCONFIRMED] ----------------------------


@pytest.mark.parametrize(
    "fixture_name", ["task_completed", "task_completed_cli_example", "task_completed_wrapped"]
)
def test_a_callback_is_read_as_a_task_body(
    vtrix_upstream: Upstream, fixture: Any, fixture_name: str
) -> None:
    raw = json.dumps(fixture("vtrix", fixture_name)).encode()
    snapshot = vtrix_upstream.adapter().parse_callback(raw)
    assert snapshot.status is Status.COMPLETED
    assert snapshot.image_urls
    assert vtrix_upstream.requests == []


def test_an_unknown_status_reads_as_running_and_is_logged(
    vtrix_upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    vtrix_upstream.reply(httpx.Response(200, json={"id": JOB, "status": "staged"}))
    with caplog.at_level(logging.WARNING, logger="gallery.providers"):
        assert vtrix_upstream.adapter().fetch(JOB).status is Status.RUNNING
    assert "staged" in caplog.text


@pytest.mark.parametrize(
    ("word", "status"),
    [("IN_QUEUE", Status.QUEUED), ("IN_PROGRESS", Status.RUNNING), ("Completed", Status.FAILED)],
)
def test_status_words_are_read_in_any_case(
    vtrix_upstream: Upstream, word: str, status: Status
) -> None:
    # "Completed" without output is no result: it reads as failed.
    vtrix_upstream.reply(httpx.Response(200, json={"id": JOB, "status": word}))
    assert vtrix_upstream.adapter().fetch(JOB).status is status


def test_a_progress_of_one_on_a_running_task_is_not_done(vtrix_upstream: Upstream) -> None:
    vtrix_upstream.reply(
        httpx.Response(200, json={"id": JOB, "status": "processing", "progress": 1})
    )
    assert vtrix_upstream.adapter().fetch(JOB).progress == 99


def test_a_percentage_progress_is_read_as_such(vtrix_upstream: Upstream) -> None:
    vtrix_upstream.reply(
        httpx.Response(200, json={"id": JOB, "status": "processing", "progress": 35})
    )
    assert vtrix_upstream.adapter().fetch(JOB).progress == 35


def test_a_request_the_catalog_would_refuse_fails_before_sending(vtrix_upstream: Upstream) -> None:
    request = req("mj-v7-remix", parent_task_id=JOB, prompt="ink", params={"mode": "wild"})
    with pytest.raises(ProviderError) as caught:
        vtrix_upstream.adapter().submit(request)
    assert caught.value.kind is Kind.INVALID_REQUEST
    assert caught.value.code == "unbuildable_request"
    assert vtrix_upstream.requests == []


def test_a_create_answer_without_a_status_is_queued_quietly(
    vtrix_upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    vtrix_upstream.reply(httpx.Response(200, json={"id": JOB}))
    with caplog.at_level(logging.WARNING, logger="gallery.providers"):
        accepted = vtrix_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert accepted.status is Status.QUEUED
    assert caplog.text == ""
