"""Feeders racing on one batch (the poller on two machines, a resume pressed
meanwhile): the cap holds, no job is made twice, the ledger matches."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections, connections

from gallery.credits import ledger
from gallery.models import Batch, CreditAccount, LedgerEntry, Membership
from gallery.studio import batches
from tests.factories import fund

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

FAST = 79
THREADS = 8


def test_racing_feeders_never_take_a_batch_past_its_cap(alice, team):
    member = Membership.objects.get(user=alice, team=team)
    fund(alice, team, 100_000)
    CreditAccount.objects.filter(membership=member).update(max_in_flight=100)
    text = "\n".join(["prompt", *(f"product shot {i}" for i in range(30))])
    checked = batches.preview(text, team)
    cap = 7 * FAST + 50  # seven fit, the eighth would pass it
    batch = Batch.objects.create(membership=member, name="Race", cap=cap)
    batch.rows.model.objects.bulk_create(
        batch.rows.model(
            batch=batch,
            number=p.row.number,
            prompt=p.request.prompt,
            provider=p.request.provider,
            speed=p.request.speed,
            credits_each=p.credits,
        )
        for p in checked.rows
    )

    def feed(_: int) -> int:
        close_old_connections()
        try:
            return batches.feed(batch.pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(feed, range(THREADS)))

    batch.refresh_from_db()
    jobs = batches.jobs_of(batch)
    assert batch.status == "capped"
    assert jobs.count() == 7 and batch.committed == 7 * FAST <= cap
    assert len(set(jobs.values_list("prompt", flat=True))) == 7  # no row made twice
    reserved = LedgerEntry.objects.filter(kind="reserve", job__in=jobs)
    assert sum(-e.amount for e in reserved) == batch.committed
    assert ledger.account_for(member).balance == 100_000 - 7 * FAST
