"""The three adapters against the upstream simulator over real HTTP on loopback.

Every operation each provider supports: submit, poll to completion, read the
image URLs. Then every fault the simulator can inject, and the error kind (or
snapshot) it must turn into.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from gallery.catalog.operations import OPERATIONS, Request, supports
from gallery.providers import Adapter, Kind, ProviderError, Snapshot, Status

if TYPE_CHECKING:
    from conftest import SimControl

SourceAdapter = Callable[..., Adapter]
Poll = Callable[..., list[Snapshot]]

PROVIDERS = ("evolink", "reapi", "vtrix")
SOURCE = "https://example.com/photo.png"  # not loopback: the simulator draws a stand-in
AREAS = {"areas": [{"width": 600, "height": 600, "points": [0, 0, 600, 0, 600, 600, 0, 600]}]}
CANVAS = {"width": 2048, "height": 1024}
IMG_POS = {"width": 1024, "height": 1024, "x": 512, "y": 0}
SINGLE_IMAGE = {"mj-v7-upscale", "mj-v7-remove-bg"}

# One request per operation, its parent filled in by the test.
EXAMPLES: dict[str, dict[str, Any]] = {
    "mj-v7": {"prompt": "a lighthouse at dusk --ar 3:2", "speed": "fast"},
    "mj-v7-variation": {"prompt": "more fog", "speed": "turbo", "params": {"type": "strong"}},
    "mj-v7-upscale": {"image_number": 1, "params": {"type": "creative"}},
    "mj-v7-remix": {"prompt": "as an ink drawing", "params": {"mode": "subtle"}},
    "mj-v7-enhance": {},
    "mj-v7-pan": {"params": {"direction": "left", "scale": 2.0}},
    "mj-v7-outpaint": {"image_number": 3, "params": {"scale": 1.25}},
    "mj-v7-inpaint": {"prompt": "a red boat", "params": {"mask": AREAS}},
    "mj-v7-edit": {"prompt": "a wide beach", "params": {"canvas": CANVAS, "img_pos": IMG_POS}},
    "mj-v7-remove-bg": {"image_urls": (SOURCE,)},
    "mj-v7-retexture": {"prompt": "brushed copper", "image_urls": (SOURCE,)},
    "mj-v7-upload-paint": {
        "prompt": "a red door",
        "image_urls": (SOURCE,),
        "params": {"mask": AREAS, "canvas": CANVAS, "img_pos": IMG_POS},
    },
}
CASES = [(p, op) for p in PROVIDERS for op in OPERATIONS if supports(p, op)]

_parents: dict[tuple[str, str], str] = {}


def generate(provider: str, **fields: Any) -> Request:
    return Request("mj-v7", provider, **{"prompt": "a quiet harbour", **fields})


def parent_task(adapter: Adapter, poll: Poll, speed: str) -> str:
    """A completed generation to edit (draft for enhance), made once per session."""
    key = (adapter.name, speed)
    if key not in _parents:
        accepted = adapter.submit(generate(adapter.name, speed=speed))
        assert poll(adapter, accepted.upstream_id)[-1].status is Status.COMPLETED
        _parents[key] = accepted.upstream_id
    return _parents[key]


def build(adapter: Adapter, poll: Poll, operation: str) -> Request:
    fields = dict(EXAMPLES[operation])
    if OPERATIONS[operation].needs_parent:
        speed = "draft" if operation == "mj-v7-enhance" else "fast"
        fields["parent_task_id"] = parent_task(adapter, poll, speed)
    return Request(operation, adapter.name, **fields)


# --- the happy path --------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "operation"), CASES)
def test_each_supported_operation_runs_to_completion(
    sim_adapter: SourceAdapter, poll: Poll, control: SimControl, provider: str, operation: str
) -> None:
    adapter = sim_adapter(provider)
    request = build(adapter, poll, operation)
    accepted = adapter.submit(request)
    assert accepted.status in (Status.QUEUED, Status.RUNNING)
    seen = poll(adapter, accepted.upstream_id)
    final = seen[-1]
    assert final.status is Status.COMPLETED, final.error
    assert final.progress == 100
    assert len(final.image_urls) == (1 if operation in SINGLE_IMAGE else 4)
    assert all(url.startswith(control.base + "/files/") for url in final.image_urls)
    assert [s.progress for s in seen] == sorted(s.progress for s in seen)
    task = control.task(accepted.upstream_id)
    assert task["operation"] == operation


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_generation_passes_through_queued_or_running_and_its_images_download(
    sim_adapter: SourceAdapter, poll: Poll, control: SimControl, provider: str
) -> None:
    control.post("/_sim/timing", {"durations": {"fast": 0.4}})
    adapter = sim_adapter(provider)
    accepted = adapter.submit(generate(provider))
    seen = poll(adapter, accepted.upstream_id)
    assert {s.status for s in seen[:-1]} <= {Status.QUEUED, Status.RUNNING}
    assert Status.RUNNING in {s.status for s in seen}
    assert seen[-1].status is Status.COMPLETED
    response = httpx.get(seen[-1].image_urls[0], timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"


def test_evolink_reports_an_estimate_and_reserved_credits(sim_adapter: SourceAdapter) -> None:
    accepted = sim_adapter("evolink").submit(generate("evolink", speed="draft"))
    assert accepted.estimated_seconds is not None
    assert accepted.cost is not None
    assert accepted.cost.unit == "credits"
    assert accepted.cost.amount > 0


@pytest.mark.parametrize("speed", ["draft", "turbo"])
def test_vtrix_speed_travels_in_the_prompt_and_the_simulator_honours_it(
    sim_adapter: SourceAdapter, control: SimControl, speed: str
) -> None:
    accepted = sim_adapter("vtrix").submit(generate("vtrix", speed=speed))
    assert control.task(accepted.upstream_id)["speed"] == speed


def test_vtrix_accepts_the_input_params_wrapper_too(
    sim_adapter: SourceAdapter, poll: Poll, control: SimControl
) -> None:
    adapter = sim_adapter("vtrix", body_style="wrapped")
    accepted = adapter.submit(generate("vtrix", prompt="an owl"))
    assert poll(adapter, accepted.upstream_id)[-1].status is Status.COMPLETED
    raw = control.task(accepted.upstream_id)["raw_request"]
    assert raw["input"][0]["params"]["text"] == "an owl --fast"


# --- faults on the wire ---------------------------------------------------------------------


def settled(control: SimControl, provider: str, endpoint: str, count: int) -> None:
    """Wait until the simulator has finished `count` requests: one held by a slow
    fault outlives our timeout, and would read the next test's faults when it wakes."""
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        if len(control.requests(endpoint=endpoint, dialect=provider)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the simulator still holds a {endpoint} request")


def creates(control: SimControl, provider: str, settle: float = 3.0) -> list[dict[str, Any]]:
    """The create requests the simulator logged; a request is logged once its handler
    is done, which a slow fault delays past our timeout."""
    deadline = time.monotonic() + settle
    while True:
        logged = control.requests(endpoint="create", dialect=provider)
        if logged or time.monotonic() > deadline:
            return logged
        time.sleep(0.05)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rate_limit_on_create_is_rate_limited_with_retry_after(
    sim_adapter: SourceAdapter, control: SimControl, provider: str
) -> None:
    control.faults(rate_limit={"scope": "create", "retry_after": 2, "count": 1})
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).submit(generate(provider))
    assert caught.value.kind is Kind.RATE_LIMITED
    assert caught.value.retry_after == 2
    assert caught.value.http_status == 429


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rate_limit_on_poll_is_rate_limited(
    sim_adapter: SourceAdapter, control: SimControl, provider: str
) -> None:
    adapter = sim_adapter(provider)
    accepted = adapter.submit(generate(provider))
    control.faults(rate_limit={"scope": "poll", "retry_after": 1})
    with pytest.raises(ProviderError) as caught:
        adapter.fetch(accepted.upstream_id)
    assert caught.value.kind is Kind.RATE_LIMITED
    assert caught.value.retry_after == 1


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("scope", ["create", "poll"])
def test_a_server_error_is_unavailable(
    sim_adapter: SourceAdapter, control: SimControl, provider: str, status: int, scope: str
) -> None:
    adapter = sim_adapter(provider)
    upstream_id = adapter.submit(generate(provider)).upstream_id if scope == "poll" else ""
    control.faults(server_error={"scope": scope, "status": status})
    with pytest.raises(ProviderError) as caught:
        if scope == "create":
            adapter.submit(generate(provider))
        else:
            adapter.fetch(upstream_id)
    assert caught.value.kind is Kind.UNAVAILABLE
    assert caught.value.http_status == status
    assert caught.value.retryable


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_gateway_timeout_on_create_is_ambiguous_and_not_resent(
    sim_adapter: SourceAdapter, control: SimControl, provider: str
) -> None:
    control.faults(server_error={"scope": "create", "status": 504})
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).submit(generate(provider))
    assert caught.value.kind is Kind.AMBIGUOUS
    assert len(creates(control, provider)) == 1


