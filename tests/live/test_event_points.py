"""Issue 18: every change a page shows writes one event into the team's change
feed, in the transaction that makes it: the right kind, job and member, and
none when the change does not happen or rolls back."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from gallery.credits import ledger
from gallery.models import Image, Job, LiveEvent, Membership, Star
from gallery.providers import Snapshot, Status
from gallery.studio import pipeline
from tests.factories import (
    CREDITS,
    account_of,
    finished_job,
    fund,
    make_job,
    membership,
    png,
    reserved_job,
)
from tests.pipeline.test_create_batch import draft

# Transactional: each change runs as in production, outside any test transaction,
# so an emit() that lacks its own transaction would fail here.
pytestmark = pytest.mark.django_db(transaction=True)

LOG = LiveEvent.Kind.LOG


class Feed:
    """The events a team's feed got since the last look."""

    def __init__(self, team) -> None:
        self.team = team
        self.seen = self._newest()

    def _newest(self) -> int:
        numbers = LiveEvent.objects.filter(team=self.team).values_list("seq", flat=True)
        return max(numbers, default=0)

    def new(self, *, logs: bool = False) -> list[tuple]:
        rows = LiveEvent.objects.filter(team=self.team, seq__gt=self.seen).order_by("seq")
        self.seen = self._newest()
        return [(e.kind, e.job_id, e.user_id, e.payload) for e in rows if logs or e.kind != LOG]


def job_in(user, team, status: str, **fields) -> Job:
    """A job put in `status` by hand (a raw update, which writes no event)."""
    job = make_job(user, team, **fields)
    Job.objects.filter(pk=job.pk).update(status=status)
    job.refresh_from_db()
    return job


def status(job: Job, value: str) -> tuple:
    return ("status", job.pk, None, {"status": value})


# --- job status moves ---------------------------------------------------------------


def test_every_status_move_writes_one_status_event(alice, team):
    feed = Feed(team)
    queued = job_in(alice, team, Job.Status.QUEUED)
    assert queued.claim_for_submit(timezone.now())
    assert queued.requeue(timezone.now())
    assert queued.claim_for_submit(timezone.now())
    assert queued.mark_running("task-1", {"status": "running"}, timezone.now())
    assert queued.mark_ingesting({"status": "completed"}, timezone.now())
    assert queued.mark_completed(credits_charged=CREDITS)
    failing = job_in(alice, team, Job.Status.RUNNING)
    assert failing.mark_failed("unavailable", "x", "gone")
    cancelled = job_in(alice, team, Job.Status.QUEUED)
    assert cancelled.cancel()
    assert feed.new() == [
        status(queued, "submitting"),
        status(queued, "queued"),
        status(queued, "submitting"),
        status(queued, "running"),
        status(queued, "ingesting"),
        status(queued, "completed"),
        status(failing, "failed"),
        status(cancelled, "cancelled"),
    ]


def test_a_move_that_lost_its_race_writes_nothing(alice, team):
    done = job_in(alice, team, Job.Status.COMPLETED)
    feed = Feed(team)
    assert not done.mark_running("task-1", {}, timezone.now())
    assert not done.mark_failed("unavailable", "x", "late")
    assert not done.record_progress(50, {}, timezone.now())
    assert not done.park()
    assert feed.new(logs=True) == []


def test_progress_and_waiting_in_line_are_told_and_a_new_read_time_is_not(alice, team):
    running = job_in(alice, team, Job.Status.RUNNING, submitted_at=timezone.now())
    queued = job_in(alice, team, Job.Status.QUEUED)
    feed = Feed(team)
    assert running.poll_again_at(timezone.now())
    assert feed.new() == []
    assert running.record_progress(40, {"estimated_seconds": None}, timezone.now())
    assert queued.park()
    assert feed.new() == [
        ("progress", running.pk, None, {"p": 40, "left": None}),
        ("queue", queued.pk, None, {"waiting": True}),
    ]


def test_a_job_log_line_is_a_log_event_even_outside_a_transaction(alice, team):
    job = make_job(alice, team)
    feed = Feed(team)
    job.log("retry", "try again")
    assert feed.new(logs=True) == [("log", job.pk, None, {"kind": "retry"})]


