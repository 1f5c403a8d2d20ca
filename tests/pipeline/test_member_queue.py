"""Jobs past a member's in-flight cap wait in line instead of being refused
(issue 16): accepted and reserved at once, started by themselves as the
member's slots free, members taking turns, refunded at once when cancelled."""

from __future__ import annotations

import pytest

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership
from gallery.studio import pipeline
from tests.conftest import control
from tests.pipeline.conftest import run_until_final

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


@pytest.fixture
def queued(monkeypatch):
    """The submit tasks the pipeline queues, in order, instead of a worker running them."""
    sent: list[int] = []
    monkeypatch.setattr(
        "gallery.studio.pipeline.async_task", lambda name, pk, **kw: sent.append(pk)
    )
    return sent


def member(user, team, cap: int) -> Membership:
    membership = Membership.objects.get(user=user, team=team)
    account = ledger.account_for(membership)
    ledger.grant(account=account, amount=5000, by=user)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=cap)
    return membership


def create(membership: Membership, label: str) -> Job:
    request = Request(operation="mj-v7", provider="evolink", prompt=f"{label} [sim:hold]")
    return pipeline.create(membership, pipeline.Draft(request=request, prompt_raw=label))


def positions(*jobs: Job) -> list[int | None]:
    found = dict(Job.objects.with_flight_facts().values_list("pk", "queue_position"))
    return [found[job.pk] for job in jobs]


def test_jobs_past_the_cap_are_accepted_reserved_and_wait_in_line(alice, team, queued):
    alices = member(alice, team, cap=2)
    jobs = [create(alices, f"fox {n}") for n in range(1, 6)]
    assert Job.objects.filter(user=alice, status="queued").count() == 5
    assert LedgerEntry.objects.filter(kind="reserve", job__in=jobs).count() == 5
    assert queued == [jobs[0].pk, jobs[1].pk]  # only two are sent; three wait
    assert positions(*jobs) == [None, None, 1, 2, 3]
    assert jobs[2].events.filter(kind="waiting").exists()


def test_a_position_counts_only_the_same_members_waiting_jobs_made_before_it(
    alice, bob, team, queued
):
    alices, bobs = member(alice, team, cap=1), member(bob, team, cap=1)
    a1, b1, a2, b2, a3 = (
        create(alices, "a1"),
        create(bobs, "b1"),
        create(alices, "a2"),
        create(bobs, "b2"),
        create(alices, "a3"),
    )
    assert positions(a1, b1, a2, b2, a3) == [None, None, 1, 1, 2]
    pipeline.cancel(a2)  # leaving the line moves those behind up
    assert positions(a3, b2) == [1, 1]


def test_the_member_cap_holds_in_run_submit_even_when_a_submit_is_queued_twice(
    sim, alice, team, queued
):
    alices = member(alice, team, cap=1)
    first, second = create(alices, "one"), create(alices, "two")
    pipeline.run_submit(first.pk)
    pipeline.run_submit(second.pk)  # as a stray redelivery or a racing dispatcher would
    second.refresh_from_db()
    assert (second.status, second.next_poll_at) == ("queued", None)
    assert Job.objects.filter(user=alice, status="running").count() == 1


def test_a_waiting_job_starts_when_the_members_running_job_ends(
    sim, alice, team, queued, django_capture_on_commit_callbacks
):
    alices = member(alice, team, cap=1)
    first, second = create(alices, "one"), create(alices, "two")
    pipeline.run_submit(first.pk)
    assert queued == [first.pk]
    first.refresh_from_db()
    control(sim, f"/_sim/tasks/{first.upstream_id}/complete", {})
    with django_capture_on_commit_callbacks(execute=True):
        run_until_final(first)
    # The end of the first job sent the second, with no poller sweep.
    assert queued == [first.pk, second.pk]
    pipeline.run_submit(second.pk)
    second.refresh_from_db()
    assert second.status == "running"


def test_a_failed_job_frees_its_members_slot_at_once(
    sim, alice, team, queued, django_capture_on_commit_callbacks
):
    alices = member(alice, team, cap=1)
    first, second = create(alices, "one"), create(alices, "two")
    pipeline.run_submit(first.pk)
    with django_capture_on_commit_callbacks(execute=True):
        pipeline.fail(Job.objects.get(pk=first.pk), "unavailable", "x", "gone")
    assert queued == [first.pk, second.pk]


def test_a_capped_member_is_skipped_and_a_teammate_takes_the_free_slots(
    sim, settings, alice, bob, team, queued
):
    settings.MJWEB_PROVIDER_CONCURRENCY = 3
    alices, bobs = member(alice, team, cap=1), member(bob, team, cap=5)
    a1 = create(alices, "a1")
    pipeline.run_submit(a1.pk)
    a2, a3 = create(alices, "a2"), create(alices, "a3")
    settings.MJWEB_PROVIDER_CONCURRENCY = 1  # bob's jobs find the provider full and wait
    bs = [create(bobs, f"b{n}") for n in range(1, 4)]
    for job in bs:
        pipeline.run_submit(job.pk)
    settings.MJWEB_PROVIDER_CONCURRENCY = 3  # two slots free up
    queued.clear()
    assert pipeline.dispatch() == 2
    # alice's turn comes first, but she has her one job running: bob takes both.
    assert queued == [bs[0].pk, bs[1].pk]
    assert positions(a2, a3) == [1, 2]


def test_cancelling_a_waiting_job_refunds_it_once_at_once(alice, team, queued):
    alices = member(alice, team, cap=1)
    create(alices, "running")
    waiting = create(alices, "waiting")
    balance = CreditAccount.objects.get(membership=alices).balance
    assert pipeline.cancel(waiting) is True
    assert pipeline.cancel(Job.objects.get(pk=waiting.pk)) is False  # a second press: nothing
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"
    refunds = LedgerEntry.objects.filter(job=waiting, kind="refund")
    assert list(refunds.values_list("amount", flat=True)) == [waiting.credits_reserved]
    after = CreditAccount.objects.get(membership=alices).balance
    assert after == balance + waiting.credits_reserved
    pipeline.dispatch()
    pipeline.run_submit(waiting.pk)
    assert Job.objects.get(pk=waiting.pk).status == "cancelled"
    assert refunds.count() == 1


def test_a_parked_job_is_not_reaped_while_it_waits_its_turn(alice, team, queued):
    from datetime import timedelta

    from django.utils import timezone

    alices = member(alice, team, cap=1)
    create(alices, "running")
    waiting = create(alices, "waiting")
    later = timezone.now() + timedelta(hours=1)
    Job.objects.filter(pk=waiting.pk).update(deadline=timezone.now())
    pipeline.reap(now=later)
    assert Job.objects.get(pk=waiting.pk).status == "queued"


def test_a_paused_member_is_refused_not_queued(alice, team, queued):
    alices = member(alice, team, cap=0)  # "0 pauses this member" on the credits page
    with pytest.raises(pipeline.Refused, match="paused") as refused:
        create(alices, "fox")
    assert refused.value.status == 403
    assert not Job.objects.exists() and queued == []


def test_a_member_paused_while_jobs_wait_keeps_them_waiting(sim, alice, team, queued):
    alices = member(alice, team, cap=1)
    first, second = create(alices, "one"), create(alices, "two")
    CreditAccount.objects.filter(membership=alices).update(max_in_flight=0)
    assert pipeline.dispatch() == 0
    pipeline.run_submit(first.pk)  # the job sent before the pause is held back too
    assert Job.objects.filter(user=alice, status="running").count() == 0
    assert positions(first, second) == [1, 2]
