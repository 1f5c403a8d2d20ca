"""Every job transition the pipeline makes is a Job method (or a JobQuerySet
method for a claim by id), each a compare-and-set on the state it leaves: a
caller that lost the race changes nothing and is told so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gallery.models import Image, Job
from tests.factories import finished_job

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
LATER = NOW + timedelta(seconds=30)


def job_in(alice, team, status: str, next_poll_at=NOW) -> Job:
    job = finished_job(alice, team, images=0)
    Job.objects.filter(pk=job.pk).update(status=status, next_poll_at=next_poll_at)
    job.refresh_from_db()
    return job


def test_a_failed_submit_goes_back_in_line_only_from_submitting(alice, team):
    sending = job_in(alice, team, Job.Status.SUBMITTING)
    assert sending.requeue(LATER)
    sending.refresh_from_db()
    assert (sending.status, sending.next_poll_at) == (Job.Status.QUEUED, LATER)
    running = job_in(alice, team, Job.Status.RUNNING)
    assert not running.requeue(LATER)
    running.refresh_from_db()
    assert (running.status, running.next_poll_at) == (Job.Status.RUNNING, NOW)


def test_parking_takes_a_queued_jobs_recheck_time_and_nothing_else(alice, team):
    queued = job_in(alice, team, Job.Status.QUEUED)
    assert queued.park()
    assert Job.objects.waiting().filter(pk=queued.pk).exists()
    running = job_in(alice, team, Job.Status.RUNNING)
    assert not running.park()
    running.refresh_from_db()
    assert running.next_poll_at == NOW


def test_a_read_or_an_ingest_is_rescheduled_only_in_its_own_state(alice, team):
    running = job_in(alice, team, Job.Status.RUNNING)
    assert running.poll_again_at(LATER)
    assert not running.retry_ingest_at(NOW)  # not ingesting: no change
    running.refresh_from_db()
    assert running.next_poll_at == LATER
    ingesting = job_in(alice, team, Job.Status.INGESTING)
    assert ingesting.retry_ingest_at(LATER)
    assert not ingesting.poll_again_at(NOW)
    ingesting.refresh_from_db()
    assert ingesting.next_poll_at == LATER


def test_progress_is_recorded_on_a_running_job_only(alice, team):
    running = job_in(alice, team, Job.Status.RUNNING)
    assert running.record_progress(140, {"status": "running"}, LATER)
    running.refresh_from_db()
    assert (running.progress, running.snapshot, running.next_poll_at) == (
        99,  # never 100 before the images are in
        {"status": "running"},
        LATER,
    )
    done = job_in(alice, team, Job.Status.COMPLETED)
    assert not done.record_progress(50, {"status": "running"}, LATER)
    done.refresh_from_db()
    assert done.progress == 100


def test_each_read_is_counted(alice, team):
    running = job_in(alice, team, Job.Status.RUNNING)
    running.count_poll()
    running.count_poll()
    running.refresh_from_db()
    assert running.poll_count == 2


def test_a_callback_token_is_stored_as_its_digest_only(alice, team):
    job = job_in(alice, team, Job.Status.QUEUED)
    token = job.new_callback_token()
    stored = Job.objects.values_list("callback_token_hash", flat=True).get(pk=job.pk)
    assert stored and stored != token
    assert stored == job.callback_token_hash


def test_a_claim_by_id_wins_once_for_the_time_it_saw(alice, team):
    running = job_in(alice, team, Job.Status.RUNNING)
    assert Job.objects.claim(running.pk, Job.Status.RUNNING, NOW, LATER)
    assert not Job.objects.claim(running.pk, Job.Status.RUNNING, NOW, LATER)  # seen time moved
    assert not Job.objects.claim(running.pk, Job.Status.QUEUED, LATER, NOW)  # other state


def test_sending_a_waiting_job_claims_it_once(alice, team):
    waiting = job_in(alice, team, Job.Status.QUEUED, next_poll_at=None)
    deadline = NOW + timedelta(minutes=25)
    assert Job.objects.send_waiting(waiting.pk, LATER, deadline)
    assert not Job.objects.send_waiting(waiting.pk, LATER, deadline)
    waiting.refresh_from_db()
    assert (waiting.next_poll_at, waiting.deadline) == (LATER, deadline)


def _pending_image(alice, team):
    job = job_in(alice, team, Job.Status.INGESTING)
    return Image.objects.create(job=job, index=0, upstream_url="https://x.org/a.png")


def test_a_pending_image_is_stored_or_lost_once(alice, team):
    image = _pending_image(alice, team)
    assert image.mark_stored(
        original="o.png", thumbnail="t.webp", width=2, height=3, bytes=9, sha256="ab"
    )
    assert not image.mark_lost()  # stored already: a late failure changes nothing
    image.refresh_from_db()
    assert (image.status, image.original.name, image.width) == (Image.Status.STORED, "o.png", 2)
    other = _pending_image(alice, finished_job(alice, team, images=0).team)
    assert other.mark_lost()
    assert not other.mark_stored(
        original="o.png", thumbnail="t.webp", width=2, height=3, bytes=9, sha256="ab"
    )
    other.refresh_from_db()
    assert (other.status, other.original.name) == (Image.Status.LOST, "")


def test_each_fetch_of_pending_images_is_counted(alice, team):
    image = _pending_image(alice, team)
    Image.count_fetch_attempts([image])
    Image.count_fetch_attempts([image])
    image.refresh_from_db()
    assert image.fetch_attempts == 2
