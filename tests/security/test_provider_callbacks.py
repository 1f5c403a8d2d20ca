"""A provider's callback URL is accepted once per job state change and not at
all once the job is final, so replaying it cannot grow the event log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from gallery.models import Job
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(alice, team) -> tuple[Job, str]:
    """A running job and the secret of its callback URL."""
    job = finished_job(alice, team, status=Job.Status.RUNNING, images=0)
    token = job.new_callback_token()
    job.save(update_fields=["callback_token_hash"])
    return job, f"/callbacks/evolink/{job.pk}/{token}"


def post(url: str, body: dict | None = None):
    return Client().post(url, body or {"status": "completed"}, content_type="application/json")


def callback_events(job: Job) -> list[dict]:
    return list(job.events.filter(kind="callback").values_list("data", flat=True))


def test_replaying_a_callback_50_times_writes_one_event_for_the_status(running):
    job, url = running
    assert [post(url).status_code for _ in range(50)] == [204] * 50
    assert callback_events(job) == [{"status": "running"}]


def test_a_replay_schedules_no_extra_read(running):
    job, url = running
    post(url)
    job.refresh_from_db()
    assert job.next_poll_at is not None  # the first callback moved the next read to now
    later = timezone.now() + timedelta(seconds=30)
    Job.objects.filter(pk=job.pk).update(next_poll_at=later)  # the poller read it since
    assert post(url).status_code == 204
    job.refresh_from_db()
    assert job.next_poll_at == later


def test_a_callback_is_accepted_again_after_the_status_changes(running):
    job, url = running
    post(url)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.INGESTING)
    for _ in range(5):
        assert post(url).status_code == 204
    assert callback_events(job) == [{"status": "running"}, {"status": "ingesting"}]


@pytest.mark.parametrize("status", [Job.Status.COMPLETED, Job.Status.FAILED, Job.Status.CANCELLED])
def test_a_callback_for_a_final_job_is_a_410_and_writes_nothing(running, status):
    job, url = running
    post(url)
    Job.objects.filter(pk=job.pk).update(status=status)
    events = job.events.count()
    assert [post(url).status_code for _ in range(10)] == [410] * 10
    assert job.events.count() == events


def test_a_wrong_token_is_still_a_404_whatever_the_jobs_state(running):
    job, url = running
    wrong = url.rsplit("/", 1)[0] + "/not-the-token"
    assert post(wrong).status_code == 404
    Job.objects.filter(pk=job.pk).update(status=Job.Status.COMPLETED)
    assert post(wrong).status_code == 404  # a stranger learns nothing about the job's state
    assert not job.events.exists()
