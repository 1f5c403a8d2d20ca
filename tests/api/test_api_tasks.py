"""GET /api/v1/tasks/{id}, the result files it links to, and the callback that
carries the same body (`gallery.api.callbacks.deliver`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from gallery.api import callbacks as api_callbacks
from gallery.models import ApiTask, ApiToken, Image, Job, Membership, Role
from gallery.net import netguard
from tests.api.conftest import GENERATE, Api, issue
from tests.factories import finished_job, fund

pytestmark = pytest.mark.django_db


def url(job: Job) -> str:
    return f"/api/v1/tasks/task-unified-mjw-{job.pk}"


def path_of(result: str) -> str:
    return result.removeprefix("http://testserver")


# --- reading a task ---------------------------------------------------------------------------


def test_a_new_task_reads_as_pending_with_its_reservation(alice_api):
    created = alice_api.create().json()
    response = alice_api.get(f"/api/v1/tasks/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response["Cache-Control"] == "no-store"


def test_a_completed_task_lists_image_urls_that_download_without_a_token(alice_api, alice, team):
    job = finished_job(alice, team, credits=80)
    task = alice_api.get(url(job)).json()
    assert (task["status"], task["progress"], task["error"]) == ("completed", 100, None)
    assert task["usage"]["credits_charged"] == 80
    assert len(task["results"]) == 4
    anonymous = Client()
    for image, result in zip(job.images.order_by("index"), task["results"], strict=True):
        assert result.startswith("http://testserver/api/v1/files/")
        response = anonymous.get(path_of(result))
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        with default_storage.open(image.original.name) as fh:
            assert b"".join(response.streaming_content) == fh.read()
        assert response["Cache-Control"] == "private, no-cache"


def test_results_leave_out_images_that_were_lost(alice_api, alice, team):
    job = finished_job(alice, team)
    Image.objects.filter(job=job, index=1).update(status=Image.Status.LOST)
    assert len(alice_api.get(url(job)).json()["results"]) == 3


@pytest.mark.parametrize(
    ("status", "word", "progress"),
    [
        (Job.Status.QUEUED, "pending", 0),
        (Job.Status.SUBMITTING, "processing", 0),
        (Job.Status.RUNNING, "processing", 40),
        (Job.Status.INGESTING, "processing", 99),  # the images are not stored yet
    ],
)
def test_in_flight_jobs_read_in_evolinks_status_words(
    alice_api, alice, team, status, word, progress
):
    job = finished_job(alice, team, status=status, images=0)
    Job.objects.filter(pk=job.pk).update(
        progress=100 if status == Job.Status.INGESTING else progress, credits_charged=None
    )
    task = alice_api.get(url(job)).json()
    assert (task["status"], task["progress"], task["results"]) == (word, progress, [])
    assert task["usage"]["credits_charged"] is None


@pytest.mark.parametrize(
    ("kind", "code", "expected"),
    [
        ("content_policy", "80006", "content_policy_violation"),
        ("unavailable", "deadline", "generation_timeout"),
        ("unavailable", "", "service_unavailable"),
        ("invalid_request", "", "invalid_parameters"),
        ("something_new", "", "unknown_error"),
    ],
)
def test_a_failed_task_carries_an_evolink_task_error(alice_api, alice, team, kind, code, expected):
    job = finished_job(alice, team, status=Job.Status.FAILED, images=0)
    Job.objects.filter(pk=job.pk).update(
        error_kind=kind, error_code=code, error_message="It did not work."
    )
    task = alice_api.get(url(job)).json()
    assert task["status"] == "failed"
    assert task["error"] == {"code": expected, "message": "It did not work.", "type": "task_error"}
    assert task["usage"]["credits_charged"] == 0


def test_a_cancelled_task_reads_as_failed_with_request_cancelled(alice_api, alice, team):
    job = finished_job(alice, team, status=Job.Status.CANCELLED, images=0)
    task = alice_api.get(url(job)).json()
    assert task["status"] == "failed" and task["error"]["code"] == "request_cancelled"


def test_a_job_made_in_the_web_gallery_can_be_read(alice_api, alice, team):
    job = finished_job(alice, team)
    assert not ApiTask.objects.filter(job=job).exists()
    assert alice_api.get(url(job)).status_code == 200


def test_a_teammates_job_can_be_read_but_not_their_private_one(alice_api, bob, team):
    shared = finished_job(bob, team)
    private = finished_job(bob, team, private=True)
    assert alice_api.get(url(shared)).status_code == 200
    assert alice_api.get(url(private)).status_code == 404


def test_another_teams_task_is_a_404_exactly_like_a_missing_one(alice_api, carol, other_team):
    theirs = finished_job(carol, other_team)
    foreign = alice_api.get(url(theirs))
    missing = alice_api.get(f"/api/v1/tasks/task-unified-mjw-{theirs.pk + 1000}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert foreign.json()["error"]["code"] == "task_not_found"


def test_a_token_only_reads_its_own_teams_tasks(alice, team, other_team):
    """alice is in both teams; her acme token does not see her other team's job."""
    Membership.objects.create(team=other_team, user=alice, role=Role.MEMBER)
    elsewhere = finished_job(alice, other_team)
    assert Api(issue(alice, team)).get(url(elsewhere)).status_code == 404
    assert Api(issue(alice, other_team)).get(url(elsewhere)).status_code == 200


