"""Credits and spending for the credit pages' tests, made through the ledger."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from gallery import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """These tests sign in with force_login: a slow password hash only costs time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def account_of(user, team) -> CreditAccount:
    return ledger.account_for(Membership.objects.get(user=user, team=team))


def fund(user, team, amount: int, by=None) -> CreditAccount:
    account = account_of(user, team)
    ledger.grant(account=account, amount=amount, by=by or user, reason="Starting credits")
    return account


def spend(
    user,
    team,
    cost: int,
    *,
    operation: str = "mj-v7",
    provider: str = "evolink",
    outcome: str = "settle",
    when: datetime | None = None,
) -> Job:
    """A job that reserved `cost`, then settled (or was refunded, or still runs).

    `when` back-dates the job and its entries, to put spending in another month.
    """
    job = Job.objects.create(
        team=team,
        user=user,
        provider=provider,
        operation=operation,
        credits_reserved=cost,
    )
    account = account_of(user, team)
    ledger.reserve(job=job, account=account)
    if outcome == "settle":
        ledger.settle(job=job, account=account)
    elif outcome == "refund":
        ledger.refund(job=job, account=account)
    if when is not None:
        Job.objects.filter(pk=job.pk).update(created=when)
        LedgerEntry.objects.filter(job=job).update(created=when)
        job.refresh_from_db()
    return job


def local(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


@pytest.fixture
def funded(alice, bob, dave, team):
    """alice and bob with 10,000 credits each (granted by alice); dave with none."""
    return {
        "alice": fund(alice, team, 10_000, by=alice),
        "bob": fund(bob, team, 10_000, by=alice),
    }
