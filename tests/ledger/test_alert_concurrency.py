"""Many workers checking alerts at once for jobs that all crossed the same
thresholds: each threshold alerts exactly once (the unique alert row decides)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail

from gallery.credits import alerts, ledger
from gallery.models import Budget, BudgetAlert, Notice
from tests.factories import account_of, fund, make_job
from tests.ledger.test_ledger_concurrency import in_thread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]


def test_concurrent_alert_checks_send_each_threshold_once(alice, bob, team):
    fund(bob, team)
    Budget.objects.create(team=team, limit=100)
    jobs = []
    for _ in range(10):
        job = make_job(bob, team, credits=10)
        ledger.reserve(job=job, account=account_of(bob, team))
        jobs.append(job.pk)

    @in_thread
    def check(job_id: int) -> list[int]:
        return [a.threshold for a in alerts.check_job(job_id)]

    with ThreadPoolExecutor(max_workers=10) as pool:
        sent = [t for found in pool.map(check, jobs * 3) for t in found]
    assert sorted(sent) == [80, 100]
    assert sorted(BudgetAlert.objects.values_list("threshold", flat=True)) == [80, 100]
    assert Notice.objects.count() == 4  # alice (admin) and bob, per threshold
    assert len(mail.outbox) == 2
