"""The evolink adapter against recorded payloads (httpx.MockTransport)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gallery.catalog.operations import OPERATIONS, Request
from gallery.providers import Kind, ProviderError, Status

if TYPE_CHECKING:
    from conftest import Upstream

SECRET = "sk-live-9f8e7d6c5b4a39281706SECRET"  # the key conftest's clients use

PARENT = "task-unified-1757165031-mjv7"
MASK = {"areas": [{"width": 200, "height": 200, "points": [50, 50, 50, 250, 250, 250, 250, 50]}]}
CANVAS = {"width": 1024, "height": 1024}
IMG_POS = {"width": 512, "height": 512, "x": 256, "y": 256}
SOURCE = "https://example.com/photo.jpg"


def req(operation: str, **fields: Any) -> Request:
    return Request(operation=operation, provider="evolink", **fields)


# (request, the body evolink must receive). Examples from providers.md §2.5 and
# the OpenAPI files, with the documented defaults written out.
BODIES: list[tuple[Request, dict[str, Any]]] = [
    (
        req("mj-v7", prompt="A cinematic shot of a Maine Coon cat --ar 16:9 --s 500"),
        {
            "model": "mj-v7",
            "prompt": "A cinematic shot of a Maine Coon cat --ar 16:9 --s 500",
            "model_params": {"speed": "fast"},
        },
    ),
    (
        req("mj-v7", prompt="a lighthouse", speed="draft", callback_url="https://hooks.example/cb"),
        {
            "model": "mj-v7",
            "prompt": "a lighthouse",
            "model_params": {"speed": "draft"},
            "callback_url": "https://hooks.example/cb",
        },
    ),
    (
        req("mj-v7-variation", parent_task_id=PARENT, image_number=2, params={"type": "strong"}),
        {
            "model": "mj-v7-variation",
            "model_params": {
                "task_id": PARENT,
                "image_number": 2,
                "speed": "fast",
                "type": "strong",
            },
        },
    ),
    (
        req("mj-v7-upscale", parent_task_id="task-unified-xxx", image_number=1),
        # providers.md §2.5 example, verbatim
        {
            "model": "mj-v7-upscale",
            "model_params": {"task_id": "task-unified-xxx", "image_number": 1, "type": "standard"},
        },
    ),
    (
        req(
            "mj-v7-remix",
            prompt="Convert to oil painting style --ar 1:1",
            parent_task_id="task-unified-xxx",
            image_number=0,
            speed="turbo",
        ),
        {
            "model": "mj-v7-remix",
            "prompt": "Convert to oil painting style --ar 1:1",
            "model_params": {
                "task_id": "task-unified-xxx",
                "image_number": 0,
                "speed": "turbo",
                "mode": "strong",
            },
        },
    ),
    (
        req("mj-v7-enhance", parent_task_id=PARENT),
        {"model": "mj-v7-enhance", "model_params": {"task_id": PARENT, "image_number": 0}},
    ),
    (
        req(
            "mj-v7-pan",
            parent_task_id="task-unified-xxx",
            image_number=0,
            params={"direction": "right", "scale": 2.0},
        ),
        {
            "model": "mj-v7-pan",
            "model_params": {
                "task_id": "task-unified-xxx",
                "image_number": 0,
                "speed": "fast",
                "direction": "right",
                "scale": 2.0,
            },
        },
    ),
    (
        req("mj-v7-outpaint", parent_task_id=PARENT, prompt="a wider bay", speed="turbo"),
        {
            "model": "mj-v7-outpaint",
            "prompt": "a wider bay",
            "model_params": {
                "task_id": PARENT,
                "image_number": 0,
                "speed": "turbo",
                "scale": 1.5,
            },
        },
    ),
    (
        req(
            "mj-v7-inpaint",
            prompt="Add a cherry blossom tree",
            parent_task_id="task-unified-xxx",
            image_number=0,
            params={"mask": MASK},
        ),
        {
            "model": "mj-v7-inpaint",
            "prompt": "Add a cherry blossom tree",
            "model_params": {
                "task_id": "task-unified-xxx",
                "image_number": 0,
                "speed": "fast",
                "mask": MASK,
            },
        },
    ),
    (
        req(
            "mj-v7-edit",
            prompt="Beautiful mountain scenery background",
            parent_task_id="task-unified-xxx",
            image_number=0,
            speed="fast",
            params={"canvas": CANVAS, "img_pos": IMG_POS},
        ),
        # providers.md §2.5 example, verbatim
        {
            "model": "mj-v7-edit",
            "prompt": "Beautiful mountain scenery background",
            "model_params": {
                "task_id": "task-unified-xxx",
                "image_number": 0,
                "canvas": CANVAS,
                "img_pos": IMG_POS,
                "speed": "fast",
            },
        },
    ),
    (
        req("mj-v7-remove-bg", image_urls=(SOURCE,)),
        {"model": "mj-v7-remove-bg", "image_urls": [SOURCE]},
    ),
    (
        req("mj-v7-retexture", prompt="Cyberpunk neon style", image_urls=(SOURCE,)),
        {
            "model": "mj-v7-retexture",
            "prompt": "Cyberpunk neon style",
            "image_urls": [SOURCE],
            "model_params": {"speed": "fast"},
        },
    ),
    (
        req(
            "mj-v7-upload-paint",
            prompt="a red door",
            image_urls=(SOURCE,),
            params={
                "mask": {"url": "https://example.com/mask.png"},
                "canvas": CANVAS,
                "img_pos": IMG_POS,
            },
        ),
        {
            "model": "mj-v7-upload-paint",
            "prompt": "a red door",
            "image_urls": [SOURCE],
            "model_params": {
                "speed": "fast",
                "mask": {"url": "https://example.com/mask.png"},
                "canvas": CANVAS,
                "img_pos": IMG_POS,
            },
        },
    ),
]


def test_every_operation_has_a_body_case() -> None:
    assert {r.operation for r, _ in BODIES} == set(OPERATIONS)


@pytest.mark.parametrize(("request_", "body"), BODIES, ids=lambda v: getattr(v, "operation", ""))
def test_it_posts_the_documented_body_for_each_operation(
    evolink_upstream: Upstream, request_: Request, body: dict[str, Any]
) -> None:
    evolink_upstream.reply("create_accepted")
    evolink_upstream.adapter().submit(request_)
    sent = evolink_upstream.requests[-1]
    assert sent.method == "POST"
    assert str(sent.url) == "https://api.evolink.ai/v1/images/generations"
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["User-Agent"].startswith("mjweb/")
    assert evolink_upstream.sent == body


def test_it_sends_the_speed_only_as_fast_when_an_edit_has_no_prompt(
    evolink_upstream: Upstream,
) -> None:
    # providers.md §2.5: speed applies to variation/pan/outpaint/inpaint only with a prompt.
    evolink_upstream.reply("create_accepted")
    evolink_upstream.adapter().submit(req("mj-v7-variation", parent_task_id=PARENT, speed="turbo"))
    assert evolink_upstream.sent["model_params"]["speed"] == "fast"


def test_it_reads_the_accepted_task_with_estimate_and_reserved_credits(
    evolink_upstream: Upstream,
) -> None:
    evolink_upstream.reply("create_accepted")
    accepted = evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert accepted.upstream_id == "task-unified-1757165031-mjv7"
    assert accepted.status is Status.QUEUED
    assert accepted.progress == 0
    assert accepted.estimated_seconds == 45
    assert accepted.cost is not None
    assert accepted.cost.amount == Decimal("1.8")
    assert accepted.cost.unit == "credits"


def test_it_accepts_a_create_answer_without_estimate_or_usage(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply("create_accepted_minimal")
    accepted = evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert accepted.upstream_id == "task-unified-xxx"
    assert accepted.estimated_seconds is None
    assert accepted.cost is None


@pytest.mark.parametrize(
    ("fixture_name", "status", "progress", "count"),
    [
        ("task_pending", Status.QUEUED, 0, 0),
        ("task_processing", Status.RUNNING, 45, 0),
        ("task_completed", Status.COMPLETED, 100, 4),
        ("task_completed_filtered", Status.COMPLETED, 100, 2),
        ("task_completed_upscale", Status.COMPLETED, 100, 1),
    ],
)
def test_it_reads_each_documented_task_status(
    evolink_upstream: Upstream, fixture_name: str, status: Status, progress: int, count: int
) -> None:
    evolink_upstream.reply(fixture_name)
    snapshot = evolink_upstream.adapter().fetch("task-unified-1757165031-mjv7")
    assert str(evolink_upstream.requests[-1].url) == (
        "https://api.evolink.ai/v1/tasks/task-unified-1757165031-mjv7"
    )
    assert evolink_upstream.requests[-1].method == "GET"
    assert snapshot.status is status
    assert snapshot.progress == progress
    assert len(snapshot.image_urls) == count
    assert all(url.startswith("https://media.evolink.ai/") for url in snapshot.image_urls)
    assert snapshot.error is None


def test_it_keeps_the_image_urls_in_order(evolink_upstream: Upstream, fixture: Any) -> None:
    evolink_upstream.reply("task_completed")
    snapshot = evolink_upstream.adapter().fetch("task-unified-1757165031-mjv7")
    assert list(snapshot.image_urls) == fixture("evolink", "task_completed")["results"]


@pytest.mark.parametrize(
    ("fixture_name", "kind", "code"),
    [
        ("task_failed_content_policy", Kind.CONTENT_POLICY, "content_policy_violation"),
        ("task_failed_invalid_request", Kind.INVALID_REQUEST, "invalid_request"),
        ("task_failed_generation", Kind.UNAVAILABLE, "generation_failed_no_content"),
    ],
)
def test_it_reads_a_failed_task_with_the_providers_code_and_message(
    evolink_upstream: Upstream, fixture: Any, fixture_name: str, kind: Kind, code: str
) -> None:
    evolink_upstream.reply(fixture_name)
    snapshot = evolink_upstream.adapter().fetch("task-unified-1757165031-mjv7")
    assert snapshot.status is Status.FAILED
    assert snapshot.image_urls == ()
    assert snapshot.error is not None
    assert snapshot.error.kind is kind
    assert snapshot.error.code == code
    assert snapshot.error.message == fixture("evolink", fixture_name)["error"]["message"]


# error-codes.mdx (providers.md §2.2): client side "fix before retry", server side "retry".
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("content_policy_violation", Kind.CONTENT_POLICY),
        ("invalid_parameters", Kind.INVALID_REQUEST),
        ("image_processing_error", Kind.INVALID_REQUEST),
        ("image_dimension_mismatch", Kind.INVALID_REQUEST),
        ("request_cancelled", Kind.INVALID_REQUEST),
        ("generation_failed_no_content", Kind.UNAVAILABLE),
        ("service_error", Kind.UNAVAILABLE),
        ("generation_timeout", Kind.UNAVAILABLE),
        ("resource_exhausted", Kind.UNAVAILABLE),
        ("quota_exceeded", Kind.RATE_LIMITED),
        ("service_unavailable", Kind.UNAVAILABLE),
        ("resource_not_found", Kind.NOT_FOUND),
        ("unknown_error", Kind.UNAVAILABLE),
        ("something_new", Kind.UNAVAILABLE),
    ],
)
def test_it_maps_each_documented_task_error_code_to_a_kind(
    evolink_upstream: Upstream, code: str, kind: Kind
) -> None:
    body = {"id": PARENT, "status": "failed", "error": {"code": code, "message": "x"}}
    evolink_upstream.reply(httpx.Response(200, json=body))
    snapshot = evolink_upstream.adapter().fetch(PARENT)
    assert snapshot.error is not None
    assert snapshot.error.kind is kind


@pytest.mark.parametrize(
    ("fixture_name", "kind", "code", "admin"),
    [
        ("create_error_400", Kind.INVALID_REQUEST, "invalid_request", False),
        ("create_error_401", Kind.AUTH, "unauthorized", True),
        ("create_error_402", Kind.INSUFFICIENT_QUOTA, "insufficient_quota", True),
        ("create_error_403", Kind.ACCESS_DENIED, "model_access_denied", True),
        ("create_error_403_upscale_of_upscale", Kind.INVALID_REQUEST, "invalid_request", False),
        ("create_error_400_invalid_task_id", Kind.NOT_FOUND, "invalid_task_id", False),
        ("create_error_429", Kind.RATE_LIMITED, "rate_limit_exceeded", False),
        ("create_error_500", Kind.UNAVAILABLE, "internal_error", False),
    ],
)
def test_it_maps_each_documented_create_error_to_a_kind(
    evolink_upstream: Upstream,
    fixture: Any,
    fixture_name: str,
    kind: Kind,
    code: str,
    admin: bool,
) -> None:
    evolink_upstream.reply(fixture_name)
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    error = caught.value
    assert error.kind is kind
    assert error.code == code
    assert error.admin_attention is admin
    assert error.message == fixture("evolink", fixture_name)["error"]["message"]
    assert error.http_status == int(fixture_name.split("_")[2])
    assert error.provider == "evolink"


def test_it_maps_a_429_to_rate_limited_with_retry_after(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply("create_error_429")
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.RATE_LIMITED
    assert caught.value.retry_after == 7
    assert caught.value.retryable
    assert not caught.value.permanent


@pytest.mark.parametrize(
    ("status", "kind", "retry_after"),
    [
        (400, Kind.INVALID_REQUEST, None),
        (401, Kind.AUTH, None),
        (402, Kind.INSUFFICIENT_QUOTA, None),
        (403, Kind.ACCESS_DENIED, None),
        (404, Kind.NOT_FOUND, None),
        (429, Kind.RATE_LIMITED, 60),
        (500, Kind.UNAVAILABLE, None),
        (502, Kind.UNAVAILABLE, None),
        (503, Kind.UNAVAILABLE, 30),
    ],
)
def test_it_maps_each_documented_task_endpoint_error_to_a_kind(
    evolink_upstream: Upstream, status: int, kind: Kind, retry_after: float | None
) -> None:
    # get-task-detail.json uses the HTTP status as an integer code.
    evolink_upstream.reply(f"task_error_{status}")
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().fetch(PARENT)
    assert caught.value.kind is kind
    assert caught.value.code == str(status)
    assert caught.value.http_status == status
    assert caught.value.retry_after == retry_after


def test_it_reports_a_missing_task_as_not_found(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply("task_error_404")
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().fetch("task-unified-0-gone")
    assert caught.value.kind is Kind.NOT_FOUND
    assert caught.value.message == "Task not found or expired"
    assert caught.value.permanent


# --- the ambiguous create ----------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_create_sent_without_an_answer_is_ambiguous_and_not_resent(
    evolink_upstream: Upstream, failure: Exception
) -> None:
    evolink_upstream.reply(failure, "create_accepted")
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.AMBIGUOUS
    assert caught.value.ambiguous
    assert not caught.value.retryable
    assert not caught.value.permanent
    assert len(evolink_upstream.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(504, text="<html>504 Gateway Time-out</html>"),
        httpx.Response(200, text="<html>not json</html>"),
        httpx.Response(200, json={"status": "pending"}),
        httpx.Response(200, json=["task-unified-1"]),
    ],
    ids=["gateway-timeout", "not-json", "no-id", "not-an-object"],
)
def test_a_create_answer_that_names_no_task_is_ambiguous(
    evolink_upstream: Upstream, reply: httpx.Response
) -> None:
    evolink_upstream.reply(reply)
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.AMBIGUOUS
    assert len(evolink_upstream.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")],
    ids=lambda exc: type(exc).__name__,
)
def test_a_create_that_never_left_is_unavailable_not_ambiguous(
    evolink_upstream: Upstream, failure: Exception
) -> None:
    evolink_upstream.reply(failure)
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.UNAVAILABLE
    assert caught.value.retryable


@pytest.mark.parametrize(
    "reply",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("disconnected"),
        httpx.Response(504, text="gateway"),
        httpx.Response(200, text="garbage"),
    ],
    ids=["timeout", "disconnect", "504", "not-json"],
)
def test_a_lost_poll_answer_is_only_unavailable(evolink_upstream: Upstream, reply: Any) -> None:
    evolink_upstream.reply(reply)
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().fetch(PARENT)
    assert caught.value.kind is Kind.UNAVAILABLE


# --- callbacks ------------------------------------------------------------------


def test_it_parses_the_documented_callback_payload(
    evolink_upstream: Upstream, fixture: Any
) -> None:
    body = fixture("evolink", "callback_completed")
    snapshot = evolink_upstream.adapter().parse_callback(httpx.Response(200, json=body).content)
    assert snapshot.upstream_id == "task-unified-xxx"
    assert snapshot.status is Status.COMPLETED
    assert snapshot.image_urls == tuple(body["results"])
    assert evolink_upstream.requests == []


def test_it_parses_a_failed_callback_like_a_failed_task(
    evolink_upstream: Upstream, fixture: Any
) -> None:
    snapshot = evolink_upstream.adapter().parse_callback(
        fixture("evolink", "task_failed_content_policy")
    )
    assert snapshot.status is Status.FAILED
    assert snapshot.error is not None
    assert snapshot.error.kind is Kind.CONTENT_POLICY


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"status": "completed"}'], ids=["garbage", "list", "no-id"]
)
def test_it_refuses_a_callback_that_is_not_a_task(evolink_upstream: Upstream, body: bytes) -> None:
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().parse_callback(body)
    assert caught.value.kind is Kind.INVALID_REQUEST


# --- tolerance --------------------------------------------------------------------


def test_an_unknown_status_reads_as_running_and_is_logged(
    evolink_upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    evolink_upstream.reply(httpx.Response(200, json={"id": PARENT, "status": "warming_up"}))
    with caplog.at_level(logging.WARNING, logger="gallery.providers"):
        snapshot = evolink_upstream.adapter().fetch(PARENT)
    assert snapshot.status is Status.RUNNING
    assert snapshot.upstream_status == "warming_up"
    assert "warming_up" in caplog.text


def test_a_cancelled_task_reads_as_failed(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply(httpx.Response(200, json={"id": PARENT, "status": "cancelled"}))
    snapshot = evolink_upstream.adapter().fetch(PARENT)
    assert snapshot.status is Status.FAILED
    assert snapshot.error is not None
    assert snapshot.error.code == "cancelled"


def test_a_completed_task_without_images_reads_as_failed(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply(
        httpx.Response(200, json={"id": PARENT, "status": "completed", "results": []})
    )
    snapshot = evolink_upstream.adapter().fetch(PARENT)
    assert snapshot.status is Status.FAILED
    assert snapshot.error is not None
    assert snapshot.error.kind is Kind.UNAVAILABLE
    assert snapshot.error.code == "no_images"


def test_a_running_task_is_never_shown_as_done(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply(
        httpx.Response(200, json={"id": PARENT, "status": "processing", "progress": 100})
    )
    assert evolink_upstream.adapter().fetch(PARENT).progress == 99


def test_it_never_returns_more_than_four_images(evolink_upstream: Upstream) -> None:
    urls = [f"https://media.evolink.ai/{i}.png" for i in range(6)]
    evolink_upstream.reply(
        httpx.Response(200, json={"id": PARENT, "status": "completed", "results": urls})
    )
    assert evolink_upstream.adapter().fetch(PARENT).image_urls == tuple(urls[:4])


def test_it_quotes_the_task_id_in_the_path(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply("task_pending")
    evolink_upstream.adapter().fetch("task-unified-1/../../admin")
    assert evolink_upstream.requests[-1].url.raw_path == (
        b"/v1/tasks/task-unified-1%2F..%2F..%2Fadmin"
    )


def test_it_offers_every_operation(evolink_upstream: Upstream) -> None:
    adapter = evolink_upstream.adapter()
    assert all(adapter.supports(op) for op in OPERATIONS)
    assert not adapter.supports("mj-v8")
    assert adapter.accepts_callbacks


def test_it_refuses_a_request_meant_for_another_provider(evolink_upstream: Upstream) -> None:
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().submit(Request("mj-v7", "reapi", prompt="a cat"))
    assert caught.value.kind is Kind.INVALID_REQUEST
    assert evolink_upstream.requests == []


def test_a_provider_message_that_echoes_the_key_is_scrubbed(evolink_upstream: Upstream) -> None:
    evolink_upstream.reply(
        httpx.Response(
            401,
            json={"error": {"code": "unauthorized", "message": f"Invalid token {SECRET}"}},
        )
    )
    with pytest.raises(ProviderError) as caught:
        evolink_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    for shown in (caught.value.message, str(caught.value), repr(caught.value)):
        assert SECRET not in shown
    assert "***" in caught.value.message
