"""Cards of jobs in flight say where they stand (issue 16): a job waiting past
its member's cap reads "Queued · 2nd in line", a running one shows the time
left by the provider's estimate, both read in the queries the page already
makes. (Their live updates are tests/live's.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gallery.models import Job
from tests.factories import many_jobs

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]  # JSON and window SQL differ

NOW = timezone.now().replace(microsecond=0)


def waiting(team, user, n: int) -> list[Job]:
    """n jobs of `user` parked in line (queued, no recheck time), oldest first."""
    return many_jobs(team, [user], n, status="queued", progress=0, credits_charged=None)


def label(html: str, job: Job) -> str:
    card = html.split(f'id="job-{job.pk}"', 1)[1]
    return re.search(r'<span class="status-label">([^<]*)</span>', card).group(1)


def test_waiting_cards_read_their_place_in_their_members_line(alice_client, alice, bob, team):
    first, second, third = waiting(team, alice, 3)
    (bobs,) = waiting(team, bob, 1)
    html = alice_client.get("/t/acme/").content.decode()
    assert label(html, first) == "Queued · next in line"
    assert label(html, second) == "Queued · 2nd in line"
    assert label(html, third) == "Queued · 3rd in line"
    assert label(html, bobs) == "Queued · next in line"  # a line per member


def test_a_job_being_sent_is_queued_without_a_place(alice_client, alice, team):
    (job,) = waiting(team, alice, 1)
    Job.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    assert label(alice_client.get("/t/acme/").content.decode(), job) == "Queued"


def test_a_running_card_shows_the_time_left_by_the_providers_estimate(
    alice_client, alice, team, monkeypatch
):
    (job, no_estimate) = many_jobs(team, [alice], 2, status="running", progress=30)
    Job.objects.filter(pk=job.pk).update(
        snapshot={"estimated_seconds": 60}, submitted_at=NOW - timedelta(seconds=20)
    )
    Job.objects.filter(pk=no_estimate.pk).update(submitted_at=NOW)  # as reAPI: no estimate
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    html = alice_client.get("/t/acme/").content.decode()
    assert f'<span class="time-left" id="time-left-{job.pk}">about 40 s left</span>' in html
    assert f'<span class="time-left" id="time-left-{no_estimate.pk}"></span>' in html


def test_waiting_cards_cost_no_query_of_their_own(alice_client, alice, bob, team):
    many_jobs(team, [alice, bob], 10)
    alice_client.get("/t/acme/")  # the first visit also makes alice's credit account

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get("/t/acme/").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    waiting(team, alice, 12)
    many_jobs(team, [bob], 12, status="running", progress=30, credits_charged=None)
    assert count() == few
