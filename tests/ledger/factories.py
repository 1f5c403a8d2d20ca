from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from gallery import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership


def account_of(user, team) -> CreditAccount:
    return ledger.account_for(Membership.objects.get(user=user, team=team))


def make_job(user, team, cost: int, **fields) -> Job:
    return Job.objects.create(
        team=team, user=user, provider="evolink", operation="mj-v7", credits_reserved=cost, **fields
    )


class Clock:
    """A controlled clock to patch over `django.utils.timezone.now`: a test sets
    the time, so what happens "at 23:59 on the 31st" never depends on the day
    the suite runs."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> datetime:
        self.at = at
        return at


def at(zone: str, year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A wall-clock time in the named zone."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def pinned(entry: LedgerEntry, when: datetime) -> LedgerEntry:
    """The entry, dated exactly `when`: what the clock said when it was written.

    The ledger reads the clock itself; pinning the date as well keeps a scene
    exact even for code that does not (so a test also fails for the right
    reason against such code)."""
    LedgerEntry.objects.filter(pk=entry.pk).update(created=when)
    return entry


def reserve_at(when: datetime, clock: Clock, user, team, account, cost: int) -> Job:
    clock.set(when)
    job = make_job(user, team, cost, created=when)
    pinned(ledger.reserve(job=job, account=account), when)
    return job


def refund_at(when: datetime, clock: Clock, job: Job, account) -> None:
    clock.set(when)
    pinned(ledger.refund(job=job, account=account), when)


def settle_at(when: datetime, clock: Clock, job: Job, account) -> None:
    clock.set(when)
    pinned(ledger.settle(job=job, account=account), when)
