"""When a provider's slots are full, members take turns."""

from __future__ import annotations

import pytest

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import CreditAccount, Job, Membership
from gallery.studio import pipeline
from tests.pipeline.conftest import run_until_final

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(
        "gallery.studio.pipeline.async_task", lambda name, pk, **kw: sent.append(pk)
    )
    return sent


def member_of(user, team) -> Membership:
    membership = Membership.objects.get(user=user, team=team)
    account = ledger.account_for(membership)
    ledger.grant(account=account, amount=5000, by=user)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=10)
    return membership


def create(membership, label: str) -> Job:
    request = Request(operation="mj-v7", provider="evolink", prompt=f"{label} [sim:hold]")
    return pipeline.create(membership, pipeline.Draft(request=request, prompt_raw=label))


def test_a_batch_cannot_starve_a_teammate(
    sim, settings, alice, bob, team, queued, django_capture_on_commit_callbacks
):
    settings.MJWEB_PROVIDER_CONCURRENCY = 1
    alices, bobs = member_of(alice, team), member_of(bob, team)
    with django_capture_on_commit_callbacks(execute=True):
        jobs = [create(alices, f"alice {n}") for n in range(1, 5)]
        jobs += [create(bobs, f"bob {n}") for n in range(1, 3)]
    for job in jobs:  # the queue delivers the submits in arrival order
        pipeline.run_submit(job.pk)
    label = {j.pk: j.prompt_raw for j in jobs}
    running = Job.objects.get(status="running")
    assert label[running.pk] == "alice 1"
    assert Job.objects.filter(status="queued", next_poll_at__isnull=True).count() == 5

    order = ["alice 1"]
    for _ in range(5):
        sim_complete(sim, running)
        run_until_final(running)
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert pipeline.dispatch() == 1
        (pk,) = queued
        pipeline.run_submit(pk)
        running = Job.objects.get(pk=pk)
        assert running.status == "running"
        order.append(label[pk])
    assert order == ["alice 1", "bob 1", "alice 2", "bob 2", "alice 3", "alice 4"]


def test_nothing_is_dispatched_while_the_slots_are_full(sim, settings, alice, team, queued):
    settings.MJWEB_PROVIDER_CONCURRENCY = 1
    alices = member_of(alice, team)
    first, second = create(alices, "one"), create(alices, "two")
    pipeline.run_submit(first.pk)
    pipeline.run_submit(second.pk)
    assert pipeline.dispatch() == 0
    second.refresh_from_db()
    assert (second.status, second.next_poll_at) == ("queued", None)
    assert second.events.filter(kind="waiting").exists()


def sim_complete(sim, job: Job) -> None:
    from tests.conftest import control

    job.refresh_from_db()
    control(sim, f"/_sim/tasks/{job.upstream_id}/complete", {})
