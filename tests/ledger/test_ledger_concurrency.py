"""Many threads reserving, settling and refunding against the same accounts,
then retrying every settlement at once: the ledger must stay exact."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import close_old_connections, connections, transaction

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership
from tests.factories import make_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

USERS = 20
JOBS = 1000
GRANT = 500


def in_thread(fn):
    def run(*args):
        close_old_connections()
        try:
            return fn(*args)
        finally:
            connections.close_all()

    return run


def test_a_thousand_concurrent_jobs_keep_the_ledger_exact(team):
    admin = User.objects.create_user("root")
    users, accounts = [], {}
    for n in range(USERS):
        user = User.objects.create_user(f"member{n}")
        membership = Membership.objects.create(team=team, user=user, role="member")
        accounts[user.pk] = ledger.account_for(membership)
        ledger.grant(account=accounts[user.pk], amount=GRANT, by=admin)
        users.append(user)

    @in_thread
    def run_job(seed: int):
        rng = random.Random(seed)
        user = rng.choice(users)
        cost = rng.randint(1, 60)
        account = accounts[user.pk]
        try:
            with transaction.atomic():
                job = make_job(user, team, credits=cost)
                ledger.reserve(job=job, account=account)
        except ledger.InsufficientCredits:
            return None
        if rng.random() < 0.5:
            Job.objects.filter(pk=job.pk).update(status="completed", credits_charged=cost)
            ledger.settle(job=job, account=account)
            return (job.pk, "settle", cost)
        Job.objects.filter(pk=job.pk).update(status="failed", credits_charged=0)
        ledger.refund(job=job, account=account)
        return (job.pk, "refund", 0)

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = [o for o in pool.map(run_job, range(JOBS)) if o is not None]
    assert len(outcomes) > 100, "too few jobs got credits to prove anything"

    @in_thread
    def retry(outcome):
        job = Job.objects.get(pk=outcome[0])
        account = accounts[job.user_id]
        if outcome[1] == "settle":
            ledger.settle(job=job, account=account)
            try:
                ledger.refund(job=job, account=account)
            except ledger.AlreadySettled:
                return "refused"
            return "refunded a settled job"
        ledger.refund(job=job, account=account)
        try:
            ledger.settle(job=job, account=account)
        except ledger.AlreadySettled:
            return "refused"
        return "settled a refunded job"

    # Every settlement retried twice, concurrently, plus the opposite settlement.
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(retry, outcomes + outcomes))
    assert set(results) == {"refused"}

    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
    balances = list(CreditAccount.objects.values_list("balance", flat=True))
    assert min(balances) >= 0
    charged = sum(actual for _, kind, actual in outcomes if kind == "settle")
    assert sum(balances) == USERS * GRANT - charged
    assert LedgerEntry.objects.filter(kind="reserve").count() == len(outcomes)
    assert LedgerEntry.objects.filter(kind__in=["settle", "refund"]).count() == len(outcomes)