def test_a_deleted_job_is_a_404(alice_api, alice, team):
    job = finished_job(alice, team, deleted_at=timezone.now())
    assert alice_api.get(url(job)).status_code == 404


@pytest.mark.parametrize(
    "task_id",
    [
        "42",
        "task-unified-mjw-0",
        "task-unified-mjw-abc",
        "task-unified-mjw-99999999999999999999",
        "task-unified-1757165031-mjv7",
        "%2e%2e",
        "task-unified-mjw-1/extra",
    ],
)
def test_a_malformed_task_id_is_a_404_in_the_envelope(alice_api, task_id):
    response = alice_api.get(f"/api/v1/tasks/{task_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] in ("task_not_found", "not_found")


def test_post_is_a_405(alice_api, alice, team):
    response = alice_api.post(url(finished_job(alice, team)), {})
    assert response.status_code == 405 and response["Allow"] == "GET"


def test_without_a_token_it_is_a_401(alice, team):
    assert Api(None).get(url(finished_job(alice, team))).status_code == 401


def test_revoked_and_expired_tokens_are_401s(alice_api, alice, team):
    job = finished_job(alice, team)
    token = ApiToken.objects.get()
    token.revoke()
    assert alice_api.get(url(job)).json()["error"]["message"] == "This token was revoked"
    expired = Api(issue(alice, team, name="old"))
    ApiToken.objects.filter(name="old").update(expires_at=timezone.now())
    response = expired.get(url(job))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This token has expired"


def test_a_viewer_can_read_tasks(dave_api, alice, team):
    assert dave_api.get(url(finished_job(alice, team))).status_code == 200


def test_reads_count_against_the_rate_limit(alice_api, alice, team, settings):
    settings.MJWEB_API_RATE_LIMIT = 2
    job = finished_job(alice, team)
    assert [alice_api.get(url(job)).status_code for _ in range(3)] == [200, 200, 429]


# --- result files ------------------------------------------------------------------------------


@pytest.fixture
def result(alice_api, alice, team) -> str:
    job = finished_job(alice, team)
    return path_of(alice_api.get(url(job)).json()["results"][0])


def test_a_result_url_with_a_changed_signature_is_a_404(result):
    name = result.rsplit("/", 1)[1]
    pk, token, signed_at, signature, ext = name.split(".")
    changed = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    forged = f"/api/v1/files/{pk}.{token}.{signed_at}.{changed}.{ext}"
    assert Client().get(forged).status_code == 404


def test_a_signature_does_not_open_another_image(result):
    name = result.rsplit("/", 1)[1]
    pk, rest = name.split(".", 1)
    assert Client().get(f"/api/v1/files/{int(pk) + 1}.{rest}").status_code == 404


def test_a_result_url_stops_working_when_the_job_is_deleted(result):
    Job.objects.update(deleted_at=timezone.now())
    response = Client().get(result)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_result_url_of_an_image_not_stored_is_a_404(result):
    Image.objects.update(status=Image.Status.LOST)
    assert Client().get(result).status_code == 404


def test_result_files_take_only_get(result):
    response = Client().post(result)
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_an_unknown_api_path_is_a_json_404(db):
    response = Client().get("/api/v1/images/edits")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# --- the callback -----------------------------------------------------------------------------


@pytest.fixture
def callback_job(alice_api, alice, team):
    """A job alice created through the API with a callback_url, then completed."""
    hook = "https://hooks.example.org/mjweb?secret=s3cret"
    created = alice_api.create({**GENERATE, "callback_url": hook}).json()
    job = Job.objects.get(pk=created["id"].rsplit("-", 1)[1])
    done = finished_job(alice, team)
    Image.objects.filter(job=done).update(job=job)
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.COMPLETED, progress=100, credits_charged=job.credits_reserved
    )
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def posts(monkeypatch):
    """Record callback POSTs instead of sending them; answer from `posts.replies`."""

    class Recorder(list):
        replies: list = []
        sleeps: list = []

    recorder = Recorder()

    def post(url, payload, *, timeout, https_only, allow):
        recorder.append({"url": url, "payload": payload, "https_only": https_only})
        reply = recorder.replies.pop(0) if recorder.replies else 200
        if isinstance(reply, Exception):
            raise reply
        return reply

    monkeypatch.setattr(netguard, "safe_post_json", post)
    monkeypatch.setattr(api_callbacks, "_sleep", recorder.sleeps.append)
    return recorder