SHORT_READ = httpx.Timeout(connect=2.0, read=0.2, write=2.0, pool=2.0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_slow_create_times_out_as_ambiguous_the_task_exists_and_is_paid_once(
    sim_adapter: SourceAdapter, control: SimControl, provider: str
) -> None:
    control.faults(slow={"scope": "create", "delay": 0.5, "count": 1})
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider, timeout=SHORT_READ).submit(generate(provider))
    assert caught.value.kind is Kind.AMBIGUOUS
    assert caught.value.code == "read_timeout"
    [create] = creates(control, provider)
    # The provider made the task: exactly why the request must not be re-sent.
    assert create["task_id"]
    ledger = control.get("/_sim/keys/sim-key")["ledger"]
    assert [e["kind"] for e in ledger if e["task_id"] == create["task_id"]] == ["charge"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_dropped_create_is_ambiguous_and_sent_once(
    sim_adapter: SourceAdapter, control: SimControl, provider: str, when: str
) -> None:
    control.faults(drop={"scope": "create", "when": when, "count": 1})
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).submit(generate(provider))
    assert caught.value.kind is Kind.AMBIGUOUS
    [create] = creates(control, provider)
    assert bool(create["task_id"]) is (when == "after")


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("fault", ["slow", "drop-before", "drop-after"])
def test_a_slow_or_dropped_poll_is_only_unavailable(
    sim_adapter: SourceAdapter, control: SimControl, provider: str, fault: str
) -> None:
    adapter = sim_adapter(provider)
    upstream_id = adapter.submit(generate(provider)).upstream_id
    if fault == "slow":
        control.faults(slow={"scope": "poll", "delay": 0.5, "count": 1, "dialect": provider})
    else:
        when = fault.split("-")[1]
        control.faults(drop={"scope": "poll", "when": when, "count": 1, "dialect": provider})
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider, timeout=SHORT_READ).fetch(upstream_id)
    assert caught.value.kind is Kind.UNAVAILABLE
    assert adapter.fetch(upstream_id).upstream_id == upstream_id  # the next poll works
    settled(control, provider, "poll", 2)


