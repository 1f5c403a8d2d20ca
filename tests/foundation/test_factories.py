"""The shared test factories make what they say: the other tests rely on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage

from gallery.models import Job, LedgerEntry
from tests.factories import (
    account_of,
    finished_job,
    fund,
    in_flight_job,
    many_jobs,
    reserved_job,
    spent_job,
)

pytestmark = pytest.mark.django_db


def test_a_finished_job_has_stored_files_of_its_own_and_was_charged(alice, team):
    first, second = finished_job(alice, team), finished_job(alice, team, images=2, credits=80)
    assert (first.status, first.progress, first.credits_charged) == ("completed", 100, 79)
    assert second.credits_charged == 80 and second.images.count() == 2
    images = [*first.images.all(), *second.images.all()]
    assert all(default_storage.exists(i.original.name) for i in images)
    assert all(default_storage.exists(i.thumbnail.name) for i in images)
    assert len({i.sha256 for i in images}) == 6  # no two share a file
    assert first.upstream_id != second.upstream_id


def test_a_failed_job_has_no_images_and_was_charged_nothing(alice, team):
    job = finished_job(alice, team, status=Job.Status.FAILED, images=0)
    assert (job.credits_charged, job.progress, job.images.count()) == (0, 0, 0)


def test_an_in_flight_job_is_running_and_not_charged(alice, team):
    job = in_flight_job(alice, team)
    assert (job.status, job.credits_charged, job.images.count()) == ("running", None, 0)


def test_a_reserved_job_holds_its_credits_through_the_ledger(alice, team):
    fund(alice, team, 1000)
    job = reserved_job(alice, team, credits=120)
    assert account_of(alice, team).balance == 880
    assert list(LedgerEntry.objects.filter(job=job).values_list("kind", "amount")) == [
        ("reserve", -120)
    ]


@pytest.mark.parametrize(
    ("outcome", "kinds", "balance"),
    [("settle", ["reserve", "settle"], 960), ("refund", ["reserve", "refund"], 1000)],
)
def test_a_spent_job_settles_or_is_refunded_once(alice, team, outcome, kinds, balance):
    fund(alice, team, 1000)
    job = spent_job(alice, team, credits=40, outcome=outcome)
    assert list(job.entries.order_by("pk").values_list("kind", flat=True)) == kinds
    assert account_of(alice, team).balance == balance


def test_many_jobs_from_a_start_are_a_minute_apart_and_numbered(alice, team):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    jobs = many_jobs(team, [alice], 3, start=start, first=5, images=False, prompt="job {n}")
    assert [j.created - start for j in jobs] == [timedelta(minutes=m) for m in (5, 6, 7)]
    assert [j.prompt for j in jobs] == ["job 5", "job 6", "job 7"]
    assert not any(j.images.exists() for j in jobs)
