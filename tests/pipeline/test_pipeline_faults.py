"""Every fault the simulator can inject ends each job in a final state, with
its credits settled or refunded exactly once and no image stored twice."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from gallery.catalog.operations import Request
from gallery.models import CreditAccount, Image, Job, Membership
from gallery.studio import pipeline
from tests.pipeline.conftest import control, run_until_final

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


def create(alice, team, prompt="a lighthouse at dusk", provider="evolink"):
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(operation="mj-v7", provider=provider, prompt=prompt, speed="fast")
    return pipeline.create(membership, pipeline.Draft(request=request, prompt_raw=prompt))


def fault(sim, name, **spec):
    control(sim, "/_sim/faults", {name: spec})


def assert_clean(funded, *, charged: int):
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
    assert CreditAccount.objects.get(pk=funded.pk).balance == 5000 - charged
    hashes = list(Image.objects.exclude(sha256="").values_list("sha256", flat=True))
    assert len(hashes) == len(set(hashes)), "an image was stored twice"


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_on_create_is_retried_and_the_job_completes(sim, funded, alice, team, status):
    fault(sim, "server_error", status=status, scope="create", count=1)
    job = run_until_final(create(alice, team))
    assert job.status == "completed", job.error_message
    assert job.submit_attempts == 2
    assert job.events.filter(kind="retry").exists()
    assert_clean(funded, charged=job.credits_charged)


def test_a_429_on_create_waits_for_retry_after(sim, funded, alice, team):
    fault(sim, "rate_limit", retry_after=7, scope="create", count=1)
    job = create(alice, team)
    before = timezone.now()
    pipeline.run_submit(job.pk)
    job.refresh_from_db()
    assert job.status == "queued"
    assert job.next_poll_at >= before + timedelta(seconds=6.5)
    job = run_until_final(job)
    assert job.status == "completed"
    assert_clean(funded, charged=job.credits_charged)


def test_a_429_while_polling_delays_the_next_read(sim, funded, alice, team):
    job = create(alice, team)
    pipeline.run_submit(job.pk)
    fault(sim, "rate_limit", retry_after=9, scope="poll", count=1)
    before = timezone.now()
    pipeline.refresh(job.pk)
    job.refresh_from_db()
    assert job.status == "running"
    assert job.next_poll_at >= before + timedelta(seconds=8.5)
    assert run_until_final(job).status == "completed"


def test_5xx_while_polling_only_delays_the_job(sim, funded, alice, team):
    job = create(alice, team)
    pipeline.run_submit(job.pk)
    fault(sim, "server_error", status=502, scope="poll", count=3)
    job = run_until_final(job)
    assert job.status == "completed"
    assert job.events.filter(kind="read failed").count() >= 1
    assert_clean(funded, charged=job.credits_charged)


@pytest.mark.parametrize("marker", ["[sim:drop]", "[sim:slow=5]"])
def test_an_ambiguous_create_is_never_resent_and_is_refunded(
    sim, funded, alice, team, marker, settings
):
    settings.PROVIDERS["evolink"] = {**settings.PROVIDERS["evolink"], "read_timeout": 1.0}
    job = run_until_final(create(alice, team, prompt=f"a cat {marker}"), timeout=30)
    assert job.status == "failed"
    assert job.error_kind == "ambiguous"

    def creates_sent() -> int:
        log = control(sim, "/_sim/requests?dialect=evolink&endpoint=create&limit=100")
        return sum(marker in (r.get("body") or {}).get("prompt", "") for r in log["requests"])

    # The simulator logs a held request when its reply is finally written.
    deadline = time.monotonic() + 10
    while creates_sent() == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert creates_sent() == 1, "an ambiguous create was sent again"
    assert_clean(funded, charged=0)


@pytest.mark.parametrize(
    ("code", "kind"),
    [("generation_failed", "unavailable"), ("content_policy_violation", "content_policy")],
)
def test_a_failed_task_is_refunded_with_the_reason(sim, funded, alice, team, code, kind):
    job = run_until_final(create(alice, team, prompt=f"a cat [sim:fail={code}]"))
    assert job.status == "failed"
    assert job.error_kind == kind
    assert job.error_message
    assert_clean(funded, charged=0)


def test_partial_moderation_stores_what_came_and_charges_in_full(sim, funded, alice, team):
    fault(sim, "moderation", images=3)
    job = run_until_final(create(alice, team))
    assert job.status == "completed"
    assert job.images.filter(status="stored").count() == 3
    assert_clean(funded, charged=job.credits_reserved)


def test_an_image_url_that_died_is_marked_lost_and_the_rest_stored(sim, funded, alice, team):
    job = create(alice, team)
    pipeline.run_submit(job.pk)
    job.refresh_from_db()
    fault(sim, "server_error", status=500, scope="files", count=0)
    control(sim, "/_sim/faults", {"server_error": None})
    # Expire the task's URLs upstream before we download them.
    deadline = timezone.now() + timedelta(seconds=10)
    while job.status == "running" and timezone.now() < deadline:
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
        pipeline.refresh(job.pk)
        job.refresh_from_db()
    assert job.status == "ingesting"
    control(sim, f"/_sim/tasks/{job.upstream_id}/expire", {})
    pipeline.ingest(job.pk)
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.images.filter(status="lost").count() == 4
    assert job.events.filter(kind="image lost").count() == 4
    assert_clean(funded, charged=job.credits_reserved)


def test_duplicate_and_out_of_order_callbacks_change_nothing(
    sim, funded, alice, team, client, settings
):
    job = run_until_final(create(alice, team))
    token = "not-the-token"
    url = f"/callbacks/evolink/{job.pk}/{token}"
    assert client.post(url, {}, content_type="application/json").status_code == 404
    fresh = job.new_callback_token()
    Job.objects.filter(pk=job.pk).update(callback_token_hash=job.callback_token_hash)
    good = f"/callbacks/evolink/{job.pk}/{fresh}"
    for body in ({"status": "completed"}, {"status": "processing"}, {"status": "failed"}):
        # The job is final: its callback URL is gone and nothing is written.
        assert client.post(good, body, content_type="application/json").status_code == 410
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.events.filter(kind="callback").count() == 0
    assert_clean(funded, charged=job.credits_charged)


def test_a_stuck_submit_is_failed_and_refunded_by_the_sweep(sim, funded, alice, team):
    job = create(alice, team)
    assert job.claim_for_submit(timezone.now() - timedelta(seconds=1))  # a worker died here
    pipeline.sweep()
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "interrupted")
    assert_clean(funded, charged=0)


def test_a_job_past_its_deadline_gets_a_last_read_then_an_end(sim, funded, alice, team):
    job = create(alice, team, prompt="a cat [sim:hold]")
    pipeline.run_submit(job.pk)
    Job.objects.filter(pk=job.pk).update(deadline=timezone.now() - timedelta(seconds=1))
    assert pipeline.reap() == 1
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "deadline")
    assert_clean(funded, charged=0)


def test_a_lost_submit_task_is_queued_again_by_the_sweep(
    sim, funded, alice, team, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: queued.append(a))
    job = create(alice, team)
    Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.sweep()
    assert ("gallery.tasks.submit_job", job.pk) in queued


def test_an_unreachable_image_is_retried_with_backoff_not_lost(sim, funded, alice, team):
    job = create(alice, team)
    pipeline.run_submit(job.pk)
    job.refresh_from_db()
    fault(sim, "server_error", status=503, scope="files")
    while job.status == "running":
        Job.objects.filter(pk=job.pk).update(next_poll_at=None)
        pipeline.refresh(job.pk)
        job.refresh_from_db()
    pipeline.ingest(job.pk)
    job.refresh_from_db()
    assert job.status == "ingesting"
    assert job.images.filter(status="pending").count() == 4
    first_wait = job.next_poll_at - timezone.now()
    assert timedelta(seconds=2) < first_wait <= timedelta(seconds=4)  # soon: most 5xx pass
    pipeline.ingest(job.pk)
    job.refresh_from_db()
    assert job.next_poll_at - timezone.now() > first_wait + timedelta(seconds=2)  # backing off
    Job.objects.filter(pk=job.pk).update(deadline=timezone.now() - timedelta(hours=1))
    pipeline.reap()  # past the job's deadline, but its links still live: keep trying
    job.refresh_from_db()
    assert job.status == "ingesting"
    control(sim, "/_sim/faults", {"server_error": None})
    pipeline.ingest(job.pk)
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.images.filter(status="stored").count() == 4
    assert_clean(funded, charged=job.credits_reserved)