# --- faults in the task ------------------------------------------------------------------------

FAILURES = {
    # simulator code -> kind, per provider (reAPI 8xxxx, Vtrix xxx098/099 carry no more detail)
    "content_policy_violation": {
        "evolink": Kind.CONTENT_POLICY,
        "reapi": Kind.CONTENT_POLICY,
        "vtrix": Kind.CONTENT_POLICY,
    },
    "generation_failed": {
        "evolink": Kind.UNAVAILABLE,
        "reapi": Kind.UNAVAILABLE,
        "vtrix": Kind.UNAVAILABLE,
    },
    "image_processing_error": {
        "evolink": Kind.INVALID_REQUEST,
        "reapi": Kind.UNAVAILABLE,
        "vtrix": Kind.UNAVAILABLE,
    },
    "generation_timeout": {
        "evolink": Kind.UNAVAILABLE,
        "reapi": Kind.UNAVAILABLE,
        "vtrix": Kind.UNAVAILABLE,
    },
    "service_error": {
        "evolink": Kind.UNAVAILABLE,
        "reapi": Kind.UNAVAILABLE,
        "vtrix": Kind.UNAVAILABLE,
    },
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("code", sorted(FAILURES))
def test_a_failed_task_reads_as_failed_with_the_right_kind(
    sim_adapter: SourceAdapter, poll: Poll, control: SimControl, provider: str, code: str
) -> None:
    control.faults(task_failure={"code": code, "count": 1, "dialect": provider})
    adapter = sim_adapter(provider)
    final = poll(adapter, adapter.submit(generate(provider)).upstream_id)[-1]
    assert final.status is Status.FAILED
    assert final.image_urls == ()
    assert final.error is not None
    assert final.error.kind is FAILURES[code][provider]
    assert final.error.message


def test_reapis_string_error_codes_are_read_too(
    tmp_path_factory: pytest.TempPathFactory, poll: Poll
) -> None:
    # The MJ-V7 page's variant (SEED-004): the simulator's --reapi-error-codes string.
    from gallery.providers import adapter_class
    from gallery.providers.http import make_client
    from simulator import start_simulator

    sim = start_simulator(
        tmp_path_factory.mktemp("string-codes"),
        durations={"fast": 0.05},
        reapi_error_codes="string",
    )
    adapter = adapter_class("reapi")(make_client(sim.url("reapi"), "sim-key"))
    stranger = adapter_class("reapi")(make_client(sim.url("reapi"), "not-a-key"))
    try:
        kinds = {}
        for code in ("content_policy_violation", "generation_failed"):
            sim.faults.merge({"task_failure": {"code": code, "count": 1}})
            final = poll(adapter, adapter.submit(generate("reapi")).upstream_id)[-1]
            assert final.error is not None
            kinds[final.error.code] = final.error.kind
        with pytest.raises(ProviderError) as caught:
            stranger.submit(generate("reapi"))
        kinds[caught.value.code] = caught.value.kind
        with pytest.raises(ProviderError) as caught:
            adapter.fetch("task_nosuchtask")
        kinds[caught.value.code] = caught.value.kind
        assert kinds == {
            "CONTENT_POLICY_VIOLATION": Kind.CONTENT_POLICY,
            "UPSTREAM_ERROR": Kind.UNAVAILABLE,
            "UNAUTHORIZED": Kind.AUTH,
            "NOT_FOUND": Kind.NOT_FOUND,
        }
    finally:
        adapter.close()
        stranger.close()
        sim.stop()


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("images", [1, 2, 3])
def test_moderation_leaves_fewer_images_not_a_failure(
    sim_adapter: SourceAdapter, poll: Poll, control: SimControl, provider: str, images: int
) -> None:
    control.faults(moderation={"images": images, "count": 1, "dialect": provider})
    adapter = sim_adapter(provider)
    final = poll(adapter, adapter.submit(generate(provider)).upstream_id)[-1]
    assert final.status is Status.COMPLETED
    assert len(final.image_urls) == images


@pytest.mark.parametrize("provider", PROVIDERS)
def test_moderation_of_every_image_is_a_content_policy_failure(
    sim_adapter: SourceAdapter, poll: Poll, control: SimControl, provider: str
) -> None:
    control.faults(moderation={"images": 0, "count": 1, "dialect": provider})
    adapter = sim_adapter(provider)
    final = poll(adapter, adapter.submit(generate(provider)).upstream_id)[-1]
    assert final.status is Status.FAILED
    assert final.error is not None
    assert final.error.kind is Kind.CONTENT_POLICY


# --- the account and the request --------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("endpoint", ["create", "poll"])
def test_a_wrong_key_is_auth_and_flags_the_admin(
    sim_adapter: SourceAdapter, provider: str, endpoint: str
) -> None:
    adapter = sim_adapter(provider, key="not-a-key")
    with pytest.raises(ProviderError) as caught:
        if endpoint == "create":
            adapter.submit(generate(provider))
        else:
            adapter.fetch(sim_adapter(provider).submit(generate(provider)).upstream_id)
    assert caught.value.kind is Kind.AUTH
    assert caught.value.admin_attention
    assert "not-a-key" not in str(caught.value)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_denied_model_is_access_denied(
    sim_adapter: SourceAdapter, control: SimControl, provider: str
) -> None:
    model = "midjourney_diffusion" if provider == "vtrix" else "mj-v7"
    control.post("/_sim/keys/sim-key", {"denied_models": [model]})
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).submit(generate(provider))
    assert caught.value.kind is Kind.ACCESS_DENIED
    assert caught.value.admin_attention


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_empty_account_is_insufficient_quota(
    sim_adapter: SourceAdapter, control: SimControl, provider: str
) -> None:
    control.post("/_sim/keys/sim-key", {"balance": "0", "dialect": provider})
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).submit(generate(provider))
    assert caught.value.kind is Kind.INSUFFICIENT_QUOTA
    assert caught.value.admin_attention