# --- the pipeline ------------------------------------------------------------------------


def test_a_create_tells_the_new_job_and_the_members_balance(alice, team):
    fund(alice, team, 1000)
    feed = Feed(team)
    job = pipeline.create(membership(alice, team), draft("a red bird"))
    assert feed.new() == [
        ("balance", None, alice.pk, {"balance": 1000 - job.credits_reserved}),
        ("created", job.pk, None, {"waiting": False}),
    ]


def test_a_refused_create_or_batch_leaves_no_event(alice, team):
    fund(alice, team, 100)  # one job's worth, not two
    feed = Feed(team)
    with pytest.raises(pipeline.Refused):
        pipeline.create_batch(membership(alice, team), draft("a {red, blue} bird"))
    assert Job.objects.count() == 0
    assert feed.new(logs=True) == []
    Membership.objects.filter(user=alice).update(role="viewer")
    with pytest.raises(pipeline.Refused):
        pipeline.create(membership(alice, team), draft("a bird"))
    assert feed.new(logs=True) == []


def test_a_batch_tells_each_of_its_jobs(alice, team):
    fund(alice, team, 1000)
    feed = Feed(team)
    jobs = pipeline.create_batch(membership(alice, team), draft("a {red, blue} bird"))
    assert [e[:2] for e in feed.new() if e[0] == "created"] == [("created", j.pk) for j in jobs]


def test_dispatch_tells_the_job_that_leaves_the_line(alice, team):
    waiting = job_in(alice, team, Job.Status.QUEUED)  # queued, no recheck time: in line
    feed = Feed(team)
    assert pipeline.dispatch() == 1
    assert feed.new() == [("queue", waiting.pk, None, {"waiting": False})]


def test_a_progress_read_is_told_with_its_value(alice, team):
    job = job_in(alice, team, Job.Status.RUNNING, upstream_id="t-1")
    feed = Feed(team)
    pipeline.apply_snapshot(job, Snapshot("t-1", Status.RUNNING, progress=40))
    assert feed.new() == [("progress", job.pk, None, {"p": 40, "left": None})]


def test_stored_images_are_told_before_the_job_completes(alice, team, monkeypatch):
    fund(alice, team, 1000)
    job = reserved_job(alice, team)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.INGESTING)
    for index in range(2):
        Image.objects.create(job=job, index=index, upstream_url=f"https://cdn.example.com/{index}")
    monkeypatch.setattr(pipeline.images, "download", lambda url, **kw: png())
    feed = Feed(team)
    pipeline.ingest(job.pk)
    # The settle moves no credit (it was reserved): no balance event.
    assert feed.new() == [
        ("images", job.pk, None, {"images": [0, 1]}),
        status(job, "completed"),
    ]


def test_a_failed_or_cancelled_job_tells_its_end_and_the_refund(alice, team):
    fund(alice, team, 1000)
    running = reserved_job(alice, team)
    Job.objects.filter(pk=running.pk).update(status=Job.Status.RUNNING)
    queued = reserved_job(alice, team)
    feed = Feed(team)
    # The queued one first: once the running one ends, dispatch would send it.
    assert pipeline.cancel(queued)
    pipeline.fail(running, "unavailable", "x", "gone")
    assert feed.new() == [
        status(queued, "cancelled"),
        ("balance", None, alice.pk, {"balance": 1000 - CREDITS}),
        status(running, "failed"),
        ("balance", None, alice.pk, {"balance": 1000}),
    ]
    pipeline.fail(running, "unavailable", "x", "again")  # already failed: nothing
    assert feed.new(logs=True) == []


# --- organising ------------------------------------------------------------------------------


def test_delete_and_restore_tell_exactly_the_jobs_they_moved(alice, team):
    one, two = finished_job(alice, team, images=0), finished_job(alice, team, images=0)
    feed = Feed(team)
    assert Job.objects.with_ids([one.pk, two.pk]).soft_delete() == 2
    assert Job.objects.with_ids([one.pk, two.pk]).soft_delete() == 0
    assert one.restore()
    assert feed.new() == [
        ("deleted", one.pk, None, {}),
        ("deleted", two.pk, None, {}),
        ("restored", one.pk, None, {}),
    ]


