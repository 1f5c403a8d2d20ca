"""The reAPI adapter against recorded payloads (httpx.MockTransport)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gallery.catalog.operations import OPERATIONS, Request
from gallery.providers import Kind, ProviderError, Status
from gallery.providers.evolink import unified_body

if TYPE_CHECKING:
    from conftest import Upstream

SECRET = "sk-live-9f8e7d6c5b4a39281706SECRET"  # the key conftest's clients use
TASK = "task_01jabcdefghjkmnpqrstvwxyz0"
SOURCE = "https://example.com/photo.jpg"


def req(operation: str, **fields: Any) -> Request:
    return Request(operation=operation, provider="reapi", **fields)


def test_it_posts_the_seed_example_body_to_the_api_v1_path(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply("create_accepted")
    prompt = "a serene Japanese garden with cherry blossoms --ar 16:9 --s 500"
    reapi_upstream.adapter().submit(req("mj-v7", prompt=prompt, speed="fast"))
    sent = reapi_upstream.requests[-1]
    assert str(sent.url) == "https://reapi.ai/api/v1/images/generations"
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    # SEED-004 "Quick example", verbatim
    assert reapi_upstream.sent == {
        "model": "mj-v7",
        "prompt": prompt,
        "model_params": {"speed": "fast"},
    }


def test_it_posts_the_seed_upscale_example(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply("create_accepted")
    reapi_upstream.adapter().submit(req("mj-v7-upscale", parent_task_id="task_xxx", image_number=0))
    assert reapi_upstream.sent == {
        "model": "mj-v7-upscale",
        "model_params": {"task_id": "task_xxx", "image_number": 0, "type": "standard"},
    }


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_it_sends_evolinks_body_without_a_callback_url(
    reapi_upstream: Upstream, operation: str
) -> None:
    # providers.md §3.5: same ids and model_params; §3.4: no callbacks documented.
    spec = OPERATIONS[operation]
    fields: dict[str, Any] = {"callback_url": "https://hooks.example/cb"}
    if spec.prompt != "absent":
        fields["prompt"] = "a quiet harbour"
    if spec.needs_parent:
        fields["parent_task_id"] = TASK
    if spec.needs_image:
        fields["image_urls"] = (SOURCE,)
    params: dict[str, Any] = {}
    mask = spec.param("mask")
    if mask is not None and mask.required:
        params["mask"] = {"url": "https://example.com/mask.png"}
    if spec.param("canvas"):
        params["canvas"] = {"width": 1024, "height": 1024}
        params["img_pos"] = {"width": 512, "height": 512, "x": 0, "y": 0}
    request = req(operation, params=params, **fields)
    reapi_upstream.reply("create_accepted")
    reapi_upstream.adapter().submit(request)
    expected = unified_body(request, "evolink", callback=False)
    assert reapi_upstream.sent == expected
    assert "callback_url" not in reapi_upstream.sent


def test_it_reads_the_accepted_task_as_running(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply("create_accepted")
    accepted = reapi_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert accepted.upstream_id == TASK
    assert accepted.status is Status.RUNNING  # reAPI has no "pending"
    assert accepted.estimated_seconds is None
    assert accepted.cost is None


def test_it_reads_the_task_id_under_its_loose_name(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply("create_accepted_task_id")
    assert reapi_upstream.adapter().submit(req("mj-v7", prompt="a cat")).upstream_id == TASK


@pytest.mark.parametrize(
    ("fixture_name", "status", "count"),
    [
        ("task_processing", Status.RUNNING, 0),
        ("task_processing_bare", Status.RUNNING, 0),
        ("task_completed", Status.COMPLETED, 4),
        ("task_completed_seed", Status.COMPLETED, 2),
    ],
)
def test_it_reads_each_documented_task_status(
    reapi_upstream: Upstream, fixture: Any, fixture_name: str, status: Status, count: int
) -> None:
    reapi_upstream.reply(fixture_name)
    snapshot = reapi_upstream.adapter().fetch(TASK)
    assert str(reapi_upstream.requests[-1].url) == f"https://reapi.ai/api/v1/tasks/{TASK}"
    assert snapshot.status is status
    assert len(snapshot.image_urls) == count
    assert snapshot.error is None
    if count:
        assert list(snapshot.image_urls) == fixture("reapi", fixture_name)["output"]["image_urls"]
        assert snapshot.progress == 100


def test_a_processing_task_has_no_documented_progress(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply("task_processing")
    assert reapi_upstream.adapter().fetch(TASK).progress == 0


def test_a_pending_status_is_tolerated_as_queued(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply(httpx.Response(200, json={"id": TASK, "status": "pending"}))
    assert reapi_upstream.adapter().fetch(TASK).status is Status.QUEUED


@pytest.mark.parametrize(
    ("fixture_name", "kind", "code"),
    [
        ("task_failed_numeric", Kind.CONTENT_POLICY, "80006"),
        ("task_failed_numeric_as_string", Kind.CONTENT_POLICY, "80006"),
        ("task_failed_string", Kind.CONTENT_POLICY, "CONTENT_POLICY_VIOLATION"),
        ("task_failed_upstream", Kind.UNAVAILABLE, "UPSTREAM_ERROR"),
    ],
)
def test_it_reads_numeric_and_string_failure_codes(
    reapi_upstream: Upstream, fixture: Any, fixture_name: str, kind: Kind, code: str
) -> None:
    reapi_upstream.reply(fixture_name)
    snapshot = reapi_upstream.adapter().fetch(TASK)
    assert snapshot.status is Status.FAILED
    assert snapshot.image_urls == ()
    assert snapshot.error is not None
    assert snapshot.error.kind is kind
    assert snapshot.error.code == code
    assert snapshot.error.message == fixture("reapi", fixture_name)["error"]["message"]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (80001, Kind.UNAVAILABLE),
        (80099, Kind.UNAVAILABLE),
        (20003, Kind.INVALID_REQUEST),
        ("INVALID_REQUEST", Kind.INVALID_REQUEST),
        ("INSUFFICIENT_CREDITS", Kind.INSUFFICIENT_QUOTA),
        ("SOMETHING_NEW", Kind.UNAVAILABLE),
    ],
)
def test_it_maps_other_failure_codes_to_kinds(
    reapi_upstream: Upstream, code: int | str, kind: Kind
) -> None:
    body = {"id": TASK, "status": "failed", "output": None, "error": {"code": code, "message": "x"}}
    reapi_upstream.reply(httpx.Response(200, json=body))
    snapshot = reapi_upstream.adapter().fetch(TASK)
    assert snapshot.error is not None
    assert snapshot.error.kind is kind


@pytest.mark.parametrize(
    ("fixture_name", "kind", "code"),
    [
        ("error_10001", Kind.AUTH, "10001"),
        ("error_10002", Kind.AUTH, "10002"),
        ("error_10003", Kind.AUTH, "10003"),
        ("error_10004", Kind.AUTH, "10004"),
        ("error_10005", Kind.AUTH, "10005"),
        ("error_20002", Kind.INVALID_REQUEST, "20002"),
        ("error_invalid_request_string", Kind.INVALID_REQUEST, "INVALID_REQUEST"),
        ("error_insufficient_credits", Kind.INSUFFICIENT_QUOTA, "INSUFFICIENT_CREDITS"),
        ("error_429", Kind.RATE_LIMITED, None),
        ("error_500", Kind.UNAVAILABLE, "UPSTREAM_ERROR"),
        ("error_502", Kind.UNAVAILABLE, "UPSTREAM_ERROR"),
        ("error_503", Kind.UNAVAILABLE, "UPSTREAM_ERROR"),
    ],
)
def test_it_maps_each_documented_error_to_a_kind(
    reapi_upstream: Upstream, fixture: Any, fixture_name: str, kind: Kind, code: str | None
) -> None:
    reapi_upstream.reply(fixture_name)
    with pytest.raises(ProviderError) as caught:
        reapi_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is kind
    assert caught.value.code == code
    assert caught.value.message == fixture("reapi", fixture_name)["error"]["message"]
    assert caught.value.admin_attention is (
        kind in (Kind.AUTH, Kind.ACCESS_DENIED, Kind.INSUFFICIENT_QUOTA)
    )


def test_it_maps_a_429_to_rate_limited_with_retry_after(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply("error_429")
    with pytest.raises(ProviderError) as caught:
        reapi_upstream.adapter().fetch(TASK)
    assert caught.value.kind is Kind.RATE_LIMITED
    assert caught.value.retry_after == 3


def test_an_auth_code_on_a_403_is_access_denied(reapi_upstream: Upstream) -> None:
    body = {"error": {"code": 10006, "message": "Model not allowed for this key"}}
    reapi_upstream.reply(httpx.Response(403, json=body))
    with pytest.raises(ProviderError) as caught:
        reapi_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.ACCESS_DENIED


def test_a_missing_task_is_not_found(reapi_upstream: Upstream) -> None:
    body = {"error": {"code": 20006, "message": "Task not found", "request_id": "req_1"}}
    reapi_upstream.reply(httpx.Response(404, json=body))
    with pytest.raises(ProviderError) as caught:
        reapi_upstream.adapter().fetch("task_gone")
    assert caught.value.kind is Kind.NOT_FOUND


# --- reAPI charges every POST: the ambiguous create -----------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        "error_504",
    ],
    ids=["read-timeout", "disconnect", "gateway-timeout"],
)
def test_a_create_whose_answer_was_lost_is_ambiguous_and_sent_once(
    reapi_upstream: Upstream, failure: Any
) -> None:
    reapi_upstream.reply(failure, "create_accepted")
    adapter = reapi_upstream.adapter()
    with pytest.raises(ProviderError) as caught:
        adapter.submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.AMBIGUOUS
    assert "not re-sent" in caught.value.message
    assert len(reapi_upstream.requests) == 1


def test_a_gateway_timeout_on_a_poll_is_only_unavailable(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply("error_504")
    with pytest.raises(ProviderError) as caught:
        reapi_upstream.adapter().fetch(TASK)
    assert caught.value.kind is Kind.UNAVAILABLE


def test_a_create_that_could_not_connect_is_unavailable(reapi_upstream: Upstream) -> None:
    reapi_upstream.reply(httpx.ConnectError("refused"))
    with pytest.raises(ProviderError) as caught:
        reapi_upstream.adapter().submit(req("mj-v7", prompt="a cat"))
    assert caught.value.kind is Kind.UNAVAILABLE


# --- callbacks (none documented) ----------------------------------------------------------


def test_it_does_not_offer_callbacks(reapi_upstream: Upstream) -> None:
    assert not reapi_upstream.adapter().accepts_callbacks


def test_a_task_shaped_callback_is_still_read(reapi_upstream: Upstream, fixture: Any) -> None:
    # providers.md §3.4 [UNCONFIRMED that no callback exists]: tolerate one.
    snapshot = reapi_upstream.adapter().parse_callback(fixture("reapi", "task_completed"))
    assert snapshot.upstream_id == TASK
    assert snapshot.status is Status.COMPLETED
    assert len(snapshot.image_urls) == 4


def test_an_unknown_status_reads_as_running_and_is_logged(
    reapi_upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    reapi_upstream.reply(httpx.Response(200, json={"id": TASK, "status": "uploading"}))
    with caplog.at_level(logging.WARNING, logger="gallery.providers"):
        assert reapi_upstream.adapter().fetch(TASK).status is Status.RUNNING
    assert "uploading" in caplog.text


def test_it_offers_every_operation(reapi_upstream: Upstream) -> None:
    adapter = reapi_upstream.adapter()
    assert all(adapter.supports(op) for op in OPERATIONS)
