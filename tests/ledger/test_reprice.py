"""A job moved to another provider before any took it: its reservation becomes
that provider's price, once, and the ledger stays exact through its end."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry
from tests.factories import fund, reserved_job

pytestmark = pytest.mark.django_db


def move(job: Job, account, credits: int, provider: str = "reapi"):
    """What pipeline._move does, in the same order: reprice, then the job's new figure."""
    entry = ledger.reprice(job=job, account=account, credits=credits, provider=provider)
    Job.objects.filter(pk=job.pk).update(provider=provider, credits_reserved=credits)
    job.refresh_from_db()
    return entry


def balance(account) -> int:
    return CreditAccount.objects.get(pk=account.pk).balance


def clean() -> None:
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


def test_a_dearer_provider_reserves_the_difference_and_settles_at_its_price(alice, team):
    account = fund(alice, team, 1000)
    job = reserved_job(alice, team, account=account, credits=79)
    entry = move(job, account, 88)
    assert (entry.kind, entry.amount) == ("reprice", -9)
    assert balance(account) == 1000 - 88
    Job.objects.filter(pk=job.pk).update(status="completed", credits_charged=88)
    ledger.settle(job=job, account=account)
    assert balance(account) == 1000 - 88
    clean()


def test_a_cheaper_provider_gives_the_difference_back_and_a_refund_returns_the_rest(alice, team):
    account = fund(alice, team, 1000)
    job = reserved_job(alice, team, account=account, credits=88)
    assert move(job, account, 79).amount == 9
    Job.objects.filter(pk=job.pk).update(status="failed", credits_charged=0)
    assert ledger.refund(job=job, account=account).amount == 79
    assert balance(account) == 1000
    clean()


def test_the_same_move_twice_moves_credits_once(alice, team):
    account = fund(alice, team, 1000)
    job = reserved_job(alice, team, account=account, credits=79)
    first = ledger.reprice(job=job, account=account, credits=88, provider="reapi")
    again = ledger.reprice(job=job, account=account, credits=88, provider="reapi")
    assert first.pk == again.pk
    assert LedgerEntry.objects.filter(job=job, kind="reprice").count() == 1
    assert balance(account) == 1000 - 88


def test_the_same_price_writes_nothing(alice, team):
    account = fund(alice, team, 1000)
    job = reserved_job(alice, team, account=account, credits=88)
    assert ledger.reprice(job=job, account=account, credits=88, provider="vtrix") is None
    assert not LedgerEntry.objects.filter(job=job, kind="reprice").exists()


def test_a_difference_the_balance_cannot_cover_is_refused(alice, team):
    account = fund(alice, team, 80)
    job = reserved_job(alice, team, account=account, credits=79)
    with pytest.raises(ledger.InsufficientCredits):
        ledger.reprice(job=job, account=account, credits=88, provider="reapi")
    assert balance(account) == 1


def test_a_difference_past_the_monthly_limit_is_refused(alice, team):
    account = fund(alice, team, 1000)
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=80)
    job = reserved_job(alice, team, account=account, credits=79)
    with pytest.raises(ledger.LimitExceeded):
        ledger.reprice(job=job, account=account, credits=88, provider="reapi")
    assert balance(account) == 1000 - 79