def test_private_and_shared_again_are_told(alice, team):
    job = finished_job(alice, team, images=0)
    feed = Feed(team)
    job.make_private()
    job.share_with_team()
    assert feed.new() == [("hidden", job.pk, None, {}), ("shown", job.pk, None, {})]


def test_a_star_is_told_to_its_member_only(bob, bob_client, alice, team):
    job = finished_job(alice, team, images=0)
    other = finished_job(alice, team, images=0)
    feed = Feed(team)
    assert bob_client.post(f"/t/acme/jobs/{job.pk}/star/").status_code == 302
    assert bob_client.post(f"/t/acme/jobs/{job.pk}/star/").status_code == 302
    assert bob_client.post("/t/acme/jobs/bulk/star/", {"ids": [job.pk, other.pk]}).status_code < 400
    assert bob_client.post("/t/acme/jobs/bulk/star/", {"ids": [job.pk]}).status_code < 400
    assert feed.new() == [
        ("starred", job.pk, bob.pk, {"starred": True}),
        ("starred", job.pk, bob.pk, {"starred": False}),
        ("starred", job.pk, bob.pk, {"starred": True}),
        ("starred", other.pk, bob.pk, {"starred": True}),
    ]
    assert Star.objects.filter(user=bob).count() == 2


# --- credits, members, sign-out -------------------------------------------------------------


def test_a_grant_tells_the_members_balance_and_a_zero_move_does_not(alice, bob, team):
    feed = Feed(team)
    fund(bob, team, 300, by=alice)
    job = reserved_job(bob, team)
    feed.new()
    ledger.settle(job=job, account=account_of(bob, team))
    assert feed.new() == []
    ledger.grant(account=account_of(bob, team), amount=5, by=alice)
    assert feed.new() == [("balance", None, bob.pk, {"balance": 300 - CREDITS + 5})]


def test_a_refused_reservation_tells_no_balance(alice, team):
    job = make_job(alice, team)
    feed = Feed(team)
    with pytest.raises(ledger.InsufficientCredits):
        ledger.reserve(job=job, account=account_of(alice, team))
    assert feed.new() == []


@pytest.mark.parametrize("moved_credits", [False, True])
def test_a_removed_member_is_told_to_close_their_pages(alice, bob, team, moved_credits):
    if moved_credits:
        fund(bob, team, 10, by=alice)  # keeps the row, marked removed
    feed = Feed(team)
    membership(bob, team).remove(by=alice)
    assert feed.new() == [("member-removed", None, bob.pk, {})]


def test_signing_out_ends_that_sessions_streams_in_each_of_its_teams(
    bob, bob_client, team, other_team
):
    Membership.objects.create(team=other_team, user=bob, role="member")
    key = bob_client.session.session_key
    feeds = Feed(team), Feed(other_team)
    assert bob_client.post("/accounts/logout/").status_code in (200, 302)
    sid = hashlib.sha256(key.encode()).hexdigest()
    for feed in feeds:
        assert feed.new() == [("session-ended", None, bob.pk, {"sid_hash": sid})]


def test_a_change_rolled_back_with_its_transaction_leaves_no_event(alice, team):
    job = finished_job(alice, team, images=0)
    feed = Feed(team)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        job.make_private()
        Job.objects.with_ids([job.pk]).soft_delete()
        job.log("note")
        1 / 0  # noqa: B018
    assert feed.new(logs=True) == []


def test_an_event_is_dated_by_the_clock_its_change_ran_under(alice, team, monkeypatch):
    """Retention counts from `created`: a controlled clock must date it."""
    when = timezone.now() - timedelta(days=3)
    job = make_job(alice, team)
    monkeypatch.setattr(timezone, "now", lambda: when)
    job.log("note")
    assert LiveEvent.objects.get(kind="log").created == when
