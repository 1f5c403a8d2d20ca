"""A member's cap on jobs sent upstream holds exactly under concurrent submits
and concurrent dispatchers (issue 23, item 11; issue 16). Jobs past the cap
are accepted and wait; the slot is claimed under the team's lock in the
transaction that moves the job to submitting, so two workers that both see
3 of 4 running cannot both send theirs."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from gallery.catalog import operations
from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership
from gallery.studio import pipeline
from tests.ledger.test_ledger_concurrency import in_thread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

CAP = 4
SUBMITTERS = 12
WORKERS = 6
GRANT = 10_000


def draft() -> pipeline.Draft:
    prompt = "a lighthouse at dusk [sim:hold]"
    request = operations.Request(operation="mj-v7", provider="evolink", prompt=prompt, speed="fast")
    return pipeline.Draft(request=request, prompt_raw=prompt)


def test_concurrent_submits_and_workers_never_send_more_than_the_members_cap(
    sim, bob, team, monkeypatch
):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)
    membership = Membership.objects.get(user=bob, team=team)
    account = ledger.account_for(membership)
    ledger.grant(account=account, amount=GRANT, by=bob)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=CAP)
    start = threading.Barrier(SUBMITTERS)

    @in_thread
    def submit(_: int) -> Job | pipeline.Refused:
        start.wait(timeout=30)
        try:
            return pipeline.create(membership, draft())
        except pipeline.Refused as refused:
            return refused

    with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
        outcomes = list(pool.map(submit, range(SUBMITTERS)))
    assert all(isinstance(o, Job) for o in outcomes), outcomes  # all accepted, none refused
    ids = [job.pk for job in outcomes]

    # Every worker tries to send every job at once, as redelivered tasks, the
    # poller's dispatch and a job's end could all do.
    race = threading.Barrier(WORKERS)

    @in_thread
    def work(seed: int) -> None:
        race.wait(timeout=30)
        for pk in random.Random(seed).sample(ids, len(ids)):
            pipeline.run_submit(pk)
            if seed % 2:
                pipeline.dispatch()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(work, range(WORKERS)))

    jobs = Job.objects.filter(user=bob)
    assert jobs.filter(status="running").count() == CAP  # held upstream: never ends
    assert jobs.filter(status="queued").count() == SUBMITTERS - CAP
    assert LedgerEntry.objects.filter(kind="reserve").count() == SUBMITTERS
    charged = sum(jobs.values_list("credits_reserved", flat=True))
    assert CreditAccount.objects.get(pk=account.pk).balance == GRANT - charged