UNKNOWN = {"evolink": "task-unified-1-nosuchtask", "reapi": "task_nosuchtask", "vtrix": "task_0"}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unknown_task_is_not_found(sim_adapter: SourceAdapter, provider: str) -> None:
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).fetch(UNKNOWN[provider])
    assert caught.value.kind is Kind.NOT_FOUND


@pytest.mark.parametrize("provider", PROVIDERS)
def test_another_keys_task_is_not_found(sim_adapter: SourceAdapter, provider: str) -> None:
    upstream_id = sim_adapter(provider, key="other-key").submit(generate(provider)).upstream_id
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).fetch(upstream_id)
    assert caught.value.kind is Kind.NOT_FOUND


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_edit_of_an_unknown_parent_is_an_invalid_request(
    sim_adapter: SourceAdapter, provider: str
) -> None:
    request = Request("mj-v7-upscale", provider, parent_task_id=UNKNOWN[provider])
    with pytest.raises(ProviderError) as caught:
        sim_adapter(provider).submit(request)
    assert caught.value.kind is Kind.INVALID_REQUEST
    assert caught.value.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_upscale_of_an_upscale_is_refused_as_invalid(
    sim_adapter: SourceAdapter, poll: Poll, provider: str
) -> None:
    adapter = sim_adapter(provider)
    first = build(adapter, poll, "mj-v7-upscale")
    upscaled = adapter.submit(first).upstream_id
    assert poll(adapter, upscaled)[-1].status is Status.COMPLETED
    again = Request("mj-v7-upscale", provider, parent_task_id=upscaled)
    with pytest.raises(ProviderError) as caught:
        adapter.submit(again)
    assert caught.value.kind is Kind.INVALID_REQUEST
    assert not caught.value.admin_attention


