"""A member's cap on jobs in flight holds under concurrent submits: the count is
taken under the lock every reservation of the team takes, in the transaction
that makes the job (issue 23, item 11). On PostgreSQL, counting before the
lock let two submits that both saw 3 of 4 both go in."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections, connections

from gallery import ledger, operations, pipeline
from gallery.models import CreditAccount, Job, LedgerEntry, Membership

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

CAP = 4
RUNNING = 3  # already in flight before the race
RACERS = 8
GRANT = 10_000


def draft() -> pipeline.Draft:
    request = operations.Request(
        operation="mj-v7", provider="evolink", prompt="a lighthouse at dusk", speed="fast"
    )
    return pipeline.Draft(request=request, prompt_raw="a lighthouse at dusk")


def test_concurrent_submits_never_pass_the_members_in_flight_cap(bob, team):
    membership = Membership.objects.get(user=bob, team=team)
    account = ledger.account_for(membership)
    ledger.grant(account=account, amount=GRANT, by=bob)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=CAP)
    for _ in range(RUNNING):
        pipeline.create(membership, draft())
    start = threading.Barrier(RACERS)

    def submit(_: int):
        close_old_connections()
        try:
            start.wait(timeout=30)
            try:
                return pipeline.create(membership, draft())
            except pipeline.Refused as refused:
                return refused
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(submit, range(RACERS)))

    made = [o for o in outcomes if isinstance(o, Job)]
    refused = [o for o in outcomes if isinstance(o, pipeline.Refused)]
    assert len(made) + len(refused) == RACERS
    assert Job.objects.filter(user=bob, status__in=Job.IN_FLIGHT).count() <= CAP
    assert len(made) == CAP - RUNNING
    for refusal in refused:
        assert refusal.status == 429
        assert refusal.message == (
            f"You already have {CAP} jobs running (the limit is {CAP}); wait for one to finish."
        )
    # A refused submit made no job and moved no credits.
    jobs = Job.objects.filter(user=bob)
    assert jobs.count() == CAP
    assert LedgerEntry.objects.filter(kind="reserve").count() == CAP
    charged = sum(jobs.values_list("credits_reserved", flat=True))
    assert CreditAccount.objects.get(pk=account.pk).balance == GRANT - charged