def test_deliver_posts_the_task_body_once(callback_job, posts, settings, alice_api, clock):
    settings.MJWEB_PUBLIC_URL = "https://mjweb.example.org"
    api_callbacks.deliver(callback_job.pk)
    api_callbacks.deliver(callback_job.pk)  # a second call after success does nothing
    assert len(posts) == 1
    (sent,) = posts
    assert sent["url"] == "https://hooks.example.org/mjweb?secret=s3cret" and sent["https_only"]
    polled = alice_api.get(url(callback_job)).json()
    assert sent["payload"]["id"] == polled["id"] and sent["payload"]["status"] == "completed"
    # The same clock and the same token (the one that made the task): the same URLs.
    assert [r.removeprefix("https://mjweb.example.org") for r in sent["payload"]["results"]] == [
        path_of(r) for r in polled["results"]
    ]
    assert Client().get(path_of(polled["results"][0])).status_code == 200
    task = ApiTask.objects.get(job=callback_job)
    assert (task.callback_state, task.callback_attempts, task.callback_status) == (
        "delivered",
        1,
        200,
    )
    event = callback_job.events.get(kind="api callback")
    assert "hooks.example.org" in event.message and "s3cret" not in event.message


def test_deliver_retries_after_1_2_and_4_seconds_then_gives_up(callback_job, posts):
    posts.replies[:] = [500, netguard.FetchError("did not answer", retryable=True), 302, 404]
    api_callbacks.deliver(callback_job.pk)
    assert len(posts) == 4 and posts.sleeps == [1.0, 2.0, 4.0]
    task = ApiTask.objects.get(job=callback_job)
    assert (task.callback_state, task.callback_attempts, task.callback_status) == ("failed", 4, 404)
    api_callbacks.deliver(callback_job.pk)
    assert len(posts) == 4  # given up for good


def test_deliver_stops_retrying_once_a_retry_succeeds(callback_job, posts):
    posts.replies[:] = [503, 204]
    api_callbacks.deliver(callback_job.pk)
    assert len(posts) == 2 and posts.sleeps == [1.0]
    assert ApiTask.objects.get(job=callback_job).callback_state == "delivered"


def test_deliver_does_not_retry_a_refused_address(callback_job, posts):
    posts.replies[:] = [netguard.UnsafeURL("resolves to a private address (10.0.0.5)")]
    api_callbacks.deliver(callback_job.pk)
    assert len(posts) == 1 and posts.sleeps == []
    task = ApiTask.objects.get(job=callback_job)
    assert task.callback_state == "failed" and "private address" in task.callback_error


def test_deliver_refuses_plain_http_without_sending(callback_job):
    ApiTask.objects.update(callback_url="http://hooks.example.org/x")
    api_callbacks.deliver(callback_job.pk)
    task = ApiTask.objects.get(job=callback_job)
    assert task.callback_state == "failed" and "https" in task.callback_error


def test_deliver_waits_for_the_job_to_end(callback_job, posts):
    Job.objects.filter(pk=callback_job.pk).update(status=Job.Status.RUNNING)
    api_callbacks.deliver(callback_job.pk)
    assert posts == [] and ApiTask.objects.get(job=callback_job).callback_state == "pending"


def test_deliver_ignores_jobs_without_a_callback(alice_api, alice, team, posts):
    api_callbacks.deliver(finished_job(alice, team).pk)  # made on the web
    alice_api.create()
    api_callbacks.deliver(Job.objects.get(api_task__isnull=False).pk)  # API, no callback_url
    api_callbacks.deliver(10**9)
    assert posts == []


def test_deliver_takes_over_a_claim_whose_worker_died(callback_job, posts):
    stale = timezone.now() - api_callbacks.CLAIM_LEASE * 2
    ApiTask.objects.update(callback_state="sending", callback_claimed_at=stale)
    api_callbacks.deliver(callback_job.pk)
    assert len(posts) == 1
    ApiTask.objects.update(callback_state="sending", callback_claimed_at=timezone.now())
    api_callbacks.deliver(callback_job.pk)  # another worker is on it right now
    assert len(posts) == 1


def test_a_failed_job_is_delivered_with_its_error(callback_job, posts):
    Job.objects.filter(pk=callback_job.pk).update(
        status=Job.Status.FAILED, error_kind="content_policy", error_message="Blocked."
    )
    api_callbacks.deliver(callback_job.pk)
    assert posts[0]["payload"]["error"]["code"] == "content_policy_violation"


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Receiver.received.append((self.path, self.headers["Content-Type"], self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_deliver_really_posts_to_the_configured_loopback_upstream(alice, team, settings):
    """No mock: the body crosses a socket. Loopback over http is allowed only
    because it is configured as a provider (the simulator's role)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        settings.PROVIDERS = {
            **settings.PROVIDERS,
            "evolink": {"base_url": f"{base}/evolink", "api_key": "k"},
        }
        fund(alice, team)
        api = Api(issue(alice, team))
        created = api.create({**GENERATE, "callback_url": f"{base}/evolink/hook"}).json()
        Job.objects.update(status=Job.Status.FAILED, error_kind="unavailable", credits_charged=0)
        Receiver.received.clear()
        api_callbacks.deliver(int(created["id"].rsplit("-", 1)[1]))
    finally:
        server.shutdown()
        server.server_close()
    ((path, kind, raw),) = Receiver.received
    body = json.loads(raw)
    assert (path, kind) == ("/evolink/hook", "application/json")
    assert (body["id"], body["status"]) == (created["id"], "failed")
    assert body["error"]["code"] == "service_unavailable"
    assert ApiTask.objects.get().callback_state == "delivered"