# --- callbacks ------------------------------------------------------------------------------------


class Receiver:
    """A loopback endpoint that records callback bodies."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.event:
                    receiver.bodies.append(body)
                    receiver.event.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, count: int, timeout: float = 5.0) -> list[bytes]:
        with self.event:
            self.event.wait_for(lambda: len(self.bodies) >= count, timeout)
            assert len(self.bodies) >= count, f"{len(self.bodies)} of {count} callbacks"
            return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    yield hook
    hook.close()


@pytest.mark.parametrize("provider", ["evolink", "vtrix"])
def test_a_callback_reads_as_the_final_snapshot(
    sim_adapter: SourceAdapter, receiver: Receiver, provider: str
) -> None:
    adapter = sim_adapter(provider)
    accepted = adapter.submit(generate(provider, callback_url=receiver.url))
    [body] = receiver.wait(1)
    snapshot = adapter.parse_callback(body)
    assert snapshot.upstream_id == accepted.upstream_id
    assert snapshot.status is Status.COMPLETED
    assert snapshot.image_urls == adapter.fetch(accepted.upstream_id).image_urls


@pytest.mark.parametrize("provider", ["evolink", "vtrix"])
def test_duplicate_callbacks_read_the_same(
    sim_adapter: SourceAdapter, control: SimControl, receiver: Receiver, provider: str
) -> None:
    control.faults(callback_duplicate={"copies": 3, "count": 1})
    adapter = sim_adapter(provider)
    adapter.submit(generate(provider, callback_url=receiver.url))
    bodies = receiver.wait(3)
    snapshots = {adapter.parse_callback(b) for b in bodies}
    assert len(snapshots) == 1


@pytest.mark.parametrize("provider", ["evolink", "vtrix"])
def test_an_out_of_order_callback_reads_as_still_running(
    sim_adapter: SourceAdapter, control: SimControl, receiver: Receiver, provider: str
) -> None:
    control.faults(callback_out_of_order={"count": 1})
    adapter = sim_adapter(provider)
    adapter.submit(generate(provider, callback_url=receiver.url))
    bodies = receiver.wait(2)
    statuses = sorted(adapter.parse_callback(b).status.value for b in bodies)
    assert statuses == ["completed", "running"]


def test_reapi_is_sent_no_callback_url(sim_adapter: SourceAdapter, control: SimControl) -> None:
    sim_adapter("reapi").submit(generate("reapi", callback_url="https://hooks.example.com/cb"))
    [create] = creates(control, "reapi")
    assert "callback_url" not in create["body"]


def test_no_request_to_the_simulator_carries_the_key_anywhere_but_the_header(
    sim_adapter: SourceAdapter, poll: Poll, control: SimControl
) -> None:
    for provider in PROVIDERS:
        adapter = sim_adapter(provider)
        poll(adapter, adapter.submit(generate(provider)).upstream_id)
    logged = control.requests()
    assert logged
    for entry in logged:
        assert entry["headers"]["Authorization"] == "Bearer ***"  # the simulator masks it
        assert "sim-key" not in json.dumps({k: v for k, v in entry.items() if k != "headers"})
