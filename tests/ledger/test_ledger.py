from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from gallery.credits import ledger
from gallery.models import CreditAccount, LedgerEntry
from tests.factories import account_of, make_job

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


@pytest.fixture
def account(alice, team):
    acct = account_of(alice, team)
    ledger.grant(account=acct, amount=1000, by=alice, reason="welcome")
    return acct


def balance(account: CreditAccount) -> int:
    return CreditAccount.objects.get(pk=account.pk).balance


def ledger_is_clean() -> bool:
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())
    return True


def test_a_grant_adds_credits_and_records_who_and_why(account, alice):
    entry = account.entries.get()
    assert (entry.kind, entry.amount, entry.balance_after) == ("grant", 1000, 1000)
    assert (entry.created_by, entry.reason) == (alice, "welcome")
    assert balance(account) == 1000


@pytest.mark.parametrize("amount", [0, -5, 2.5])
def test_a_grant_must_be_a_positive_whole_number(account, alice, amount):
    with pytest.raises(ledger.LedgerError, match="positive whole number"):
        ledger.grant(account=account, amount=amount, by=alice)
    assert balance(account) == 1000


def test_reserve_takes_the_price_before_anything_is_sent(account, alice, team):
    job = make_job(alice, team, credits=175)
    entry = ledger.reserve(job=job, account=account)
    assert (entry.kind, entry.amount, entry.balance_after, entry.job) == ("reserve", -175, 825, job)
    assert balance(account) == 825
    assert ledger.reserved_total(account) == 175


def test_reserving_twice_for_one_job_applies_once(account, alice, team):
    job = make_job(alice, team, credits=100)
    first = ledger.reserve(job=job, account=account)
    second = ledger.reserve(job=job, account=account)
    assert first.pk == second.pk
    assert balance(account) == 900


def test_insufficient_credits_are_refused_with_the_numbers(account, alice, team):
    job = make_job(alice, team, credits=1001)
    with pytest.raises(ledger.InsufficientCredits, match="costs 1001 credits and you have 1000"):
        ledger.reserve(job=job, account=account)
    assert balance(account) == 1000
    assert not job.entries.exists()


def test_a_refund_gives_the_reservation_back_once(account, alice, team):
    job = make_job(alice, team, credits=300)
    ledger.reserve(job=job, account=account)
    first = ledger.refund(job=job, account=account)
    second = ledger.refund(job=job, account=account)
    assert first.pk == second.pk
    assert job.entries.filter(kind="refund").count() == 1
    assert balance(account) == 1000


def test_a_refund_after_a_settle_is_refused(account, alice, team):
    job = make_job(alice, team, credits=300, status="completed", credits_charged=300)
    ledger.reserve(job=job, account=account)
    ledger.settle(job=job, account=account)
    with pytest.raises(ledger.AlreadySettled, match="already settled"):
        ledger.refund(job=job, account=account)
    assert balance(account) == 700
    assert ledger_is_clean()


def test_a_settle_after_a_refund_is_refused(account, alice, team):
    job = make_job(alice, team, credits=300)
    ledger.reserve(job=job, account=account)
    ledger.refund(job=job, account=account)
    with pytest.raises(ledger.AlreadySettled, match="already refunded"):
        ledger.settle(job=job, account=account)
    assert balance(account) == 1000


def test_settling_charges_exactly_the_reservation(account, alice, team):
    job = make_job(alice, team, credits=300)
    ledger.reserve(job=job, account=account)
    entry = ledger.settle(job=job, account=account)
    assert (entry.kind, entry.amount, entry.balance_after) == ("settle", 0, 700)
    assert entry.reason == "mj-v7 · settled at 300"


def test_an_adjustment_needs_a_reason_and_cannot_go_below_zero(account, alice):
    with pytest.raises(ledger.LedgerError, match="needs a reason"):
        ledger.adjust(account=account, amount=-10, by=alice, reason=" ")
    with pytest.raises(ledger.InsufficientCredits):
        ledger.adjust(account=account, amount=-1001, by=alice, reason="typo")
    entry = ledger.adjust(account=account, amount=-1000, by=alice, reason="typo")
    assert (entry.kind, entry.balance_after) == ("adjust", 0)


def test_the_member_limit_allows_the_edge_and_refuses_one_more(account, alice, team):
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=300)
    ledger.reserve(job=make_job(alice, team, credits=200), account=account)
    ledger.reserve(job=make_job(alice, team, credits=100), account=account)  # exactly at the limit
    with pytest.raises(ledger.LimitExceeded) as refused:
        ledger.reserve(job=make_job(alice, team, credits=1), account=account)
    assert str(refused.value) == (
        "This costs 1 credits, but your monthly limit of 300 credits has 0 left this month."
    )
    assert balance(account) == 700


def test_a_refund_frees_room_under_the_limit(account, alice, team):
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=300)
    job = make_job(alice, team, credits=300)
    ledger.reserve(job=job, account=account)
    ledger.refund(job=job, account=account)
    ledger.reserve(job=make_job(alice, team, credits=300), account=account)


def test_the_team_limit_counts_every_member(account, alice, bob, team):
    team.monthly_limit = 500
    team.save()
    bobs = account_of(bob, team)
    ledger.grant(account=bobs, amount=1000, by=alice)
    ledger.reserve(job=make_job(alice, team, credits=400), account=account)
    with pytest.raises(
        ledger.LimitExceeded, match="the team's monthly limit of 500 credits has 100"
    ):
        ledger.reserve(job=make_job(bob, team, credits=101), account=bobs)
    ledger.reserve(job=make_job(bob, team, credits=100), account=bobs)


def test_spend_counts_reservations_less_returns(account, alice, team):
    a, b = make_job(alice, team, credits=100), make_job(alice, team, credits=200)
    for job in (a, b):
        ledger.reserve(job=job, account=account)
    ledger.settle(job=a, account=account)
    ledger.refund(job=b, account=account)
    assert ledger.spent_this_month(account) == 100
    assert ledger.team_spent_this_month(team) == 100


def test_the_database_refuses_a_second_reserve_and_a_negative_balance(account, alice, team):
    job = make_job(alice, team, credits=10)
    ledger.reserve(job=job, account=account)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            account=account, kind="reserve", amount=-10, balance_after=0, job=job, key="other"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditAccount.objects.filter(pk=account.pk).update(balance=-1)


def test_check_ledger_names_a_tampered_balance(account):
    CreditAccount.objects.filter(pk=account.pk).update(balance=999)
    err = StringIO()
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    assert f"account {account.pk}" in err.getvalue()
    assert "balance 999 != sum of entries 1000" in err.getvalue()


def test_check_ledger_names_a_final_job_without_settlement(account, alice, team):
    job = make_job(alice, team, credits=10, status="failed")
    ledger.reserve(job=job, account=account)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    assert f"job {job.pk} is failed but has no settle or refund" in err.getvalue()
