"""Monthly spend counts a job in the month it was reserved, in the team's time
zone: a refund or settlement written after midnight corrects the month the job
was reserved in, never the next one (issue 23, item 5)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gallery.credits import ledger
from gallery.models import CreditAccount, month_start
from tests.factories import Clock, account_of, at, make_job, refund_at, reserve_at, settle_at

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(at("UTC", 2026, 1, 15))
    monkeypatch.setattr(timezone, "now", clock)
    return clock


@pytest.fixture
def account(alice, team) -> CreditAccount:
    acct = account_of(alice, team)
    ledger.grant(account=acct, amount=1000, by=alice, reason="welcome")
    return acct


def test_a_job_reserved_last_month_and_refunded_this_month_is_not_negative_spend(
    clock, account, alice, team
):
    """The issue's numbers: limit 209, real spend 159 this month, 50 left (not 90)."""
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=209)
    late = reserve_at(at("UTC", 2026, 1, 31, 23, 59), clock, alice, team, account, 40)
    refund_at(at("UTC", 2026, 2, 1, 0, 1), clock, late, account)
    this_month = reserve_at(at("UTC", 2026, 2, 1, 10), clock, alice, team, account, 159)
    settle_at(at("UTC", 2026, 2, 1, 10, 5), clock, this_month, account)

    clock.set(at("UTC", 2026, 2, 1, 12))
    assert ledger.spent_this_month(account) == 159
    assert ledger.team_spent_this_month(team) == 159
    with pytest.raises(ledger.LimitExceeded, match="has 50 left this month"):
        ledger.reserve(job=make_job(alice, team, credits=51, created=clock.at), account=account)
    ledger.reserve(job=make_job(alice, team, credits=50, created=clock.at), account=account)

    clock.set(at("UTC", 2026, 1, 31, 23, 59))
    assert ledger.spent_this_month(account) == 0  # January: reserved 40, all returned


def test_a_reserve_just_before_midnight_that_settles_after_it_counts_once_in_its_month(
    clock, account, alice, team
):
    job = reserve_at(at("UTC", 2026, 1, 31, 23, 59), clock, alice, team, account, 100)
    settle_at(at("UTC", 2026, 2, 1, 0, 1), clock, job, account)

    clock.set(at("UTC", 2026, 1, 31, 23, 59))
    assert ledger.spent_this_month(account) == 100
    clock.set(at("UTC", 2026, 2, 1, 0, 2))
    assert ledger.spent_this_month(account) == 0
    assert ledger.team_spent_this_month(team) == 0


def test_auckland_starts_its_month_before_utc_does(clock, account, alice, team):
    team.time_zone = "Pacific/Auckland"  # UTC+13 in summer
    team.save()
    # 23:30 on 31 January in Auckland is 10:30 UTC the same day.
    reserve_at(at("Pacific/Auckland", 2026, 1, 31, 23, 30), clock, alice, team, account, 70)
    # 00:30 on 1 February in Auckland; in UTC it is still 31 January.
    clock.set(at("Pacific/Auckland", 2026, 2, 1, 0, 30))
    assert ledger.spent_this_month(account) == 0
    assert ledger.team_spent_this_month(team) == 0
    assert month_start(zone="Pacific/Auckland") == at("Pacific/Auckland", 2026, 2, 1, 0, 0)
    team.monthly_limit = 100
    team.save()
    ledger.reserve(job=make_job(alice, team, credits=100, created=clock.at), account=account)


def test_los_angeles_ends_its_month_after_utc_does(clock, account, alice, team):
    team.time_zone = "America/Los_Angeles"  # UTC-8 in winter
    team.monthly_limit = 300
    team.save()
    # Both on 31 January in Los Angeles; the second is already 1 February in UTC.
    reserve_at(at("America/Los_Angeles", 2026, 1, 31, 12), clock, alice, team, account, 100)
    reserve_at(at("America/Los_Angeles", 2026, 1, 31, 21), clock, alice, team, account, 150)
    clock.set(at("America/Los_Angeles", 2026, 1, 31, 23))
    assert ledger.team_spent_this_month(team) == 250
    with pytest.raises(ledger.LimitExceeded, match="has 50 left this month"):
        ledger.reserve(job=make_job(alice, team, credits=51, created=clock.at), account=account)
    clock.set(at("America/Los_Angeles", 2026, 2, 1, 0, 1))  # February in Los Angeles too
    assert ledger.team_spent_this_month(team) == 0


def test_grants_and_adjustments_are_not_spend(clock, account, alice, team):
    ledger.adjust(account=account, amount=-300, by=alice, reason="correction")
    ledger.grant(account=account, amount=50, by=alice)
    assert ledger.spent_this_month(account) == 0


def test_every_entry_is_dated_by_the_clock(clock, account, alice, team):
    when = clock.set(at("UTC", 2026, 3, 31, 23, 59))
    job = make_job(alice, team, credits=10, created=when)
    assert ledger.reserve(job=job, account=account).created == when
    later = clock.set(at("UTC", 2026, 4, 1, 0, 1))
    assert ledger.refund(job=job, account=account).created == later


def test_month_start_is_midnight_on_the_first_in_the_given_zone():
    now = at("UTC", 2026, 3, 1, 3)  # 22:00 on 28 February in New York
    assert month_start(now, zone="America/New_York") == at("America/New_York", 2026, 2, 1, 0)
    assert month_start(now, zone="UTC") == at("UTC", 2026, 3, 1, 0)
